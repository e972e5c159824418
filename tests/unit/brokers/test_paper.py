import asyncio
import random
from datetime import date, datetime, time
from decimal import Decimal

import pytest

from aigupiao.brokers.base import (
    Broker,
    BrokerRejected,
    BrokerUnavailable,
    OrderRequest,
    OrderResult,
)
from aigupiao.brokers.paper import FeeSchedule, PaperBroker
from aigupiao.core.clock import BEIJING, ManualClock
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.orders import Fees, OrderStatus, OrderType, Side
from aigupiao.domain.sessions import next_trading_day
from aigupiao.domain.symbols import Symbol, parse_symbol, price_limits

DAY = date(2026, 3, 2)  # a Monday
MAOTAI = parse_symbol("sh600519")
PINGAN = parse_symbol("sz000001")
START_CASH = Decimal("1000000.00")


def at(hour: int, minute: int, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), BEIJING)


def make_quote(
    symbol: Symbol,
    last: str,
    *,
    previous_close: str | None = None,
    asks: list[tuple[str, int]] | None = None,
    bids: list[tuple[str, int]] | None = None,
    ts: datetime | None = None,
    day: date = DAY,
) -> Quote:
    price = Decimal(last)
    prev = Decimal(previous_close or last)
    tick = symbol.tick
    if asks is None:
        asks = [(str(price + i * tick), 10_000) for i in range(1, 6)]
    if bids is None:
        bids = [(str(price - i * tick), 10_000) for i in range(5)]
    limits = price_limits(symbol, prev, day)
    assert limits is not None
    return Quote(
        symbol=symbol,
        name="测试",
        ts=ts or at(10, 0, day),
        last=price,
        previous_close=prev,
        open=price,
        high=price,
        low=price,
        volume=1000,
        amount=price * 1000,
        bids=tuple(Level(Decimal(p), v) for p, v in bids),
        asks=tuple(Level(Decimal(p), v) for p, v in asks),
        limit_up=limits[0],
        limit_down=limits[1],
    )


class Market:
    """The quotes the broker sees, set by the test."""

    def __init__(self) -> None:
        self.quotes: dict[str, Quote] = {}

    def set(self, quote: Quote) -> Quote:
        self.quotes[quote.symbol.full] = quote
        return quote

    def get(self, symbol_full: str) -> Quote | None:
        return self.quotes.get(symbol_full)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(10, 0))


@pytest.fixture
def market() -> Market:
    market = Market()
    market.set(make_quote(MAOTAI, "1466.80", asks=[("1466.80", 300), ("1466.81", 500)]))
    market.set(make_quote(PINGAN, "10.91"))
    return market


@pytest.fixture
def broker(clock: ManualClock, market: Market) -> PaperBroker:
    return PaperBroker("paper-1", START_CASH, clock, market.get)


_ids = iter(range(1, 1_000_000))


def request(
    symbol: Symbol = MAOTAI,
    side: Side = Side.BUY,
    quantity: int = 100,
    price: str | None = None,
    *,
    account: str = "paper-1",
    client_order_id: str | None = None,
) -> OrderRequest:
    return OrderRequest(
        account=account,
        symbol=symbol,
        side=side,
        type=OrderType.MARKET if price is None else OrderType.LIMIT,
        quantity=quantity,
        price=Decimal(price) if price is not None else None,
        client_order_id=client_order_id or f"c{next(_ids)}",
    )


async def rejected(broker: PaperBroker, req: OrderRequest) -> BrokerRejected:
    before = (await broker.get_account(), await broker.get_orders(), await broker.get_trades())
    with pytest.raises(BrokerRejected) as caught:
        await broker.place_order(req)
    after = (await broker.get_account(), await broker.get_orders(), await broker.get_trades())
    assert after == before  # a rejected request changes nothing
    assert await broker.find_order(req.client_order_id) is None
    assert caught.value.message_zh and caught.value.message_en
    return caught.value


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


