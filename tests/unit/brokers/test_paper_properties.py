"""Properties of the paper broker under random orders, quotes and days (hypothesis).

- Cash is conserved: start = cash + frozen + what buys cost (with fees) - what sells
  brought in (net of fees).
- Positions are conserved: total = shares bought - shares sold, per symbol.
- Cash and frozen cash are never negative; available never exceeds total.
- No sell exceeds what is available; every fill is inside the day's limits.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigupiao.brokers.base import BrokerRejected, OrderRequest
from aigupiao.brokers.paper import PaperBroker
from aigupiao.core.clock import ManualClock
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.orders import MarketKind, OrderType, Side, Trade, market_kinds_for
from aigupiao.domain.sessions import next_trading_day
from aigupiao.domain.symbols import Symbol, parse_symbol, price_limits

from .helpers import DAY, at

SYMBOLS = [parse_symbol("sz000001"), parse_symbol("sh600519"), parse_symbol("sh688981")]
CLOSES = {
    "sz000001": Decimal("10.91"),
    "sh600519": Decimal("1466.80"),
    "sh688981": Decimal("115.82"),
}
START = Decimal("2000000.00")
TIMES = [(9, 16), (9, 31), (10, 0), (11, 0), (12, 0), (13, 30), (14, 58)]


def book(symbol: Symbol, day: date, moment: datetime, offset: int, depth: list[int]) -> Quote:
    """A snapshot whose best ask is ``offset`` ticks from the previous close, in the limits."""
    previous = CLOSES[symbol.full]
    up, down = price_limits(symbol, previous, day) or (previous, previous)
    tick = symbol.tick
    ask = min(max(previous + offset * tick, down + tick), up)
    asks = tuple(
        Level(p, v)
        for p, v in zip([ask + i * tick for i in range(5)], depth, strict=True)
        if p <= up
    )
    bids = tuple(
        Level(p, v)
        for p, v in zip([ask - (i + 1) * tick for i in range(5)], depth, strict=True)
        if p >= down
    )
    return Quote(
        symbol=symbol,
        name="测试",
        ts=moment,
        last=ask,
        previous_close=previous,
        open=ask,
        high=ask,
        low=ask,
        volume=sum(depth) * 10,
        amount=ask * sum(depth) * 10,
        bids=bids,
        asks=asks,
        limit_up=up,
        limit_down=down,
    )


action = st.one_of(
    st.tuples(
        st.just("order"),
        st.integers(0, len(SYMBOLS) - 1),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 12),  # lots (the STAR minimum is two)
        st.one_of(st.none(), st.integers(-30, 30)),  # None = market, else ticks from the ask
        st.sampled_from(list(MarketKind)),
    ),
    st.tuples(
        st.just("quote"),
        st.integers(0, len(SYMBOLS) - 1),
        st.integers(-80, 80),
        st.lists(st.integers(0, 800), min_size=5, max_size=5),
    ),
    st.tuples(st.just("time"), st.integers(0, len(TIMES) - 1)),
    st.tuples(st.just("day")),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
)


async def run(actions: list[tuple]) -> list[Trade]:
    """Apply ``actions``, checking the properties after each; returns every fill."""
    day = DAY
    clock = ManualClock(at(10, 0, day))
    quotes: dict[str, Quote] = {
        s.full: book(s, day, clock.now(), 1, [300, 300, 300, 300, 300]) for s in SYMBOLS
    }
    broker = PaperBroker("paper-1", START, clock, quotes.get)
    fills: list[Trade] = []  # from the answers and from the pushed events
    broker.set_listener(lambda kind, item: fills.append(item) if kind == "trade" else None)
    for n, step in enumerate(actions):
        kind = step[0]
        if kind == "quote":
            symbol = SYMBOLS[step[1]]
            quote = book(symbol, day, clock.now() + timedelta(microseconds=n), step[2], step[3])
            quotes[symbol.full] = quote
            broker.on_quote(quote)
        elif kind == "time":
            hour, minute = TIMES[step[1]]
            clock.set(max(clock.now(), at(hour, minute, day)))
        elif kind == "day":
            day = next_trading_day(day)
            clock.set(at(9, 31, day))
            quotes.update({s.full: book(s, day, clock.now(), 1, [300] * 5) for s in SYMBOLS})
        elif kind == "cancel":
            orders = [o for o in await broker.get_orders() if not o.status.is_final]
            if orders:
                try:
                    await broker.cancel_order(orders[step[1] % len(orders)].id)
                except BrokerRejected:
                    pass
        else:
            _, index, side, lots, ticks, market_kind = step
            symbol = SYMBOLS[index]
            quote = quotes[symbol.full]
            quantity = lots * 100 if symbol.board.value != "star" else 200 + lots * 37
            price = None
            if ticks is not None:
                price = min(max(quote.last + ticks * symbol.tick, quote.limit_down), quote.limit_up)
            account = await broker.get_account()
            held = {p.symbol.full: p for p in account.positions}
            available = held[symbol.full].available if symbol.full in held else 0
            request = OrderRequest(
                account="paper-1",
                symbol=symbol,
                side=side,
                type=OrderType.MARKET if price is None else OrderType.LIMIT,
                quantity=quantity,
                price=price,
                client_order_id=f"h{n}",
                market_kind=market_kind
                if price is None and market_kind in market_kinds_for(symbol)
                else None,
            )
            try:
                result = await broker.place_order(request)
            except BrokerRejected as exc:
                assert exc.code  # every refusal names its rule
            else:
                assert side is Side.BUY or quantity <= available, "sold more than available"
                fills.extend(result.trades)
        await check(broker, fills)
    return fills


async def check(broker: PaperBroker, trades: list[Trade]) -> None:
    account = await broker.get_account()
    assert account.cash >= 0 and account.frozen_cash >= 0
    for position in account.positions:
        assert 0 <= position.available <= position.total
    spent = sum(
        (t.amount + t.fees.total if t.side is Side.BUY else -(t.amount - t.fees.total))
        for t in trades
    )
    assert START == account.cash + account.frozen_cash + spent, "cash not conserved"
    shares: dict[str, int] = {}
    for t in trades:
        shares[t.symbol.full] = shares.get(t.symbol.full, 0) + (
            t.quantity if t.side is Side.BUY else -t.quantity
        )
    held = {p.symbol.full: p.total for p in account.positions}
    assert {k: v for k, v in shares.items() if v} == held, "positions not conserved"
    open_buys = [
        o for o in await broker.get_orders() if o.side is Side.BUY and not o.status.is_final
    ]
    if not open_buys:
        assert account.frozen_cash == 0
    for t in trades:
        limits = price_limits(t.symbol, CLOSES[t.symbol.full], t.ts.date())
        assert limits is not None
        assert limits[1] <= t.price <= limits[0], "filled outside the day's limits"


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(st.lists(action, min_size=1, max_size=60))
def test_paper_broker_invariants(actions: list[tuple]) -> None:
    asyncio.run(run(actions))


def test_the_generator_places_orders_that_fill() -> None:
    """Guards the property test against generating only rejected orders."""
    actions = [("order", 0, Side.BUY, 3, None, MarketKind.BEST5_IOC), ("day",),
               ("order", 0, Side.SELL, 1, -1, MarketKind.BEST5_IOC)]  # fmt: skip
    fills = asyncio.run(run(actions))
    # 300 bought at the ask; the next day 100 sold at the best bid
    assert [(t.side, t.quantity) for t in fills] == [(Side.BUY, 300), (Side.SELL, 100)]
