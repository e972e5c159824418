"""What to do with each pop-up a 同花顺-style client shows while it places or cancels an order.

easytrader's own handlers decide by the dialog's title: ``TradePopDialogHandler``
answers 是 (Alt+Y) to every 委托确认 and to 提示信息 queries such as 超出涨跌停,
and its ``PopDialogHandler`` confirms anything titled 提示信息. A risk warning
(风险警示, 退市整理, 科创板/创业板/北交所 风险揭示, 适当性不匹配) arrives as exactly
such a query, so easytrader would accept it for us. And on some client builds
the title reads as an empty string, so title rules alone misfire. aigupiao
replaces the handling (see :mod:`aigupiao.brokers.ths.client`) with
:func:`decide`, which reads the title *and* every text in the dialog and
accepts only what is known to be harmless:

1. A result saying the request succeeded (``您的买入委托已成功提交，合同编号：865912566。``)
   is acknowledged (确定) and its 合同编号 kept. It is read first, so a success
   notice that also mentions a risk is not mistaken for a refusal of an order
   that was in fact sent.
2. Any dialog that mentions a risk (:data:`RISK_WORDS`) is **declined** (否 /
   取消 / close) and the order fails with the dialog's own text.
3. A price the client questions (:data:`PRICE_WORDS`: 超出涨跌停, 小数部分应为 ...)
   is declined: the order fails, it is never sent at a price in doubt.
4. The confirmation of our own order or cancel (委托确认 / 撤单确认 by title, or
   by its text when the title is empty) is confirmed.
5. Any other 提示 is the client refusing the request: acknowledge, fail with its text.
6. Anything else is declined and the request fails with the dialog's text.
   Nothing unknown is ever confirmed.

The rules are plain functions of a dialog's title and text, so they are tested
on any system; the pywinauto side only reads the text and presses the button.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

RISK_WORDS: tuple[str, ...] = ("风险", "退市", "警示", "适当性", "揭示", "不适当")
PRICE_WORDS: tuple[str, ...] = ("涨跌停", "小数部分应为", "小数价格应为", "价格笼子", "停牌")
HARMLESS_TITLES: tuple[str, ...] = ("委托确认", "撤单确认")
HARMLESS_TEXTS: tuple[str, ...] = ("委托确认", "确认委托", "撤单确认", "确认撤单")
SUCCESS_TEXTS: tuple[str, ...] = ("已成功提交", "委托成功", "撤单成功", "申报成功", "提交成功")
FAILURE_WORDS: tuple[str, ...] = ("失败", "不足", "错误", "不允许", "禁止", "拒绝", "无效")
MAX_DIALOGS = 8  # a loop of pop-ups past this is not an order flow we understand

_NUMBERED = re.compile(
    r"(?:合同编号|委托编号|合同号|委托号|申请编号|编号)\D{0,4}?([0-9A-Za-z]{3,})"
)
_DIGITS = re.compile(r"\d{3,}")


class Action(StrEnum):
    CONFIRM = "confirm"  # 是 (Alt+Y): go ahead with the order
    DECLINE = "decline"  # 否 / 取消 / close: do not go ahead
    ACKNOWLEDGE = "acknowledge"  # 确定 on a message that asks nothing


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    success: bool = False  # a 成功 result message
    entrust_no: str | None = None
    failure: str | None = None  # the order failed with this text
    risk: bool = False  # ...because it was a risk warning we declined
    code: str = "broker_rejected"


class DialogFailure(Exception):
    """The order or cancel failed in a pop-up; ``text`` is the client's own words."""

    code = "broker_rejected"

    def __init__(self, title: str, text: str, code: str | None = None) -> None:
        super().__init__(f"{title}: {text}")
        self.title = title
        self.text = text
        if code is not None:
            self.code = code


class ClientRejected(DialogFailure):
    """The client refused the request (its 提示 says why)."""


