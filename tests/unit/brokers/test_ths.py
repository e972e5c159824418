"""The 同花顺 adapter, driven through a fake easytrader that replays recorded client output."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aigupiao.brokers.base import (
    Broker,
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
)
from aigupiao.brokers.client_orders import ClientOrderStore
from aigupiao.brokers.extras import ExtraMissing
from aigupiao.brokers.ths import ThsBroker
from aigupiao.brokers.ths.dialogs import Action
from aigupiao.core.clock import ManualClock
from aigupiao.domain.orders import Order, OrderStatus, OrderType, Side, Trade
from aigupiao.domain.symbols import parse_symbol
from aigupiao.local.executor import Executor
from aigupiao.local.journal import Journal

from ...conftest import ROOT, eventually
from ...fixtures.brokers import ths_recorded as tr
from ..local.fakes import trade_command
from .helpers import MAOTAI, PINGAN, Market, at, make_quote, request
from .live_fakes import FakeEasytrader

STAR = parse_symbol("sh688981")


def make_broker(
    data_dir: Path,
    clock: ManualClock,
    client: FakeEasytrader,
    market: Market | None = None,
    **options: Any,
) -> ThsBroker:
    settings: dict[str, Any] = {"step_timeout": 2.0, "order_timeout": 2.0, "poll_interval": 0}
    settings.update(options)
    return ThsBroker(
        "paper-1",
        data_dir=data_dir,
        clock=clock,
        quotes=market.get if market is not None else None,
        connect=lambda: client,
        **settings,
    )


@pytest.fixture
def client() -> FakeEasytrader:
    return FakeEasytrader()


@pytest.fixture
async def ths(
    tmp_path: Path, clock: ManualClock, client: FakeEasytrader, market: Market
) -> AsyncIterator[ThsBroker]:
    broker = make_broker(tmp_path, clock, client, market)
    yield broker
    await broker.close()


def order_calls(client: FakeEasytrader) -> list[tuple[Any, ...]]:
    return [c for c in client.calls if c[0] in ("buy", "sell", "market_buy", "market_sell")]


# -- no easytrader here ---------------------------------------------------------------------


def test_the_package_imports_without_easytrader_or_xtquant() -> None:
    code = (
        "import sys, aigupiao.brokers.ths, aigupiao.brokers.qmt, aigupiao.cli.brokers;"
        "bad = {'easytrader', 'pywinauto', 'xtquant'} & set(sys.modules);"
        "assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_without_easytrader_the_adapter_says_what_to_install(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ExtraMissing) as caught:
        ThsBroker("a", data_dir=tmp_path, clock=clock, client_path=Path("xiadan.exe"))
    error = caught.value
    assert isinstance(error, BrokerUnavailable)
    assert 'pip install "aigupiao[ths]"' in error.message_zh
    assert "Windows" in error.message_zh and "Windows" in error.message_en
    assert "docs/windows.md" in error.message_en
    # On Windows without the extra the reason changes, the advice stays.
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(ExtraMissing) as caught:
        ThsBroker("a", data_dir=tmp_path, clock=clock, client_path=Path("xiadan.exe"))
    assert "未安装" in caught.value.message_zh
    assert "aigupiao[ths]" in caught.value.message_en


async def test_a_ths_broker_is_a_broker(ths: ThsBroker) -> None:
    assert isinstance(ths, Broker)
    assert ths.name == "ths" and ths.account_id == "paper-1"


# -- placing ------------------------------------------------------------------------------


async def test_a_limit_buy_confirms_the_order_and_keeps_the_contract_number(
    ths: ThsBroker, client: FakeEasytrader
) -> None:
    client.dialogs = [tr.DIALOG_CONFIRM, tr.DIALOG_SUCCESS_BUY]
    result = await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="c1"))
    assert order_calls(client) == [("buy", "sh600519", 1466.8, 100)]
    assert [action for _, action in client.pressed] == [Action.CONFIRM, Action.ACKNOWLEDGE]
    order = result.order
    assert (order.id, order.broker_order_id) == ("20260302-865912566", "865912566")
    assert order.status is OrderStatus.SUBMITTED
    assert (order.client_order_id, order.price, order.quantity) == ("c1", Decimal("1466.80"), 100)
    assert order.type is OrderType.LIMIT
    assert result.trades == ()  # fills come as events
    assert await ths.find_order("c1") == order


async def test_an_untitled_confirmation_is_read_by_its_text(
    ths: ThsBroker, client: FakeEasytrader
) -> None:
    client.dialogs = [tr.DIALOG_CONFIRM_UNTITLED, tr.DIALOG_SUCCESS_UNTITLED]
    client.next_no = "6254299085"
    result = await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80"))
    assert [action for _, action in client.pressed] == [Action.CONFIRM, Action.ACKNOWLEDGE]
    assert result.order.broker_order_id == "6254299085"


@pytest.mark.parametrize(
    ("dialog", "code"),
    [
        (tr.DIALOG_NO_CASH, "cash"),
        (tr.DIALOG_CLEARING, "broker_rejected"),
    ],
)
async def test_the_clients_refusal_is_rejected_with_its_words(
    ths: ThsBroker, client: FakeEasytrader, dialog: tuple[str, str], code: str
) -> None:
    client.dialogs = [tr.DIALOG_CONFIRM, dialog]
    with pytest.raises(BrokerRejected) as caught:
        await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="c2"))
    assert caught.value.code == code
    assert caught.value.message_zh == dialog[1].strip()
    assert dialog[1].strip() in caught.value.message_en
    assert await ths.find_order("c2") is None  # the broker never got it
    assert client.entrusts == []


@pytest.mark.parametrize(
    "warning",
    [tr.DIALOG_ST, tr.DIALOG_DELISTING, tr.DIALOG_STAR, tr.DIALOG_SUITABILITY],
    ids=["st", "delisting", "star", "suitability"],
)
@pytest.mark.parametrize("after_confirm", [False, True])
async def test_a_risk_warning_is_declined_never_confirmed(
    ths: ThsBroker, client: FakeEasytrader, warning: tuple[str, str], after_confirm: bool
) -> None:
    client.dialogs = [tr.DIALOG_CONFIRM, warning] if after_confirm else [warning]
    with pytest.raises(BrokerRejected) as caught:
        await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="r1"))
    assert caught.value.code == "risk_warning"
    assert warning[1] in caught.value.message_zh and warning[1] in caught.value.message_en
    actions = [action for _, action in client.pressed]
    assert actions[-1] is Action.DECLINE
    assert actions.count(Action.CONFIRM) == (1 if after_confirm else 0)  # only 委托确认
    assert client.entrusts == []
    assert await ths.find_order("r1") is None


@pytest.mark.parametrize(
    ("dialog", "code"),
    [
        (tr.DIALOG_LIMIT, "price_limit"),
        (tr.DIALOG_TICK, "tick"),
        (tr.DIALOG_UNKNOWN_QUERY, "broker_rejected"),
    ],
)
async def test_a_query_about_the_price_or_anything_unknown_is_declined(
    ths: ThsBroker, client: FakeEasytrader, dialog: tuple[str, str], code: str
) -> None:
    client.dialogs = [dialog]
    with pytest.raises(BrokerRejected) as caught:
        await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80"))
    assert caught.value.code == code
    assert [action for _, action in client.pressed] == [Action.DECLINE]


@pytest.mark.parametrize(
    ("req", "code"),
    [
        (request(MAOTAI, Side.BUY, 150, "1466.80"), "lot"),
        (request(MAOTAI, Side.BUY, 100, "1466.805"), "tick"),
        (request(MAOTAI, Side.BUY, 100, "1700.00"), "price_limit"),
        (request(MAOTAI, Side.BUY, 100, "1466.80", account="other"), "account"),
        (request(MAOTAI, Side.SELL, 200, "1466.80"), "available"),
        (request(MAOTAI, Side.BUY, 200, "1466.80"), "cash"),
        (request(PINGAN, Side.SELL, 1550, "10.91"), None),  # the whole position, odd lot
    ],
)
async def test_bad_orders_never_reach_the_window(
    ths: ThsBroker, client: FakeEasytrader, req: Any, code: str | None
) -> None:
    client.dialogs = [tr.DIALOG_CONFIRM, tr.DIALOG_SUCCESS_SELL]
    if code is None:
        await ths.place_order(req)
        assert len(order_calls(client)) == 1
        return
    with pytest.raises(BrokerRejected) as caught:
        await ths.place_order(req)
    assert caught.value.code == code
    assert order_calls(client) == []


async def test_outside_trading_hours_nothing_is_read_or_sent(
    ths: ThsBroker, client: FakeEasytrader, clock: ManualClock
) -> None:
    clock.set(at(16, 0))
    with pytest.raises(BrokerRejected) as caught:
        await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80"))
    assert caught.value.code == "trading_hours"
    assert client.calls == []


async def test_a_market_order_picks_its_kind_from_the_menu(
    ths: ThsBroker, client: FakeEasytrader, market: Market
) -> None:
    client.dialogs = [tr.DIALOG_CONFIRM, tr.DIALOG_SUCCESS_BUY]
    result = await ths.place_order(request(MAOTAI, Side.BUY, 100))
    assert order_calls(client) == [
        ("market_buy", "600519", 0.0, 100, "最优五档即时成交剩余撤销", None)
    ]
    assert result.order.type is OrderType.MARKET and result.order.price is None
    # A STAR market order carries a protective price (the cage), from the node's quote.
    with pytest.raises(BrokerRejected) as caught:
        await ths.place_order(request(STAR, Side.BUY, 200))
    assert caught.value.code == "no_quote"
    market.set(make_quote(STAR, "50.00"))
    client.dialogs = [tr.DIALOG_CONFIRM, tr.success("865912567")]
    await ths.place_order(request(STAR, Side.BUY, 200))
    kind = "最优五档即时成交剩余撤销"
    assert order_calls(client)[-1] == ("market_buy", "688981", 0.0, 200, kind, "51.00")


async def test_no_answer_in_time_is_unknown_and_never_retried(
    tmp_path: Path, clock: ManualClock, client: FakeEasytrader, market: Market
) -> None:
    ths = make_broker(tmp_path, clock, client, market, order_timeout=0.3)
    stuck = threading.Event()
    client.hang = stuck
    try:
        with pytest.raises(BrokerTimeout):
            await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="t1"))
        # The client is still busy with it: the next order is not sent, and says so.
        with pytest.raises(BrokerUnavailable) as caught:
            await ths.place_order(request(PINGAN, Side.BUY, 100, "10.91", client_order_id="t2"))
        assert caught.value.code == "broker_busy"
    finally:
        stuck.set()
    try:
        await eventually(lambda: len(client.entrusts) == 1)
        assert len(order_calls(client)) == 1  # sent once, never again
        # The number never came back to us: found by code, side, size, price and time.
        found = await ths.find_order("t1")
        assert found is not None
        assert (found.broker_order_id, found.client_order_id) == ("865912566", "t1")
        assert await ths.find_order("t2") is None
        assert len(order_calls(client)) == 1
    finally:
        await ths.close()


async def test_an_error_before_the_click_sent_nothing_after_it_is_unknown(
    ths: ThsBroker, client: FakeEasytrader, tmp_path: Path
) -> None:
    client.fail_before_submit = RuntimeError("ElementNotFoundError: 买入[F1]")
    with pytest.raises(BrokerUnavailable) as before:
        await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="e1"))
    assert isinstance(before.value.__cause__, RuntimeError)
    assert await ths.find_order("e1") is None
    client.fail_before_submit = None
    client.fail_after_submit = RuntimeError("the window went away")
    with pytest.raises(BrokerTimeout) as after:
        await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="e2"))
    assert isinstance(after.value.__cause__, RuntimeError)
    store = ClientOrderStore(tmp_path / "ths_orders.db")
    try:
        record = store.get("e2")
        assert record is not None and record.state == "unknown"
    finally:
        store.close()


async def test_an_order_without_a_number_is_found_in_todays_orders(
    ths: ThsBroker, client: FakeEasytrader
) -> None:
    client.dialogs = [tr.DIALOG_CONFIRM]  # confirmed, then no result notice
    result = await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="n1"))
    assert result.order.broker_order_id == "865912566"
    assert await ths.find_order("n1") == result.order


async def test_an_order_never_shown_is_unknown(ths: ThsBroker, client: FakeEasytrader) -> None:
    client.dialogs = [tr.DIALOG_CONFIRM]
    client.clock_text = "09:00:00"  # the only candidate row is an hour too early
    with pytest.raises(BrokerTimeout):
        await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="n2"))
    assert await ths.find_order("n2") is None


# -- finding orders after a restart ---------------------------------------------------------


async def test_find_order_after_a_restart(
    tmp_path: Path, clock: ManualClock, client: FakeEasytrader, market: Market
) -> None:
    first = make_broker(tmp_path, clock, client, market)
    client.dialogs = [tr.DIALOG_CONFIRM, tr.DIALOG_SUCCESS_BUY]
    await first.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="k1"))
    await first.close()
    # Meanwhile the order filled; a new node process asks.
    row = client.entrusts[0]
    row.update({"备注": "已成", "成交数量": 100, "成交均价": 1466.8})
    second = make_broker(tmp_path, clock, client, market)
    try:
        order = await second.find_order("k1")
        assert order is not None
        assert order.status is OrderStatus.FILLED
        assert (order.client_order_id, order.filled_quantity) == ("k1", 100)
        assert order.average_price == Decimal("1466.8")
        assert await second.find_order("never-sent") is None
        assert [o.client_order_id for o in await second.get_orders()] == ["k1"]
    finally:
        await second.close()


async def test_an_order_cut_off_mid_click_is_matched_by_the_rule(
    tmp_path: Path, clock: ManualClock, client: FakeEasytrader, market: Market
) -> None:
    # Two identical orders were being sent a minute apart when the node died, and the
    # client shows two matching rows: each gets the row in its own time order.
    store = ClientOrderStore(tmp_path / "ths_orders.db")
    for cid, minute in (("m1", 0), ("m2", 1)):
        store.begin(
            client_order_id=cid, broker="ths", account="paper-1", placed_at=at(10, minute),
            symbol=PINGAN, side=Side.BUY, type=OrderType.LIMIT, quantity=100,
            price=Decimal("10.91"),
        )  # fmt: skip
    store.close()
    client.entrusts = [
        tr.entrust("700002", "000001", "买入", 100, 10.91, "已报", at="10:01:02", market="深圳"),
        tr.entrust("700001", "000001", "买入", 100, 10.91, "已成", at="10:00:03", market="深圳",
                   filled=100, average=10.91),
        tr.entrust("700003", "000001", "买入", 200, 10.91, "已报", at="10:00:04", market="深圳"),
    ]  # fmt: skip
    broker = make_broker(tmp_path, clock, client, market)
    try:
        second = await broker.find_order("m2")
        first = await broker.find_order("m1")
        assert first is not None and second is not None
        assert (first.broker_order_id, first.status) == ("700001", OrderStatus.FILLED)
        assert (second.broker_order_id, second.status) == ("700002", OrderStatus.SUBMITTED)
    finally:
        await broker.close()


async def test_an_earlier_day(
    tmp_path: Path, clock: ManualClock, client: FakeEasytrader, market: Market
) -> None:
    broker = make_broker(tmp_path, clock, client, market)
    client.dialogs = [tr.DIALOG_CONFIRM, tr.DIALOG_SUCCESS_BUY]
    await broker.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="y1"))
    store = ClientOrderStore(tmp_path / "ths_orders.db")
    store.begin(
        client_order_id="y2", broker="ths", account="paper-1", placed_at=at(10, 5),
        symbol=MAOTAI, side=Side.BUY, type=OrderType.LIMIT, quantity=100,
        price=Decimal("1466.80"),
    )  # fmt: skip
    store.close()
    clock.set(clock.now() + timedelta(days=1))
    client.entrusts = []  # 当日委托 is a new day's
    try:
        order = await broker.find_order("y1")
        assert order is not None and order.broker_order_id == "865912566"
        assert order.status is OrderStatus.SUBMITTED  # the last state seen
        with pytest.raises(BrokerUnavailable):
            await broker.find_order("y2")  # no number, no longer in 当日委托: ask a human
    finally:
        await broker.close()


# -- mapping ------------------------------------------------------------------------------


async def test_todays_orders_map_every_status(ths: ThsBroker, client: FakeEasytrader) -> None:
    client.entrusts = list(tr.ENTRUSTS_THS)
    orders = {o.broker_order_id: o for o in await ths.get_orders()}
    assert [o.broker_order_id for o in await ths.get_orders()] == [
        "865912566", "865967836", "865970001", "865970002", "865970003"
    ]  # fmt: skip
    filled, partial, cancelled, rejected, open_ = orders.values()
    assert (filled.status, filled.filled_quantity, filled.filled_amount) == (
        OrderStatus.FILLED,
        100,
        Decimal("146680.0"),
    )
    assert filled.symbol == MAOTAI and filled.side is Side.BUY
    assert filled.created_at == at(9, 35).replace(second=12)
    assert (partial.status, partial.filled_quantity, partial.symbol) == (
        OrderStatus.PARTIALLY_FILLED,
        200,
        PINGAN,
    )
    assert partial.price == Decimal("10.95") and partial.side is Side.SELL
    assert cancelled.status is OrderStatus.CANCELLED
    assert (rejected.status, rejected.reason) == (OrderStatus.REJECTED, "资金不足")
    assert open_.status is OrderStatus.SUBMITTED  # 未成交
    assert all(o.client_order_id is None for o in orders.values())  # not ours


async def test_easytraders_documented_order_and_fill_shapes(
    ths: ThsBroker, client: FakeEasytrader
) -> None:
    client.entrusts = list(tr.ENTRUSTS_DOCS)
    client.trades = list(tr.TRADES_DOCS)
    cancelled, done = await ths.get_orders()  # oldest first: 09:40:30, 09:50:30
    assert (done.broker_order_id, done.status, done.symbol.full) == (
        "111111",
        OrderStatus.FILLED,
        "sz162411",
    )
    assert done.id == "20170313-111111" and done.price == Decimal("0.627")
    assert (cancelled.status, cancelled.filled_quantity) == (OrderStatus.CANCELLED, 0)
    (trade,) = await ths.get_trades()
    assert (trade.quantity, trade.price, trade.amount) == (100, Decimal("0.626"), Decimal("62.6"))
    assert trade.order_id == "20170313-12345"


async def test_fills_map_with_decimal_money(ths: ThsBroker, client: FakeEasytrader) -> None:
    client.trades = [*tr.TRADES_THS, *tr.TRADES_STATEMENT]
    statement, buy, sell = await ths.get_trades()
    assert isinstance(buy, Trade)
    assert (buy.id, buy.order_id, buy.symbol) == (
        "20260302-0101000012345",
        "20260302-865912566",
        MAOTAI,
    )
    assert (buy.quantity, buy.price, buy.amount) == (100, Decimal("1466.8"), Decimal("146680.0"))
    assert buy.ts == at(9, 35).replace(second=12)
    assert (sell.side, sell.symbol, sell.quantity) == (Side.SELL, PINGAN, 200)
    # A statement row: the sell is written -200, fees are on the row, the code as ="600900".
    assert (statement.side, statement.quantity, statement.symbol.full) == (
        Side.SELL,
        200,
        "sh600900",
    )
    assert statement.ts.date().isoformat() == "2025-06-03"
    assert (statement.fees.commission, statement.fees.stamp_duty, statement.fees.transfer_fee) == (
        Decimal("5.0"),
        Decimal("2.99"),
        Decimal("0.06"),
    )
    assert statement.order_id == "20250603-272266"


async def test_balance_and_positions_map_to_an_account(
    ths: ThsBroker, client: FakeEasytrader
) -> None:
    account = await ths.get_account()
    assert account.paper is False and account.id == "paper-1"
    assert account.cash == Decimal("182342.31")
    assert account.frozen_cash == Decimal("70000.00")  # 资金余额 - 可用金额
    maotai, pingan = account.positions
    assert (maotai.symbol, maotai.total, maotai.available) == (MAOTAI, 200, 100)
    assert (maotai.cost_price, maotai.last_price) == (Decimal("1459.2"), Decimal("1466.8"))
    assert (pingan.symbol, pingan.total, pingan.cost_price) == (PINGAN, 1550, Decimal("10.965"))
    for value in (account.cash, account.frozen_cash, maotai.cost_price, account.equity):
        assert isinstance(value, Decimal)
    client.balance_value = dict(tr.BALANCE_HT)
    assert (await ths.get_account()).frozen_cash == Decimal("70000.0")  # 冻结资金 itself


async def test_other_builds_columns_and_an_exported_grid(
    ths: ThsBroker, client: FakeEasytrader
) -> None:
    client.balance_value = tr.BALANCE_DOCS
    client.positions = list(tr.POSITION_DOCS)
    account = await ths.get_account()
    assert (account.cash, account.frozen_cash) == (Decimal("28494.21"), Decimal("0"))
    (icbc,) = account.positions
    assert (icbc.symbol.full, icbc.total, icbc.available) == ("sh601398", 2200, 2200)
    assert (icbc.cost_price, icbc.last_price) == (Decimal("4.672"), Decimal("4.71"))
    client.positions = list(tr.POSITION_XLS)
    positions = {p.symbol.full: p for p in (await ths.get_account()).positions}
    # 标准券 (0 held) and the Hong Kong connect holding are left out.
    assert set(positions) == {"sh560850", "sh600900", "sz159636", "sz159992"}
    assert positions["sh600900"].cost_price == Decimal("29.9322")
    assert (positions["sz159636"].total, positions["sz159636"].available) == (3500, 3500)


class Frame:
    """A pandas DataFrame, as far as the adapter reads one."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def to_dict(self, orient: str) -> list[dict[str, Any]]:
        assert orient == "records"
        return self.rows