async def test_odd_lot_rejected(broker: PaperBroker) -> None:
    assert (await rejected(broker, request(quantity=150))).code == "lot"
    assert (await rejected(broker, request(quantity=0))).code == "lot"


async def test_star_market_order_maximum(broker: PaperBroker, market: Market) -> None:
    star = parse_symbol("sh688981")
    market.set(make_quote(star, "115.82"))
    assert (await rejected(broker, request(star, quantity=60_000))).code == "max_order_size"


async def test_off_tick_price_rejected(broker: PaperBroker) -> None:
    assert (await rejected(broker, request(price="1466.805"))).code == "tick"


async def test_price_outside_limits_rejected(broker: PaperBroker) -> None:
    # previous close 1466.80: limits 1613.48 / 1320.12
    assert (await rejected(broker, request(price="1613.49"))).code == "price_limit"
    assert (await rejected(broker, request(price="1320.11"))).code == "price_limit"
    result = await broker.place_order(request(price="1613.48"))
    assert result.order.status is OrderStatus.FILLED


@pytest.mark.parametrize(
    ("moment", "limit_ok", "market_ok"),
    [
        (at(9, 0), False, False),
        (at(9, 16), True, False),  # opening auction: limit orders only
        (at(9, 27), False, False),
        (at(10, 0), True, True),
        (at(12, 0), False, False),
        (at(14, 58), True, False),  # closing auction
        (at(15, 1), False, False),
        (datetime(2026, 3, 7, 10, 0, tzinfo=BEIJING), False, False),  # Saturday
    ],
)
async def test_trading_hours(
    broker: PaperBroker, clock: ManualClock, moment: datetime, limit_ok: bool, market_ok: bool
) -> None:
    clock.set(moment)
    for req, ok in ((request(price="1466.80"), limit_ok), (request(), market_ok)):
        if ok:
            await broker.place_order(req)
        else:
            assert (await rejected(broker, req)).code == "trading_hours"


async def test_limit_order_in_auction_rests_until_continuous(
    broker: PaperBroker, clock: ManualClock, market: Market
) -> None:
    clock.set(at(9, 16))
    result = await broker.place_order(request(price="1466.80"))
    assert result.order.status is OrderStatus.SUBMITTED and result.trades == ()
    assert (await broker.get_account()).frozen_cash > 0
    broker.on_quote(market.quotes["sh600519"])  # still the auction: no match
    assert (await broker.get_orders())[0].status is OrderStatus.SUBMITTED
    clock.set(at(9, 30))
    broker.on_quote(market.set(make_quote(MAOTAI, "1466.00", ts=at(9, 30))))
    (order,) = await broker.get_orders()
    assert order.status is OrderStatus.FILLED and order.average_price == Decimal("1466.01")


async def test_insufficient_cash(clock: ManualClock, market: Market) -> None:
    broker = PaperBroker("paper-1", Decimal("100000"), clock, market.get)
    error = await rejected(broker, request(quantity=100))  # needs 1613.48 x 100 reserved
    assert error.code == "cash"
    assert (await rejected(broker, request(quantity=100, price="1466.80"))).code == "cash"
    assert (await broker.get_account()).cash == Decimal("100000")


async def test_market_buy_reserves_at_limit_up(clock: ManualClock, market: Market) -> None:
    # 150,000 covers 100 shares at the ask but not at the limit-up price of 1613.48
    broker = PaperBroker("paper-1", Decimal("150000"), clock, market.get)
    assert (await rejected(broker, request())).code == "cash"
    result = await broker.place_order(request(price="1466.80"))
    assert result.order.status is OrderStatus.FILLED


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


async def test_no_cancel_in_closing_auction(broker: PaperBroker, clock: ManualClock) -> None:
    clock.set(at(14, 58))
    result = await broker.place_order(request(PINGAN, quantity=100, price="10.80"))
    with pytest.raises(BrokerRejected) as caught:
        await broker.cancel_order(result.order.id)
    assert caught.value.code == "trading_hours"


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
    (_, order) = await broker.get_orders()
    assert order.status is OrderStatus.EXPIRED
    assert (await broker.get_account()).positions[0].available == 500


