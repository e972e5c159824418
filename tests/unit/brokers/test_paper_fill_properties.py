"""No order fills more than the market traded plus the depth it displayed (hypothesis),
over generated snapshot sequences and the real sh600122 afternoon; and the bound on the
volume that can have traded at or better than a price is sound and the least such.

The budget (tape.Evidence) is computed from the snapshots alone:
- at placement, at most the depth shown within the order's limit;
- from one snapshot to the next, all orders together at most the volume traded in
  between plus the growth of every displayed level;
- over its life, an order at most the volume traded since it was placed plus the depth
  shown within its limit at placement and every later growth of it.
Cash and shares are conserved throughout.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigupiao.brokers.base import BrokerRejected, OrderRequest
from aigupiao.brokers.paper import PaperBroker
from aigupiao.core.clock import ManualClock
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import MarketKind, OrderType, Side, Trade
from aigupiao.domain.sessions import previous_trading_day
from aigupiao.domain.symbols import parse_symbol

from . import afternoon
from .helpers import DAY, at
from .tape import Evidence, Tape

TICK = Decimal("0.01")
PINGAN = parse_symbol("sz000001")
UP, DOWN = Decimal("11.00"), Decimal("9.00")  # its limits (previous close 10.00)
START = Decimal("50000000.00")
HELD = 300_000

# -- the bound ------------------------------------------------------------------------

tapes = st.lists(st.tuples(st.integers(0, 30), st.integers(1, 5_000)), min_size=1, max_size=8)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    trades=tapes,
    at_ticks=st.integers(-3, 33),
    widen=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    buying=st.booleans(),
)
def test_the_bound_is_sound_and_the_least_one(
    trades: list[tuple[int, int]], at_ticks: int, widen: tuple[int, int], buying: bool
) -> None:
    from aigupiao.brokers.paper.matching import traded_at_or_better  # new in issue 13

    base = Decimal("10.00")
    prices = [(base + ticks * TICK, shares) for ticks, shares in trades]
    volume = sum(shares for _, shares in prices)
    amount = sum(price * shares for price, shares in prices)
    # The range the broker knows may be wider than the interval's own.
    low = min(price for price, _ in prices) - widen[0] * TICK
    high = max(price for price, _ in prices) + widen[1] * TICK
    price = base + at_ticks * TICK
    truth = sum(shares for p, shares in prices if (p <= price if buying else p >= price))
    bound = traded_at_or_better(volume, amount, price, buying=buying, high=high, low=low)
    assert truth <= bound <= volume
    if bound < volume and low <= price <= high:
        # One more share at or better than the price cannot fit the amount: even with it
        # at the price and all the rest at the far end of the range, the amount is off.
        far = high if buying else low
        more = bound + 1
        reachable = more * price + (volume - more) * far
        assert reachable < amount if buying else reachable > amount


# -- generated sequences ------------------------------------------------------------------

step = st.fixed_dictionaries(
    {
        # the same book again with nothing traded, as a third of real snapshots are
        "repeat": st.booleans(),
        # what traded since the last snapshot: (ticks from the current last price, shares)
        "trades": st.lists(
            st.tuples(st.integers(-4, 4), st.integers(1, 30).map(lambda lots: lots * 100)),
            max_size=4,
        ),
        "spread": st.integers(1, 3),
        "asks": st.lists(st.integers(0, 60).map(lambda lots: lots * 100), min_size=0, max_size=5),
        "bids": st.lists(st.integers(0, 60).map(lambda lots: lots * 100), min_size=0, max_size=5),
        "order": st.none()
        | st.tuples(
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(1, 80).map(lambda lots: lots * 100),
            st.none() | st.integers(-4, 4),  # None: a market order; else ticks from last
            st.sampled_from(sorted(MarketKind)),
        ),
    }
)


async def replay_generated(steps: list[dict]) -> Evidence:
    tape = Tape(PINGAN, Decimal("10.00"), at(10, 0), Decimal("10.00"))
    tape.step([("10.00", 10_000)], at=at(10, 0))
    clock = ManualClock(at(10, 0, previous_trading_day(DAY)))
    quotes: dict[str, Quote] = {}
    broker = PaperBroker("paper-1", START, clock, quotes.get)
    fills: list[Trade] = []
    broker.set_listener(lambda kind, item: fills.append(item) if kind == "trade" else None)
    everything: list[Trade] = []
    # The day before: buy the shares to sell.
    quotes[PINGAN.full] = tape.quote(asks=[("10.00", HELD)], bids=[("9.99", 100)])
    seed = await broker.place_order(
        OrderRequest("paper-1", PINGAN, Side.BUY, OrderType.MARKET, HELD, None, "seed")
    )
    bought_before = list(seed.trades)
    evidence = Evidence()
    asks: list[tuple[Decimal, int]] = []
    bids: list[tuple[Decimal, int]] = []
    for n, spec in enumerate(steps):
        if spec["repeat"] and n:
            quote = tape.step(asks=asks, bids=bids)
            clock.set(quote.ts)
            quotes[PINGAN.full] = quote
            fills.clear()
            broker.on_quote(quote)
            evidence.moved(quote, list(fills))
            everything.extend(fills)
            await conserved(broker, bought_before + everything)
            continue
        trades = []
        for ticks, shares in spec["trades"]:  # a walk from the last price, in the limits
            price = min(max(tape.last + ticks * TICK, DOWN), UP)
            trades.append((price, shares))
            tape.step([(price, shares)], seconds=0)
        tape.step(seconds=3)
        best_ask = tape.last + TICK
        asks = [(best_ask + i * TICK, size) for i, size in enumerate(spec["asks"])]
        bids = [
            (best_ask - (spec["spread"] + i) * TICK, size) for i, size in enumerate(spec["bids"])
        ]
        asks = [(p, size) for p, size in asks if size and p <= UP]
        bids = [(p, size) for p, size in bids if size and p >= DOWN]
        quote = tape.quote(asks=asks, bids=bids)
        clock.set(quote.ts)
        quotes[PINGAN.full] = quote
        fills.clear()
        broker.on_quote(quote)
        evidence.moved(quote, list(fills))
        everything.extend(fills)
        if spec["order"] is not None:
            side, quantity, ticks, kind = spec["order"]
            price = None if ticks is None else max(TICK, tape.last + ticks * TICK)
            up, down = quote.limit_up, quote.limit_down
            assert up is not None and down is not None
            if price is not None:
                price = min(max(price, down), up)
            try:
                result = await broker.place_order(
                    OrderRequest(
                        "paper-1",
                        PINGAN,
                        side,
                        OrderType.MARKET if price is None else OrderType.LIMIT,
                        quantity,
                        price,
                        f"g{n}",
                        market_kind=kind if price is None else None,
                    )
                )
            except BrokerRejected:
                continue
            evidence.placed(result.order.id, side, price, quote, list(result.trades))
            everything.extend(result.trades)
        await conserved(broker, bought_before + everything)
    return evidence


async def conserved(broker: PaperBroker, trades: list[Trade]) -> None:
    account = await broker.get_account()
    assert account.cash >= 0 and account.frozen_cash >= 0
    spent = sum(
        (t.amount + t.fees.total if t.side is Side.BUY else -(t.amount - t.fees.total))
        for t in trades
    )
    assert START == account.cash + account.frozen_cash + spent, "cash not conserved"
    held = sum(t.quantity if t.side is Side.BUY else -t.quantity for t in trades)
    assert sum(p.total for p in account.positions) == held, "shares not conserved"
    for t in trades:
        assert Decimal("9.00") <= t.price <= Decimal("11.00"), "filled outside the limits"


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(step, min_size=1, max_size=40))
def test_generated_sequences_never_fill_beyond_the_evidence(steps: list[dict]) -> None:
    evidence = asyncio.run(replay_generated(steps))
    assert evidence.problems == []


def test_the_generator_makes_orders_fill_from_trades_and_depth() -> None:
    """Guards the property against trivially passing: resting orders do fill, from
    depth that appears and from volume traded at their price."""
    steps = [
        {"repeat": False, "trades": [], "spread": 1, "asks": [1000], "bids": [1000],
         "order": (Side.BUY, 3000, -1, MarketKind.BEST5_IOC)},  # rests at 9.99, none ahead
        # 1,500 sold at 9.99: all of it reaches the order.
        {"repeat": False, "trades": [(-1, 1500)], "spread": 1, "asks": [1000], "bids": [500],
         "order": None},
        # 100 sold through it at 9.98, then 800 offered at 9.99 (twice: taken once).
        {"repeat": False, "trades": [(-1, 100)], "spread": 1, "asks": [800, 900], "bids": [],
         "order": None},
        {"repeat": True, "trades": [], "spread": 1, "asks": [], "bids": [], "order": None},
    ]  # fmt: skip
    evidence = asyncio.run(replay_generated(steps))
    assert evidence.problems == []
    assert sum(evidence.filled.values()) == 1_500 + 100 + 800


# -- the real afternoon -------------------------------------------------------------------

orders = st.lists(
    st.tuples(
        st.integers(0, 573),  # placed after this snapshot
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 3_000).map(lambda lots: lots * 100),
        st.none() | st.integers(-8, 8),  # None: a market order; else ticks from the last price
    ),
    min_size=1,
    max_size=6,
)


async def replay_real(placed: list[tuple[int, Side, int, int | None]]) -> Evidence:
    quotes = afternoon.snapshots()
    account = afternoon.Account(quotes[0])
    await account.setup()
    fills: list[Trade] = []
    account.broker.set_listener(lambda kind, item: fills.append(item) if kind == "trade" else None)
    evidence = Evidence()
    by_index: dict[int, list[tuple[Side, int, int | None]]] = {}
    for index, side, quantity, ticks in placed:
        by_index.setdefault(index, []).append((side, quantity, ticks))
    for index, quote in enumerate(quotes):
        fills.clear()
        account.deliver(quote)
        evidence.moved(quote, list(fills))
        for side, quantity, ticks in by_index.get(index, []):
            price = None if ticks is None else quote.last + ticks * TICK
            try:
                result = await account.place(side, quantity, price)
            except BrokerRejected:
                continue
            evidence.placed(result.order.id, side, price, quote, list(result.trades))
    return evidence


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(orders)
def test_real_snapshots_never_fill_beyond_the_evidence(
    placed: list[tuple[int, Side, int, int | None]],
) -> None:
    evidence = asyncio.run(replay_real(placed))
    assert evidence.problems == []


def test_real_snapshot_orders_do_fill() -> None:
    """Guards the property against trivially passing on the real tape."""
    evidence = asyncio.run(
        replay_real(
            [(1, Side.BUY, 50_000, 0), (1, Side.SELL, 50_000, 3), (40, Side.BUY, 500, None)]
        )
    )
    assert evidence.problems == []
    assert all(evidence.filled.values())
