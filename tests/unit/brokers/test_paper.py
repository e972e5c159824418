"""The paper broker: fills, fees, cash, T+1, resting orders."""

import asyncio
import dataclasses
import random
from decimal import Decimal

import pytest

from aigupiao.brokers.base import Broker, BrokerRejected, OrderResult
from aigupiao.brokers.paper import PaperBroker
from aigupiao.core.clock import ManualClock
from aigupiao.domain.orders import Fees, OrderStatus, Side, Trade
from aigupiao.domain.sessions import next_trading_day

from .helpers import DAY, MAOTAI, PINGAN, START_CASH, Market, at, make_quote, rejected, request


def test_paper_broker_is_a_broker(broker: PaperBroker) -> None:
    assert isinstance(broker, Broker)
    assert broker.name == "paper" and broker.account_id == "paper-1"


async def test_market_buy_fills_at_the_ask_with_fees(broker: PaperBroker) -> None:
    result = await broker.place_order(request(client_order_id="cmd-1"))
    assert isinstance(result, OrderResult)
    order = result.order
    assert order.status is OrderStatus.FILLED
    assert order.id.startswith("P") and order.broker_order_id == order.id
    assert order.client_order_id == "cmd-1"
    assert order.price is None
    (trade,) = result.trades
    assert (trade.price, trade.quantity, trade.amount) == (
        Decimal("1466.80"),
        100,
        Decimal("146680.00"),
    )
    # 146680 x 0.025% = 36.67 > 5; transfer 146680 x 0.001% = 1.4668 -> 1.47; no stamp duty
    assert trade.fees == Fees(Decimal("36.67"), Decimal("0"), Decimal("1.47"))
    account = await broker.get_account()
    assert account.cash == START_CASH - Decimal("146718.14")
    assert account.frozen_cash == 0
    (position,) = account.positions
    assert (position.symbol, position.total, position.available) == (MAOTAI, 100, 0)
    assert position.cost_price == Decimal("1467.181")
    assert position.last_price == Decimal("1466.80")
    assert await broker.find_order("cmd-1") == order
    assert await broker.get_trades() == [trade]


async def test_small_buy_pays_the_minimum_commission(broker: PaperBroker) -> None:
    result = await broker.place_order(request(PINGAN, quantity=100))
    (trade,) = result.trades
    assert trade.amount == Decimal("1092.00")  # 100 x 10.92
    assert trade.fees == Fees(Decimal("5.00"), Decimal("0"), Decimal("0.01"))
    assert (await broker.get_account()).cash == START_CASH - Decimal("1097.01")


async def test_t_plus_one(broker: PaperBroker, clock: ManualClock, market: Market) -> None:
    await broker.place_order(request(PINGAN, quantity=500))
    error = await rejected(broker, request(PINGAN, Side.SELL, 500, "10.91"))
    assert error.code == "available"
    next_day = next_trading_day(DAY)
    clock.set(at(10, 0, next_day))
    market.set(make_quote(PINGAN, "11.00", previous_close="10.91", day=next_day))
    (position,) = (await broker.get_account()).positions
    assert (position.total, position.available) == (500, 500)
    result = await broker.place_order(request(PINGAN, Side.SELL, 500))
    assert result.order.status is OrderStatus.FILLED
    assert (await broker.get_account()).positions == ()


async def test_sell_credits_amount_minus_fees(
    broker: PaperBroker, clock: ManualClock, market: Market
) -> None:
    await broker.place_order(request(MAOTAI, quantity=300, price="1466.80"))
    cash_after_buy = (await broker.get_account()).cash
    next_day = next_trading_day(DAY)
    clock.set(at(10, 0, next_day))
    market.set(make_quote(MAOTAI, "1500.00", previous_close="1466.80", day=next_day))
    result = await broker.place_order(request(MAOTAI, Side.SELL, 100, "1500.00"))
    (trade,) = result.trades
    assert trade.price == Decimal("1500.00") and trade.amount == Decimal("150000.00")
    # commission 37.50, stamp duty 0.05% = 75.00, transfer fee 0.001% = 1.50
    assert trade.fees == Fees(Decimal("37.50"), Decimal("75.00"), Decimal("1.50"))
    account = await broker.get_account()
    assert account.cash == cash_after_buy + Decimal("150000.00") - Decimal("114.00")
    (position,) = account.positions
    assert (position.total, position.available) == (200, 200)