async def test_sell_without_position_and_odd_lot_remainder(
    broker: PaperBroker, clock: ManualClock, market: Market
) -> None:
    assert (await rejected(broker, request(PINGAN, Side.SELL, 100))).code == "available"
    star = parse_symbol("sh688981")  # STAR: at least 200 shares, then steps of 1
    market.set(make_quote(star, "115.82"))
    await broker.place_order(request(star, quantity=250))
    clock.set(at(10, 0, next_trading_day(DAY)))
    market.set(make_quote(star, "115.82", day=clock.today()))
    await broker.place_order(request(star, Side.SELL, 201, "115.82"))
    (position,) = (await broker.get_account()).positions
    assert (position.total, position.available) == (49, 49)
    assert (await rejected(broker, request(star, Side.SELL, 40, "115.82"))).code == "lot"
    result = await broker.place_order(request(star, Side.SELL, 49, "115.82"))
    assert result.order.status is OrderStatus.FILLED
    assert (await broker.get_account()).positions == ()


async def test_other_rejections(broker: PaperBroker) -> None:
    assert (await rejected(broker, request(parse_symbol("sh600036")))).code == "no_quote"
    assert (await rejected(broker, request(account="someone-else"))).code == "account"
    await broker.place_order(request(client_order_id="same"))
    with pytest.raises(BrokerRejected) as caught:
        await broker.place_order(request(client_order_id="same"))
    assert caught.value.code == "duplicate"
    assert len(await broker.get_orders()) == 1


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
    for step in range(300):
        if step % 60 == 59:
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
    trades = await broker.get_trades()
    assert trades
    account = await broker.get_account()
    flow = sum(
        (-(t.amount + t.fees.total) if t.side is Side.BUY else t.amount - t.fees.total)
        for t in trades
    )
    assert account.cash + account.frozen_cash == Decimal("50000") + flow


async def test_closed_broker_is_unavailable(broker: PaperBroker) -> None:
    await broker.close()
    with pytest.raises(BrokerUnavailable):
        await broker.place_order(request())
    with pytest.raises(BrokerUnavailable):
        await broker.get_account()


def test_fee_schedule_by_date() -> None:
    fees = FeeSchedule()
    amount = Decimal("100000")
    assert fees.fees(PINGAN, Side.SELL, amount, date(2023, 8, 28)) == Fees(
        Decimal("25.00"), Decimal("50.00"), Decimal("1.00")
    )
    assert fees.fees(PINGAN, Side.SELL, amount, date(2023, 8, 25)) == Fees(
        Decimal("25.00"), Decimal("100.00"), Decimal("1.00")
    )
    assert fees.fees(PINGAN, Side.BUY, amount, date(2022, 4, 28)) == Fees(
        Decimal("25.00"), Decimal("0"), Decimal("2.00")
    )
    etf = parse_symbol("sh510300")
    assert fees.fees(etf, Side.SELL, amount, DAY).stamp_duty == 0
    assert fees.fees(PINGAN, Side.BUY, Decimal("0"), DAY).total == 0
    # half up to the cent: 30002 x 0.025% = 7.5005 -> 7.50, 30020 x 0.025% = 7.505 -> 7.51
    assert fees.fees(PINGAN, Side.BUY, Decimal("30002"), DAY).commission == Decimal("7.50")
    assert fees.fees(PINGAN, Side.BUY, Decimal("30006"), DAY).commission == Decimal("7.50")
    assert fees.fees(PINGAN, Side.BUY, Decimal("30010"), DAY).commission == Decimal("7.50")
    assert fees.fees(PINGAN, Side.BUY, Decimal("30020"), DAY).commission == Decimal("7.51")