async def test_a_grid_returned_as_a_data_frame(ths: ThsBroker, client: FakeEasytrader) -> None:
    client.entrusts = Frame(list(tr.ENTRUSTS_THS))  # type: ignore[assignment]
    assert len(await ths.get_orders()) == len(tr.ENTRUSTS_THS)


async def test_an_unreadable_grid_is_unavailable(ths: ThsBroker, client: FakeEasytrader) -> None:
    client.entrusts = None  # type: ignore[assignment]  # easytrader's Copy returns None
    with pytest.raises(BrokerUnavailable) as caught:
        await ths.get_orders()
    assert "xls" in caught.value.message_zh


# -- cancelling ---------------------------------------------------------------------------


async def test_cancel(ths: ThsBroker, client: FakeEasytrader) -> None:
    client.dialogs = [tr.DIALOG_CONFIRM, tr.DIALOG_SUCCESS_BUY]
    placed = (await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80"))).order
    cancelled = await ths.cancel_order(placed.id)
    assert ("cancel_entrust", "865912566") in client.calls
    assert (cancelled.id, cancelled.status) == (placed.id, OrderStatus.CANCEL_PENDING)
    client.entrusts[0]["备注"] = "已撤"
    with pytest.raises(BrokerRejected) as final:
        await ths.cancel_order(placed.id)
    assert final.value.code == "order_final"
    with pytest.raises(BrokerRejected) as unknown:
        await ths.cancel_order("20260302-999")
    assert unknown.value.code == "unknown_order"


async def test_a_refused_cancel(ths: ThsBroker, client: FakeEasytrader) -> None:
    client.entrusts = [tr.entrust("1", "600519", "买入", 100, 1466.8, "已报")]
    client.cancel_result = {"message": "委托单状态错误不能撤单, 该委托单可能已经成交或者已撤"}
    with pytest.raises(BrokerRejected) as caught:
        await ths.cancel_order("20260302-1")
    assert caught.value.code == "cancel_refused"
    assert "不能撤单" in caught.value.message_zh


async def test_a_cancel_that_hit_the_wrong_row_is_an_error(
    ths: ThsBroker, client: FakeEasytrader
) -> None:
    client.entrusts = [
        tr.entrust("1", "600519", "买入", 100, 1466.8, "已报"),
        tr.entrust("2", "000001", "买入", 100, 10.91, "已报", market="深圳"),
    ]
    client.cancel_hits = "2"
    with pytest.raises(BrokerError) as caught:
        await ths.cancel_order("20260302-1")
    assert caught.value.code == "cancel_wrong_row"
    assert "2" in caught.value.message_zh


# -- events -------------------------------------------------------------------------------


async def test_polling_pushes_changes_and_new_fills(ths: ThsBroker, client: FakeEasytrader) -> None:
    events: list[tuple[str, Order | Trade]] = []
    ths.set_listener(lambda kind, item: events.append((kind, item)))
    client.entrusts = list(tr.ENTRUSTS_THS)
    client.trades = list(tr.TRADES_THS)
    await ths.poll_once()
    assert events == []  # the first poll learns what is already there
    client.dialogs = [tr.DIALOG_CONFIRM, tr.success("900001")]
    placed = (
        await ths.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="c9"))
    ).order
    await ths.poll_once()
    assert events == []  # nothing changed since the order was placed
    row = client.entrusts[-1]
    row.update({"备注": "部成", "成交数量": 40, "成交均价": 1466.8})
    client.trades.append(tr.fill("T9", "900001", "600519", "买入", 40, 1466.8, at="10:00:09"))
    client.entrusts.append(tr.entrust("900002", "600036", "卖出", 100, 39.0, "已报"))  # manual
    await ths.poll_once()
    kinds = [(kind, getattr(item, "id", None)) for kind, item in events]
    assert kinds == [
        ("order_update", placed.id),
        ("order_update", "20260302-900002"),
        ("trade", "20260302-T9"),
    ]
    update = events[0][1]
    assert isinstance(update, Order)
    assert (update.status, update.filled_quantity, update.client_order_id) == (
        OrderStatus.PARTIALLY_FILLED,
        40,
        "c9",
    )
    events.clear()
    await ths.poll_once()
    assert events == []  # nothing new