async def test_limit_order_in_auction_fills_at_the_opening_price(
    broker: PaperBroker, clock: ManualClock, market: Market
) -> None:
    clock.set(at(9, 16))
    result = await broker.place_order(request(price="1466.80"))
    assert result.order.status is OrderStatus.SUBMITTED and result.trades == ()
    assert (await broker.get_account()).frozen_cash > 0
    broker.on_quote(market.quotes["sh600519"])  # still the auction: no match
    assert (await broker.get_orders())[0].status is OrderStatus.SUBMITTED
    clock.set(at(9, 30))
    # Opened at 1466.00. The 9:16 book showed 10,000 shares bid at 1466.80 ahead of the
    # order, all above the opening price, so the auction matched at least those.
    opening = dataclasses.replace(make_quote(MAOTAI, "1466.00", ts=at(9, 30)), volume=20_000)
    broker.on_quote(market.set(opening))
    (order,) = await broker.get_orders()
    assert order.status is OrderStatus.FILLED and order.average_price == Decimal("1466.00")


async def test_partial_fill_when_depth_is_short(broker: PaperBroker, market: Market) -> None:
    market.set(make_quote(PINGAN, "10.91", asks=[("10.92", 300), ("10.93", 200)]))
    result = await broker.place_order(request(PINGAN, quantity=1000))
    order = result.order
    assert order.status is OrderStatus.CANCELLED  # best five, the rest cancelled
    assert order.filled_quantity == 500
    assert [(t.price, t.quantity) for t in result.trades] == [
        (Decimal("10.92"), 300),
        (Decimal("10.93"), 200),
    ]
    commission = sum(t.fees.commission for t in result.trades)
    assert commission == Decimal("5.00")  # the minimum is charged once per order
    account = await broker.get_account()
    spent = sum(t.amount + t.fees.total for t in result.trades)
    assert account.cash == START_CASH - spent and account.frozen_cash == 0
    # the same snapshot cannot fill the same shares again
    again = await broker.place_order(request(PINGAN, quantity=100))
    assert again.order.status is OrderStatus.CANCELLED and again.trades == ()


async def test_limit_buy_rests_and_fills_on_later_quotes(
    broker: PaperBroker, clock: ManualClock, market: Market
) -> None:
    market.set(make_quote(PINGAN, "10.91", asks=[("10.90", 200), ("10.92", 1000)]))
    result = await broker.place_order(request(PINGAN, quantity=1000, price="10.90"))
    assert result.order.status is OrderStatus.PARTIALLY_FILLED
    assert result.order.filled_quantity == 200
    account = await broker.get_account()
    assert account.frozen_cash > Decimal("8720")  # 800 x 10.90 still frozen
    clock.advance(3)
    broker.on_quote(market.set(make_quote(PINGAN, "10.89", ts=clock.now())))
    (order,) = await broker.get_orders()
    assert order.status is OrderStatus.FILLED
    assert [t.price for t in await broker.get_trades()] == [Decimal("10.90"), Decimal("10.90")]
    account = await broker.get_account()
    assert account.frozen_cash == 0
    trades = await broker.get_trades()
    assert account.cash == START_CASH - sum(t.amount + t.fees.total for t in trades)


async def test_limit_up_empty_ask_side_does_not_fill(broker: PaperBroker, market: Market) -> None:
    market.set(
        make_quote(PINGAN, "12.00", previous_close="10.91", asks=[], bids=[("12.00", 900_000)])
    )
    result = await broker.place_order(request(PINGAN, quantity=100))
    assert result.order.status is OrderStatus.CANCELLED and result.trades == ()
    resting = await broker.place_order(request(PINGAN, quantity=100, price="12.00"))
    assert resting.order.status is OrderStatus.SUBMITTED and resting.trades == ()
    account = await broker.get_account()
    assert account.frozen_cash == Decimal("1205.01")  # 1200 + 5.00 commission + 0.01 transfer
    assert account.cash + account.frozen_cash == START_CASH
    assert account.positions == ()


