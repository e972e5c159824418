"""The miniQMT adapter, driven through a fake XtQuantTrader holding recorded xtquant objects."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aigupiao.brokers.base import Broker, BrokerRejected, BrokerTimeout, BrokerUnavailable
from aigupiao.brokers.extras import ExtraMissing
from aigupiao.brokers.qmt import QmtBroker
from aigupiao.brokers.qmt import client as xt
from aigupiao.brokers.qmt.mapping import REMARK_LIMIT, remark_for
from aigupiao.core.clock import ManualClock
from aigupiao.domain.orders import MarketKind, Order, OrderStatus, OrderType, Side, Trade
from aigupiao.domain.symbols import parse_symbol

from ...conftest import eventually
from ...fixtures.brokers import qmt_recorded as qr
from .helpers import MAOTAI, PINGAN, Market, at, request
from .live_fakes import FakeXtTrader

BSE = parse_symbol("bj920001")


def make_broker(
    data_dir: Path,
    clock: ManualClock,
    trader: FakeXtTrader,
    market: Market | None = None,
    **kw: Any,
) -> QmtBroker:
    options: dict[str, Any] = {"step_timeout": 2.0, "confirm_wait": 0.3}
    options.update(kw)
    return QmtBroker(
        "paper-1",
        data_dir=data_dir,
        clock=clock,
        quotes=market.get if market is not None else None,
        connect=trader.connect,
        **options,
    )


@pytest.fixture
def trader() -> FakeXtTrader:
    return FakeXtTrader()


@pytest.fixture
async def qmt(
    tmp_path: Path, clock: ManualClock, trader: FakeXtTrader, market: Market
) -> AsyncIterator[QmtBroker]:
    broker = make_broker(tmp_path, clock, trader, market)
    yield broker
    await broker.close()


# -- no xtquant here ----------------------------------------------------------------------


def test_without_xtquant_the_adapter_says_where_it_comes_from(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ExtraMissing) as caught:
        QmtBroker("a", data_dir=tmp_path, clock=clock, qmt_path=Path("userdata_mini"))
    error = caught.value
    assert isinstance(error, BrokerUnavailable)
    assert "Windows" in error.message_zh and "PYTHONPATH" in error.message_zh
    assert "not on PyPI" in error.message_en and "aigupiao[qmt]" in error.message_en
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(ExtraMissing) as caught:
        QmtBroker("a", data_dir=tmp_path, clock=clock, qmt_path=Path("userdata_mini"))
    assert "not installed" in caught.value.message_en


def test_the_constants_are_checked_against_xtquant() -> None:
    names = {name: getattr(xt, name) for name in xt.CHECKED_CONSTANTS}
    real = SimpleNamespace(**names, **xt.STATUS_CONSTANTS)
    xt.check_constants(real)  # the values recorded from xtquant/xtconstant.py
    assert (real.STOCK_BUY, real.STOCK_SELL, real.FIX_PRICE) == (23, 24, 11)
    assert real.ORDER_JUNK == qr.ORDER_JUNK
    renumbered = SimpleNamespace(**{**vars(real), "ORDER_SUCCEEDED": 99})
    with pytest.raises(BrokerUnavailable) as caught:
        xt.check_constants(renumbered)
    assert "ORDER_SUCCEEDED" in caught.value.message_en


async def test_a_qmt_broker_is_a_broker(qmt: QmtBroker) -> None:
    assert isinstance(qmt, Broker)
    assert qmt.name == "qmt"


# -- placing ------------------------------------------------------------------------------


async def test_a_limit_buy_carries_the_client_order_id_in_the_remark(
    qmt: QmtBroker, trader: FakeXtTrader
) -> None:
    result = await qmt.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="c1"))
    assert trader.orders_sent() == [
        ("order_stock", "600519.SH", 23, 100, 11, 1466.8, "aigupiao", "c1")
    ]
    order = result.order
    assert (order.id, order.broker_order_id, order.client_order_id) == (
        "20260302-1001",
        "1001",
        "c1",
    )
    assert (order.status, order.type, order.price) == (
        OrderStatus.SUBMITTED,
        OrderType.LIMIT,
        Decimal("1466.8"),
    )
    assert result.trades == ()
    assert await qmt.find_order("c1") == order
    assert await qmt.find_order("never-sent") is None


async def test_a_long_client_order_id_travels_as_a_digest(
    tmp_path: Path, clock: ManualClock, trader: FakeXtTrader, market: Market
) -> None:
    cid = "8f14e45fceea167a5a36dedd4bea2543"  # a command id: uuid4().hex
    first = make_broker(tmp_path / "a", clock, trader, market)
    await first.place_order(request(PINGAN, Side.BUY, 100, "10.91", client_order_id=cid))
    await first.close()
    remark = trader.orders_sent()[0][-1]
    assert remark == remark_for(cid) and len(remark) <= REMARK_LIMIT and remark != cid
    # A node that lost its data directory still finds the order by the remark.
    second = make_broker(tmp_path / "b", clock, trader, market)
    try:
        found = await second.find_order(cid)
        assert found is not None and (found.client_order_id, found.broker_order_id) == (cid, "1001")
    finally:
        await second.close()


async def test_market_orders_use_each_exchanges_kind(qmt: QmtBroker, trader: FakeXtTrader) -> None:
    await qmt.place_order(request(MAOTAI, Side.BUY, 100))
    await qmt.place_order(request(PINGAN, Side.BUY, 100))
    kinds = [(call[1], call[4], call[5]) for call in trader.orders_sent()]
    assert kinds == [("600519.SH", 42, 0.0), ("000001.SZ", 47, 0.0)]
    with pytest.raises(BrokerRejected) as caught:
        await qmt.place_order(request(BSE, Side.BUY, 100))
    assert caught.value.code == "market_kind"


@pytest.mark.parametrize(
    ("req", "code"),
    [
        (request(MAOTAI, Side.BUY, 150, "1466.80"), "lot"),
        (request(MAOTAI, Side.BUY, 100, "1466.805"), "tick"),
        (request(MAOTAI, Side.BUY, 200, "1466.80"), "cash"),
        (request(MAOTAI, Side.SELL, 200, "1466.80"), "available"),
        (request(MAOTAI, Side.BUY, 100, "1466.80", account="other"), "account"),
    ],
)
async def test_bad_orders_are_not_sent(
    qmt: QmtBroker, trader: FakeXtTrader, req: Any, code: str
) -> None:
    with pytest.raises(BrokerRejected) as caught:
        await qmt.place_order(req)
    assert caught.value.code == code
    assert trader.orders_sent() == []


async def test_minus_one_is_a_rejection_with_the_counters_message(
    qmt: QmtBroker, trader: FakeXtTrader
) -> None:
    trader.order_result = -1
    remark = "c-minus"

    def refuse(*_: Any) -> None:
        trader.push("on_order_error", qr.xt_order_error(-1, qr.ERROR_OUTSIDE_HOURS, remark=remark))

    original = trader.order_stock

    def order_stock(*args: Any) -> int:
        result = original(*args)
        refuse()
        return result

    trader.order_stock = order_stock  # type: ignore[method-assign]
    with pytest.raises(BrokerRejected) as caught:
        await qmt.place_order(request(PINGAN, Side.BUY, 100, "10.91", client_order_id=remark))
    assert caught.value.message_zh == qr.ERROR_OUTSIDE_HOURS
    assert await qmt.find_order(remark) is None


async def test_a_number_then_on_order_error_is_a_rejection(
    qmt: QmtBroker, trader: FakeXtTrader
) -> None:
    def refused(order: Any) -> None:
        order.order_status, order.status_msg = qr.ORDER_JUNK, qr.ERROR_OUTSIDE_HOURS
        trader.push("on_order_error", qr.xt_order_error(order.order_id, qr.ERROR_OUTSIDE_HOURS))

    trader.after_order = refused
    with pytest.raises(BrokerRejected) as caught:
        await qmt.place_order(request(PINGAN, Side.BUY, 100, "10.91", client_order_id="j1"))
    assert qr.ERROR_OUTSIDE_HOURS in caught.value.message_zh
    junk = await qmt.find_order("j1")
    assert junk is not None
    assert (junk.status, junk.reason) == (OrderStatus.REJECTED, qr.ERROR_OUTSIDE_HOURS)


async def test_no_answer_in_time_is_unknown_and_never_retried(
    tmp_path: Path, clock: ManualClock, trader: FakeXtTrader, market: Market
) -> None:
    qmt = make_broker(tmp_path, clock, trader, market, step_timeout=0.3)
    stuck = threading.Event()
    trader.hang = stuck
    try:
        with pytest.raises(BrokerTimeout):
            await qmt.place_order(request(PINGAN, Side.BUY, 100, "10.91", client_order_id="t1"))
    finally:
        stuck.set()
    try:
        await eventually(lambda: len(trader.orders) == 1)
        found = await qmt.find_order("t1")
        assert found is not None and found.client_order_id == "t1"
        assert len(trader.orders_sent()) == 1  # sent once
    finally:
        await qmt.close()


async def test_an_sdk_error_while_placing_is_unknown_and_reconnects(
    qmt: QmtBroker, trader: FakeXtTrader
) -> None:
    def broken(*args: Any) -> int:
        raise RuntimeError("xtquant: connection lost")

    trader.order_stock = broken  # type: ignore[method-assign]
    with pytest.raises(BrokerTimeout) as caught:
        await qmt.place_order(request(PINGAN, Side.BUY, 100, "10.91"))
    assert isinstance(caught.value.__cause__, RuntimeError)
    await qmt.get_orders()
    assert trader.connects == 2


# -- mapping ------------------------------------------------------------------------------


async def test_every_status_code_maps(qmt: QmtBroker, trader: FakeXtTrader) -> None:
    trader.orders = list(qr.ORDERS)
    orders = {o.broker_order_id: o for o in await qmt.get_orders()}
    expected = {
        "101": (OrderStatus.FILLED, 100),
        "102": (OrderStatus.PARTIALLY_FILLED, 200),
        "103": (OrderStatus.CANCELLED, 0),
        "104": (OrderStatus.REJECTED, 0),
        "105": (OrderStatus.SUBMITTED, 0),
        "106": (OrderStatus.CANCELLED, 100),
        "107": (OrderStatus.FILLED, 100),
    }
    assert {k: (o.status, o.filled_quantity) for k, o in orders.items()} == expected
    assert orders["104"].reason == "可用资金不足"
    assert orders["106"].status_zh == "部撤"
    assert orders["102"].side is Side.SELL and orders["102"].symbol == PINGAN
    assert orders["101"].filled_amount == Decimal("146680.0")
    assert orders["101"].created_at == at(9, 35).replace(second=12)
    market = orders["107"]
    assert (market.type, market.market_kind, market.price) == (
        OrderType.MARKET,
        MarketKind.BEST5_IOC,
        None,
    )
    assert market.average_price == Decimal("1466.5")


async def test_an_unknown_status_keeps_the_order_open(qmt: QmtBroker, trader: FakeXtTrader) -> None:
    trader.orders = [qr.xt_order(9, "600519.SH", 23, 100, 1466.8, qr.ORDER_UNKNOWN)]
    (order,) = await qmt.get_orders()
    assert order.status is OrderStatus.SUBMITTED


async def test_asset_and_positions_map_to_an_account(
    qmt: QmtBroker, trader: FakeXtTrader, market: Market
) -> None:
    account = await qmt.get_account()
    assert (account.cash, account.frozen_cash, account.paper) == (
        Decimal("182342.31"),
        Decimal("70000.0"),
        False,
    )
    maotai, pingan = account.positions  # the empty 511990 holding is left out
    assert (maotai.symbol, maotai.total, maotai.available) == (MAOTAI, 200, 100)
    assert maotai.cost_price == Decimal("1459.2")
    assert maotai.last_price == market.get("sh600519").last  # type: ignore[union-attr]
    assert (pingan.total, pingan.available, pingan.cost_price) == (1550, 1550, Decimal("10.965"))
    market.quotes.clear()
    maotai = (await qmt.get_account()).positions[0]
    assert maotai.last_price == Decimal("1466.800")  # market_value / volume


async def test_trades_map_with_their_commission(qmt: QmtBroker, trader: FakeXtTrader) -> None:
    trader.trades = [
        qr.xt_trade("T2", 102, "000001.SZ", 24, 200, 10.95, at=qr.epoch(9, 41, 5)),
        qr.xt_trade("T1", 101, "600519.SH", 23, 100, 1466.8, at=qr.epoch(9, 35, 12)),
    ]
    first, second = await qmt.get_trades()
    assert isinstance(first, Trade)
    assert (first.id, first.order_id, first.side) == ("20260302-T1", "20260302-101", Side.BUY)
    assert (first.quantity, first.price, first.amount) == (
        100,
        Decimal("1466.8"),
        Decimal("146680.0"),
    )
    assert first.fees.commission == Decimal("5.0")
    assert (second.side, second.symbol) == (Side.SELL, PINGAN)


# -- callbacks ----------------------------------------------------------------------------


async def test_callbacks_from_xtquants_thread_become_events(
    qmt: QmtBroker, trader: FakeXtTrader
) -> None:
    events: list[tuple[str, Order | Trade]] = []
    qmt.set_listener(lambda kind, item: events.append((kind, item)))
    await eventually(lambda: trader.connects == 1)  # the link task connects by itself
    placed = (
        await qmt.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="c7"))
    ).order
    xt_order = trader.orders[0]
    xt_order.order_status, xt_order.traded_volume, xt_order.traded_price = 55, 40, 1466.8
    trader.push("on_stock_order", xt_order).join()
    trader.push("on_stock_order", xt_order).join()  # the same state again: no second event
    fill = qr.xt_trade("T7", xt_order.order_id, "600519.SH", 23, 40, 1466.8, remark="c7")
    trader.push("on_stock_trade", fill).join()
    trader.push("on_stock_trade", fill).join()
    await eventually(lambda: len(events) >= 2)
    await asyncio.sleep(0)
    assert [kind for kind, _ in events] == ["order_update", "trade"]
    update, trade = events[0][1], events[1][1]
    assert isinstance(update, Order) and isinstance(trade, Trade)
    assert (update.id, update.status, update.filled_quantity, update.client_order_id) == (
        placed.id,
        OrderStatus.PARTIALLY_FILLED,
        40,
        "c7",
    )
    assert (trade.id, trade.order_id, trade.quantity) == ("20260302-T7", placed.id, 40)


async def test_after_a_disconnect_the_next_call_connects_again(
    qmt: QmtBroker, trader: FakeXtTrader
) -> None:
    await qmt.get_orders()
    assert trader.callback is not None
    thread = threading.Thread(target=trader.callback.on_disconnected)  # xtquant's thread
    thread.start()
    thread.join()
    await asyncio.sleep(0)  # the hand-over to the loop runs
    await qmt.get_orders()
    assert trader.connects == 2
    assert trader.stopped  # the failed session was stopped


# -- cancelling and finding -----------------------------------------------------------------


async def test_cancel(qmt: QmtBroker, trader: FakeXtTrader) -> None:
    placed = (await qmt.place_order(request(MAOTAI, Side.BUY, 100, "1466.80"))).order
    cancelled = await qmt.cancel_order(placed.id)
    assert ("cancel_order_stock", 1001) in trader.calls
    assert cancelled.status is OrderStatus.CANCEL_PENDING
    trader.orders[0].order_status = qr.ORDER_CANCELED
    with pytest.raises(BrokerRejected) as final:
        await qmt.cancel_order(placed.id)
    assert final.value.code == "order_final"
    with pytest.raises(BrokerRejected) as unknown:
        await qmt.cancel_order("20260302-77")
    assert unknown.value.code == "unknown_order"


async def test_a_refused_cancel_carries_the_counters_message(
    qmt: QmtBroker, trader: FakeXtTrader
) -> None:
    placed = (await qmt.place_order(request(MAOTAI, Side.BUY, 100, "1466.80"))).order
    trader.cancel_result = -1
    original = trader.cancel_order_stock

    def cancel(account: Any, order_id: int) -> int:
        result = original(account, order_id)
        trader.push("on_cancel_error", qr.xt_cancel_error(order_id, "当前时间不允许撤单"))
        return result

    trader.cancel_order_stock = cancel  # type: ignore[method-assign]
    with pytest.raises(BrokerRejected) as caught:
        await qmt.cancel_order(placed.id)
    assert caught.value.code == "cancel_refused"
    assert "当前时间不允许撤单" in caught.value.message_zh


async def test_find_order_of_an_earlier_day(
    qmt: QmtBroker, trader: FakeXtTrader, clock: ManualClock
) -> None:
    await qmt.place_order(request(MAOTAI, Side.BUY, 100, "1466.80", client_order_id="y1"))
    clock.set(clock.now() + timedelta(days=1))
    trader.orders = []  # a new day's orders
    order = await qmt.find_order("y1")
    assert order is not None
    assert (order.id, order.status) == ("20260302-1001", OrderStatus.SUBMITTED)


async def test_close_stops_the_trader_and_refuses_later_calls(
    tmp_path: Path, clock: ManualClock, trader: FakeXtTrader
) -> None:
    broker = make_broker(tmp_path, clock, trader)
    await broker.get_orders()
    await broker.close()
    assert trader.stopped
    with pytest.raises(BrokerUnavailable):
        await broker.get_orders()
