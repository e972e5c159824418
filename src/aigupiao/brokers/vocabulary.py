"""The order-status vocabulary of Chinese broker clients, mapped onto :class:`OrderStatus` once.

Broker clients speak ten status words (easytrader's mapping for QMT, and the
备注 / 状态说明 / 委托状态 column of 同花顺-style grids)::

    未报 待报 已报 已报待撤 部成待撤 部撤 已撤 部成 已成 废单

miniQMT reports the same ten as integer codes 48..57 (``xtconstant.ORDER_*``)
plus 255 (未知, unknown). Every adapter translates through this module, so a
word means the same status everywhere:

======== ================= ==============================================
word     OrderStatus       meaning
======== ================= ==============================================
未报     NEW               the counter has it, not yet sent to the exchange
待报     NEW               queued at the counter, waiting to be sent
已报     SUBMITTED         at the exchange, nothing filled
已报待撤 CANCEL_PENDING    cancel requested, nothing filled
部成待撤 CANCEL_PENDING    cancel requested, partly filled
部撤     CANCELLED         partly filled, the rest cancelled
已撤     CANCELLED         cancelled, nothing filled
部成     PARTIALLY_FILLED  partly filled, the rest still open
已成     FILLED            completely filled
废单     REJECTED          refused by the counter or the exchange
======== ================= ==============================================

Grids of some broker builds spell the words differently (``已成交``,
``部分成交``, ``已撤单``, ``未成交`` ...); :data:`LABEL_ALIASES` folds them into
the ten. A word not listed raises :class:`UnknownStatus`: an adapter must
not guess a status it cannot read.

A broker reports an order in whatever state it has reached, which the order
state machine cannot reach in one step; :func:`restore_order` builds that
order from the one placed.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from aigupiao.domain.money import ZERO
from aigupiao.domain.orders import Order, OrderStatus, Side

_S = OrderStatus

STATUS_LABELS: dict[str, OrderStatus] = {
    "未报": _S.NEW,
    "待报": _S.NEW,
    "已报": _S.SUBMITTED,
    "已报待撤": _S.CANCEL_PENDING,
    "部成待撤": _S.CANCEL_PENDING,
    "部撤": _S.CANCELLED,
    "已撤": _S.CANCELLED,
    "部成": _S.PARTIALLY_FILLED,
    "已成": _S.FILLED,
    "废单": _S.REJECTED,
    # Not a client word: the paper broker's day order that ended unfilled (its exports).
    "已过期": _S.EXPIRED,
}

# Other spellings in 同花顺-style grids, folded into the ten words above.
LABEL_ALIASES: dict[str, str] = {
    "未申报": "未报",
    "正报": "待报",
    "待申报": "待报",
    "已申报": "已报",
    "未成交": "已报",
    "已报未成": "已报",
    "待撤": "已报待撤",
    "正撤": "已报待撤",
    "撤单中": "已报待撤",
    "已报待撤单": "已报待撤",
    "部分成交待撤": "部成待撤",
    "部分撤单": "部撤",
    "部成部撤": "部撤",
    "部分成交部分撤单": "部撤",
    "已撤单": "已撤",
    "已撤销": "已撤",
    "全部撤单": "已撤",
    "撤单成功": "已撤",
    "场内撤单": "已撤",
    "场外撤单": "已撤",
    "内部撤单": "已撤",
    "部分成交": "部成",
    "已成交": "已成",
    "全部成交": "已成",
    "全部成交完毕": "已成",
    "无效单": "废单",
    "已废": "废单",
    "拒单": "废单",
    "部成已撤": "部撤",
    "过期": "已过期",
}

# xtconstant.ORDER_UNREPORTED .. ORDER_JUNK (xtquant/xtconstant.py, "委托状态").
QMT_STATUS_CODES: dict[int, str] = {
    48: "未报",
    49: "待报",
    50: "已报",
    51: "已报待撤",
    52: "部成待撤",
    53: "部撤",
    54: "已撤",
    55: "部成",
    56: "已成",
    57: "废单",
}
QMT_ORDER_UNKNOWN = 255  # xtconstant.ORDER_UNKNOWN, 未知

_HEAD = re.compile(r"[:：(（,，;；\s]")


class UnknownStatus(ValueError):
    """A status word or code this vocabulary does not know."""


def normalize_label(text: str) -> str:
    """One of the ten status words for ``text`` (``"已成交"`` -> ``"已成"``).

    A reason after the word is ignored: ``"废单:资金不足"`` -> ``"废单"``.

    Raises:
        UnknownStatus: the text is none of the words or their aliases.
    """
    compact = str(text).strip()
    head = _HEAD.split(compact, maxsplit=1)[0]
    if head in STATUS_LABELS:
        return head
    if head in LABEL_ALIASES:
        return LABEL_ALIASES[head]
    if head.startswith("废单"):
        return "废单"
    raise UnknownStatus(f"unknown order status {text!r}")


def status_from_label(text: str) -> OrderStatus:
    """The :class:`OrderStatus` of a client's status word. Raises :class:`UnknownStatus`."""
    return STATUS_LABELS[normalize_label(text)]