async def test_cancel_releases_frozen_cash(broker: PaperBroker) -> None:
    result = await broker.place_order(request(PINGAN, quantity=100, price="10.80"))
    assert result.order.status is OrderStatus.SUBMITTED
    cancelled = await broker.cancel_order(result.order.id)
    assert cancelled.status is OrderStatus.CANCELLED
    account = await broker.get_account()
    assert (account.cash, account.frozen_cash) == (START_CASH, 0)
    with pytest.raises(BrokerRejected) as caught:
        await broker.cancel_order(result.order.id)
    assert caught.value.code == "order_final"
    with pytest.raises(BrokerRejected) as caught:
        await broker.cancel_order("P999999")
    assert caught.value.code == "unknown_order"


async def test_open_orders_expire_on_the_next_day(
    broker: PaperBroker, clock: ManualClock, market: Market
) -> None:
    await broker.place_order(request(PINGAN, quantity=500))
    clock.set(at(10, 0, next_trading_day(DAY)))
    market.set(make_quote(PINGAN, "10.91", day=clock.today()))
    sell = await broker.place_order(request(PINGAN, Side.SELL, 500, "11.50"))
    assert sell.order.status is OrderStatus.SUBMITTED
    assert (await broker.get_account()).positions[0].available == 0  # held by the order
    clock.set(at(10, 0, next_trading_day(clock.today())))
    assert await broker.get_orders() == []  # only today's orders
    order = await broker.find_order(sell.order.client_order_id or "")
    assert order is not None and order.status is OrderStatus.EXPIRED
    assert (await broker.get_account()).positions[0].available == 500


async def test_concurrent_orders_never_overspend(clock: ManualClock, market: Market) -> None:
    broker = PaperBroker("paper-1", Decimal("20000"), clock, market.get)
    requests = [request(PINGAN, quantity=1000, price="10.92") for _ in range(5)]
    outcomes = await asyncio.gather(
        *(broker.place_order(r) for r in requests), return_exceptions=True
    )
    filled = [o for o in outcomes if isinstance(o, OrderResult)]
    assert len(filled) == 1
    assert all(
        isinstance(o, BrokerRejected) and o.code == "cash" for o in outcomes if o not in filled
    )
    assert (await broker.get_account()).cash >= 0


async def test_cash_never_negative_under_random_orders(clock: ManualClock, market: Market) -> None:
    rng = random.Random(3)
    broker = PaperBroker("paper-1", Decimal("50000"), clock, market.get)
    day = DAY
    seen: dict[str, Trade] = {}
    for step in range(300):
        if step % 60 == 59:
            seen.update((t.id, t) for t in await broker.get_trades())
            day = next_trading_day(day)
        clock.set(at(10, 0, day))
        last = Decimal("10.91") + Decimal(rng.randint(-50, 50)) / 100
        quote = make_quote(
            PINGAN,
            str(last),
            previous_close="10.91",
            asks=[(str(last + Decimal(i) / 100), rng.randint(1, 30) * 100) for i in range(5)],
            bids=[(str(last - Decimal(i + 1) / 100), rng.randint(1, 30) * 100) for i in range(5)],
            ts=at(10, 0, day).replace(second=step % 60),
            day=day,
        )
        broker.on_quote(market.set(quote))
        side = rng.choice([Side.BUY, Side.SELL])
        price = None if rng.random() < 0.5 else str(last + Decimal(rng.randint(-3, 3)) / 100)
        try:
            await broker.place_order(request(PINGAN, side, rng.randint(1, 20) * 100, price))
        except BrokerRejected:
            pass
        account = await broker.get_account()
        assert account.cash >= 0 and account.frozen_cash >= 0
        for position in account.positions:
            assert 0 <= position.available <= position.total
    seen.update((t.id, t) for t in await broker.get_trades())
    trades = list(seen.values())
    assert len({t.ts.date() for t in trades}) > 1
    account = await broker.get_account()
    flow = sum(
        (-(t.amount + t.fees.total) if t.side is Side.BUY else t.amount - t.fees.total)
        for t in trades
    )
    assert account.cash + account.frozen_cash == Decimal("50000") + flow