class RiskWarningDeclined(DialogFailure):
    """A risk warning asked for confirmation; aigupiao declined it, so nothing was sent."""

    code = "risk_warning"


class TooManyDialogs(Exception):
    """Pop-ups kept coming; where the order stands is not known."""


class Dialog(Protocol):
    """A pop-up on top of the client's main window."""

    def title(self) -> str: ...

    def text(self) -> str: ...

    def press(self, action: Action) -> None: ...


def has_risk(*texts: str) -> bool:
    return any(word in text for text in texts for word in RISK_WORDS)


def entrust_number(text: str) -> str | None:
    """The contract number a success message names, if it names exactly one."""
    match = _NUMBERED.search(text)
    if match:
        return match.group(1)
    runs = _DIGITS.findall(text)
    return runs[0] if len(runs) == 1 else None


def _failure_code(text: str) -> str:
    if "涨跌停" in text or "价格笼子" in text or "有效竞价范围" in text:
        return "price_limit"
    if "停牌" in text:
        return "suspended"
    if "小数" in text or "价位" in text:
        return "tick"
    if "资金" in text and "不足" in text:
        return "cash"
    if ("股份" in text or "可用" in text or "持仓" in text) and "不足" in text:
        return "available"
    if "时间" in text or "时段" in text or "闭市" in text or "休市" in text:
        return "trading_hours"
    return "broker_rejected"


def decide(title: str, text: str) -> Verdict:
    """The one answer to a pop-up titled ``title`` saying ``text`` (rules in the module doc)."""
    title, text = title.strip(), text.strip()
    words = text or title
    failed = any(word in text for word in FAILURE_WORDS)
    result_title = "提示" in title and "提示信息" not in title
    if not failed and (
        any(marker in text for marker in SUCCESS_TEXTS) or (result_title and "成功" in text)
    ):
        return Verdict(Action.ACKNOWLEDGE, success=True, entrust_no=entrust_number(text))
    if has_risk(title, text):
        return Verdict(Action.DECLINE, failure=words, risk=True, code="risk_warning")
    if any(word in text for word in PRICE_WORDS):
        return Verdict(Action.DECLINE, failure=words, code=_failure_code(text))
    if title in HARMLESS_TITLES or (not title and any(marker in text for marker in HARMLESS_TEXTS)):
        return Verdict(Action.CONFIRM)
    if result_title:
        return Verdict(Action.ACKNOWLEDGE, failure=words, code=_failure_code(text))
    return Verdict(Action.DECLINE, failure=words, code=_failure_code(text))


def handle_dialogs(next_dialog: Callable[[], Dialog | None]) -> dict[str, str]:
    """Answer pop-ups until none is left; easytrader's result shape.

    Args:
        next_dialog: the pop-up now on top of the client, or None when there is none.

    Returns:
        ``{"entrust_no": "..."}`` when a success message names the contract number,
        ``{"message": "..."}`` for a success message without one, and
        ``{"message": "success"}`` when the pop-ups ended without any result
        (as easytrader returns then: the order may be in, its number unknown).

    Raises:
        RiskWarningDeclined: a risk warning was declined; nothing was sent.
        ClientRejected: the client refused (its text), or an unknown query was declined.
        TooManyDialogs: more than :data:`MAX_DIALOGS` pop-ups in a row.
    """
    for _ in range(MAX_DIALOGS):
        dialog = next_dialog()
        if dialog is None:
            return {"message": "success"}
        title, text = dialog.title(), dialog.text()
        verdict = decide(title, text)
        dialog.press(verdict.action)
        if verdict.success:
            return {"entrust_no": verdict.entrust_no} if verdict.entrust_no else {"message": text}
        if verdict.risk:
            raise RiskWarningDeclined(title, text or title)
        if verdict.failure is not None:
            raise ClientRejected(title, verdict.failure, verdict.code)
    raise TooManyDialogs(f"more than {MAX_DIALOGS} pop-ups in a row")