def reason_of(text: str) -> str:
    """What follows the status word, e.g. the 废单 reason in ``"废单:资金不足"`` (may be empty)."""
    compact = str(text).strip()
    parts = _HEAD.split(compact, maxsplit=1)
    return parts[1].strip(" :：()（）") if len(parts) > 1 else ""


def label_from_qmt(code: int) -> str:
    """The status word of a miniQMT ``order_status`` code. Raises :class:`UnknownStatus`."""
    try:
        return QMT_STATUS_CODES[int(code)]
    except (KeyError, TypeError, ValueError):
        raise UnknownStatus(f"unknown miniQMT order_status {code!r}") from None


def status_from_qmt(code: int) -> OrderStatus:
    """The :class:`OrderStatus` of a miniQMT ``order_status`` code (255 未知 raises)."""
    return STATUS_LABELS[label_from_qmt(code)]


def side_from_text(text: str) -> Side:
    """Buy or sell from a client's 操作 / 买卖标志 text (``买入``, ``证券卖出``, ``卖``...).

    Raises:
        ValueError: the text names neither (e.g. a 撤单 row).
    """
    compact = str(text).strip()
    if compact.startswith("撤"):
        raise ValueError(f"not an order side: {text!r}")
    buy, sell = "买" in compact, "卖" in compact
    if buy and not sell:
        return Side.BUY
    if sell and not buy:
        return Side.SELL
    raise ValueError(f"not an order side: {text!r}")


def restore_order(
    placed: Order,
    status: OrderStatus,
    *,
    filled_quantity: int = 0,
    filled_amount: Decimal | None = None,
    reason: str = "",
) -> Order:
    """``placed`` (an order as sent, any status) in the state its broker reports.

    The broker's figures win over the state machine's path to them, reconciled so
    the result is consistent: a status that says filled fills the whole order, a
    partial status with nothing filled is submitted, and fills on a
    submitted order make it partially filled.

    Args:
        placed: the order with its id, symbol, side, quantity and price.
        status: the broker's status, through :func:`status_from_label` or
            :func:`status_from_qmt`.
        filled_quantity: shares filled so far.
        filled_amount: their value in CNY; None means unknown (filled at the limit price).
        reason: why rejected or cancelled, if the broker says.

    Raises:
        ValueError: the broker reports more filled than ordered, or a negative fill.
    """
    quantity = placed.quantity
    if filled_quantity < 0 or filled_quantity > quantity:
        raise ValueError(f"filled {filled_quantity} of an order for {quantity}")
    if filled_amount is None:
        filled_amount = (placed.price or ZERO) * filled_quantity
    if status is _S.FILLED and filled_quantity < quantity:
        average = filled_amount / filled_quantity if filled_quantity else (placed.price or ZERO)
        filled_quantity, filled_amount = quantity, average * quantity
    elif status in (_S.NEW, _S.SUBMITTED, _S.PARTIALLY_FILLED) and filled_quantity:
        status = _S.FILLED if filled_quantity == quantity else _S.PARTIALLY_FILLED
    elif status is _S.PARTIALLY_FILLED:
        status = _S.SUBMITTED
    if filled_quantity == 0:
        filled_amount = ZERO
    return replace(
        placed,
        status=status,
        filled_quantity=filled_quantity,
        filled_amount=filled_amount,
        reason=reason or placed.reason,
    )
