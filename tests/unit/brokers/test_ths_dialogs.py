"""Pop-up rules of the 同花顺 adapter, and the guarded easytrader trader that applies them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from aigupiao.brokers.ths.client import MARKET_KIND_MENU, guard, guarded_class
from aigupiao.brokers.ths.dialogs import (
    Action,
    ClientRejected,
    RiskWarningDeclined,
    TooManyDialogs,
    decide,
    entrust_number,
    handle_dialogs,
)
from aigupiao.domain.orders import MarketKind

from ...fixtures.brokers import ths_recorded as tr

RISKS = [tr.DIALOG_ST, tr.DIALOG_DELISTING, tr.DIALOG_STAR, tr.DIALOG_SUITABILITY]


@pytest.mark.parametrize("dialog", RISKS)
def test_risk_warnings_are_declined(dialog: tuple[str, str]) -> None:
    verdict = decide(*dialog)
    assert verdict.action is Action.DECLINE
    assert verdict.risk and verdict.code == "risk_warning"
    assert verdict.failure == dialog[1]


@pytest.mark.parametrize(
    ("dialog", "entrust_no"),
    [
        (tr.DIALOG_SUCCESS_BUY, "865912566"),
        (tr.DIALOG_SUCCESS_SELL, "865967836"),
        (tr.DIALOG_SUCCESS_CANCEL, "865967836"),
        (tr.DIALOG_SUCCESS_UNTITLED, "6254299085"),
    ],
)
def test_success_notices_are_acknowledged_with_their_number(
    dialog: tuple[str, str], entrust_no: str
) -> None:
    verdict = decide(*dialog)
    assert (verdict.action, verdict.success, verdict.entrust_no) == (
        Action.ACKNOWLEDGE,
        True,
        entrust_no,
    )


def test_a_success_notice_that_mentions_a_risk_is_still_a_success() -> None:
    # The order went in: reading this as a refusal would lose it.
    verdict = decide("提示", "您的买入委托已成功提交，合同编号：865912566。该证券为风险警示证券。")
    assert verdict.success and verdict.entrust_no == "865912566"


@pytest.mark.parametrize("dialog", [tr.DIALOG_CONFIRM, tr.DIALOG_CONFIRM_UNTITLED])
def test_the_confirmation_of_our_order_is_confirmed(dialog: tuple[str, str]) -> None:
    assert decide(*dialog).action is Action.CONFIRM


def test_a_confirmation_that_carries_a_risk_is_declined() -> None:
    verdict = decide("委托确认", "买入 *ST某某，该证券为风险警示证券，是否确认？")
    assert verdict.action is Action.DECLINE and verdict.risk


@pytest.mark.parametrize(
    ("dialog", "action", "code"),
    [
        (tr.DIALOG_NO_CASH, Action.ACKNOWLEDGE, "cash"),
        (tr.DIALOG_CLEARING, Action.ACKNOWLEDGE, "broker_rejected"),
        (tr.DIALOG_LIMIT, Action.DECLINE, "price_limit"),
        (tr.DIALOG_TICK, Action.DECLINE, "tick"),
        (tr.DIALOG_UNKNOWN_QUERY, Action.DECLINE, "broker_rejected"),
        (("", ""), Action.DECLINE, "broker_rejected"),
        (("网上交易用户协议", "请阅读并同意以下协议"), Action.DECLINE, "broker_rejected"),
    ],
)
def test_everything_else_fails_and_is_never_confirmed(
    dialog: tuple[str, str], action: Action, code: str
) -> None:
    verdict = decide(*dialog)
    assert (verdict.action, verdict.code, verdict.success) == (action, code, False)
    assert verdict.failure is not None


def test_contract_numbers() -> None:
    assert entrust_number("您的买入委托已成功提交，合同编号：865912566。") == "865912566"
    assert entrust_number("合同编号: 67890") == "67890"
    assert entrust_number("买入600519成功，委托编号 A1B2C3") == "A1B2C3"
    assert entrust_number("撤单申报成功") is None
    assert entrust_number("买入 600519 成功 100 股") is None  # two numbers, none labelled


class ScriptedDialog:
    def __init__(self, title: str, text: str, log: list[Action]) -> None:
        self._title, self._text, self._log = title, text, log

    def title(self) -> str:
        return self._title

    def text(self) -> str:
        return self._text

    def press(self, action: Action) -> None:
        self._log.append(action)


def run(*dialogs: tuple[str, str]) -> tuple[dict[str, str] | Exception, list[Action]]:
    log: list[Action] = []
    steps = iter(dialogs)

    def next_dialog() -> ScriptedDialog | None:
        step = next(steps, None)
        return None if step is None else ScriptedDialog(*step, log)

    try:
        return handle_dialogs(next_dialog), log
    except Exception as exc:
        return exc, log


def test_the_dialog_loop() -> None:
    assert run(tr.DIALOG_CONFIRM, tr.DIALOG_SUCCESS_BUY) == (
        {"entrust_no": "865912566"},
        [Action.CONFIRM, Action.ACKNOWLEDGE],
    )
    assert run() == ({"message": "success"}, [])  # easytrader's "no pop-up" answer
    assert run(tr.DIALOG_CONFIRM, ("提示", "撤单申报成功")) == (
        {"message": "撤单申报成功"},
        [Action.CONFIRM, Action.ACKNOWLEDGE],
    )
    risk, log = run(tr.DIALOG_CONFIRM, tr.DIALOG_ST)
    assert isinstance(risk, RiskWarningDeclined) and risk.text == tr.DIALOG_ST[1]
    assert log == [Action.CONFIRM, Action.DECLINE]
    refused, _ = run(tr.DIALOG_NO_CASH)
    assert isinstance(refused, ClientRejected) and refused.code == "cash"
    endless, log = run(*[tr.DIALOG_CONFIRM] * 20)
    assert isinstance(endless, TooManyDialogs)
    assert len(log) == 8


def test_market_kinds_pick_one_menu_entry_each() -> None:
    import re

    # The entries of the 市价委托 menus (easytrader's market_trade docstring), as shown.
    sh = [
        "1-最优五档即时成交剩余撤销",
        "2-最优五档即时成交剩余转限价",
        "3-对手方最优价格",
        "4-本方最优价格",
    ]
    sz = ["1-对手方最优价格", "2-本方最优价格", "3-即时成交剩余撤销", "4-最优五档即时成交剩余撤销",
          "5-全额成交或撤销"]  # fmt: skip
    for kind, pattern in MARKET_KIND_MENU.items():
        menus = sh + sz if kind not in (MarketKind.IOC, MarketKind.FOK) else sz
        hits = {entry.split("-", 1)[1] for entry in menus if re.search(pattern, entry)}
        assert hits == {kind.label_zh}, (kind, hits)


# -- the guarded trader, on a stand-in for easytrader's ClientTrader ------------------------


class StubButton:
    def __init__(self, label: str, window: StubWindow) -> None:
        self.label, self._window = label, window

    def window_text(self) -> str:
        return self.label

    def click(self) -> None:
        self._window.events.append(f"click:{self.label}")
        self._window.app.stack.remove(self._window)


class StubStatic:
    def __init__(self, text: str) -> None:
        self.text = text

    def window_text(self) -> str:
        return self.text


class StubWindow:
    """A pywinauto dialog: Static texts, Buttons, type_keys, close (pywinauto's names)."""

    def __init__(
        self,
        app: StubApp,
        title: str | None,
        texts: list[str],
        buttons: list[str],
        *,
        caption: str = "",
    ) -> None:
        self.app, self.title_text, self.caption = app, title, caption
        self.statics = [StubStatic(text) for text in texts]
        self.buttons = [StubButton(label, self) for label in buttons]
        self.events: list[str] = []

    @property
    def Static(self) -> StubStatic:
        return self.statics[0]

    def descendants(self, class_name: str) -> list[Any]:
        return {"Static": self.statics, "Button": self.buttons}[class_name]

    def window_text(self) -> str:
        return self.caption

    def type_keys(self, keys: str) -> None:
        self.events.append(f"keys:{keys}")
        if keys == "%Y":
            self.app.stack.remove(self)

    def close(self) -> None:
        self.events.append("close")
        self.app.stack.remove(self)


class StubApp:
    def __init__(self) -> None:
        self.stack: list[StubWindow] = []
        self.all: list[StubWindow] = []

    def show(self, *args: Any, **kwargs: Any) -> StubWindow:
        window = StubWindow(self, *args, **kwargs)
        self.stack.append(window)
        self.all.append(window)
        return window

    def top_window(self) -> StubWindow:
        return self.stack[-1]

    def windows(self, class_name: str, visible_only: bool) -> list[StubWindow]:
        return list(self.stack)


class StubClientTrader:
    """The members of easytrader 0.23's ClientTrader the guard relies on."""

    def __init__(self) -> None:
        self._app = StubApp()
        self._config = SimpleNamespace(TITLE="网上股票交易系统5.0")
        self.clicks = 0

    @property
    def app(self) -> StubApp:
        return self._app

    def wait(self, seconds: float) -> None:
        pass

    def is_exist_pop_dialog(self) -> bool:
        return bool(self._app.stack)

    def _get_pop_dialog_title(self) -> str:
        title = self._app.top_window().title_text
        if title is None:
            raise LookupError("control 1365 not found")  # ElementNotFoundError in pywinauto
        return title

    def _submit_trade(self) -> None:
        self.clicks += 1

    def _handle_pop_dialogs(self, handler_class: Any = None) -> dict[str, str]:
        raise AssertionError("easytrader's own handling must not run")

    def trade(self, security: str, price: float, amount: int) -> dict[str, str]:
        self._submit_trade()
        return self._handle_pop_dialogs(handler_class=object)

    def _close_prompt_windows(self) -> None:
        raise AssertionError("easytrader's own prompt closing must not run")


def test_the_guard_answers_pop_ups_by_aigupiaos_rules() -> None:
    user = guard(StubClientTrader())
    assert type(user).__name__ == "GuardedStubClientTrader"
    assert user.submit_clicked is False
    confirm = user.app.show(
        "委托确认", ["您是否确认以下委托？", "证券代码：600519"], ["是(Y)", "否(N)"]
    )
    success = user.app.show("提示", [tr.DIALOG_SUCCESS_BUY[1]], ["确定"])
    user.app.stack.reverse()  # the confirmation comes first
    assert user.trade("sh600519", 1466.8, 100) == {"entrust_no": "865912566"}
    assert user.submit_clicked is True and user.clicks == 1
    assert confirm.events == ["keys:%Y"]
    assert success.events == ["click:确定"]


def test_the_guard_never_confirms_a_risk_warning() -> None:
    user = guard(StubClientTrader())
    warning = user.app.show(
        "提示信息", ["该证券为风险警示证券（*ST）", "是否继续委托？"], ["是(Y)", "否(N)"]
    )
    with pytest.raises(RiskWarningDeclined) as caught:
        user.trade("sh600001", 5.0, 100)
    assert "风险警示" in caught.value.text
    assert warning.events == ["click:否(N)"]  # 否, never 是 nor Alt+Y


def test_an_untitled_dialog_is_read_by_its_texts_and_closed_when_it_has_no_no() -> None:
    user = guard(StubClientTrader())
    notice = user.app.show(None, ["该股票处于退市整理期", "交易存在较大风险"], [], caption="")
    with pytest.raises(RiskWarningDeclined):
        user.trade("sh600002", 5.0, 100)
    assert notice.events == ["close"]


def test_the_guard_closes_only_titled_prompts_when_attaching() -> None:
    user = guard(StubClientTrader())
    login = user.app.show("", [], [], caption="")
    news = user.app.show("公告", [], [], caption="公告")
    main = user.app.show("网上股票交易系统5.0", [], [], caption="网上股票交易系统5.0")
    for window in user.app.stack:
        window.window_text = lambda w=window: w.caption  # type: ignore[method-assign]
    user._close_prompt_windows()
    assert (login.events, news.events, main.events) == ([], ["close"], [])


def test_guarding_twice_keeps_one_class() -> None:
    first = guarded_class(StubClientTrader)
    assert guarded_class(StubClientTrader) is first
    assert guarded_class(first) is first