async def test_the_poll_task_runs_while_a_listener_is_set(
    tmp_path: Path, clock: ManualClock, client: FakeEasytrader
) -> None:
    broker = make_broker(tmp_path, clock, client, poll_interval=0.02)
    events: list[tuple[str, Any]] = []
    try:
        broker.set_listener(lambda kind, item: events.append((kind, item)))
        await eventually(lambda: ("today_trades",) in client.calls)  # the first poll ran
        client.entrusts.append(tr.entrust("5", "600519", "买入", 100, 1466.8, "已报"))
        await eventually(lambda: [kind for kind, _ in events] == ["order_update"])
        assert "ths/poll" in task_names()
        broker.set_listener(None)
        await eventually(lambda: "ths/poll" not in task_names())
    finally:
        await broker.close()
    with pytest.raises(BrokerUnavailable):
        await broker.get_orders()


def task_names() -> set[str]:
    return {task.get_name() for task in asyncio.all_tasks()}


# -- through the node's executor ------------------------------------------------------------


async def test_the_executor_reports_unknown_and_resolves_it_after_a_restart(
    tmp_path: Path, clock: ManualClock, client: FakeEasytrader, market: Market
) -> None:
    journal = Journal(tmp_path / "journal.db")
    first = make_broker(tmp_path, clock, client, market, order_timeout=0.3)
    stuck = threading.Event()
    client.hang = stuck
    try:
        executor = Executor(first, journal, broker_timeout=5.0)
        await executor.execute(trade_command("cmd-1", price=Decimal("10.91")))
        entry = await journal.get("cmd-1")
        assert entry is not None and entry.status == "unknown"
    finally:
        stuck.set()
    await eventually(lambda: len(client.entrusts) == 1)
    await first.close()
    second = make_broker(tmp_path, clock, client, market)
    try:
        assert await Executor(second, journal, broker_timeout=5.0).resolve_interrupted() == [
            "cmd-1"
        ]
        entry = await journal.get("cmd-1")
        assert entry is not None and entry.status == "done" and entry.result is not None
        assert entry.result["resolved_by"] == "broker_query"
        assert entry.result["order"]["client_order_id"] == "cmd-1"
        assert entry.result["order"]["broker_order_id"] == "865912566"
        assert len(order_calls(client)) == 1
    finally:
        await second.close()
        journal.close()
