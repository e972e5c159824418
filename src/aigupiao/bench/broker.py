"""``aigupiao bench broker``: orders validated and matched per second by the paper broker.

The market is the simulated full market: every symbol of the real snapshot in
``../shared/data`` (ST included; the simulator has no BSE data yet), each with a
five-level book from :class:`~aigupiao.market.sim.SimMarket`, refreshed for every
symbol between batches of orders, as a live feed would. The account starts on a
trading day with positions bought the day before, so sells are real sells.

The order mix: market buys of every kind the exchange takes, marketable and
resting limit buys around the touch, limit and market sells of held shares, and a
share of orders that break a rule (odd lots, off-tick prices, prices outside the
cage). All of them are validated; the accepted ones are matched against the book
at once, and the resting ones again on every later snapshot. Only placing is
timed (one core, one event loop); feeding snapshots is timed apart
(``quotes_per_s``, which includes matching the resting orders).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import date, datetime
from datetime import time as clock_time
from decimal import Decimal
from typing import Any

from aigupiao.brokers.base import BrokerRejected, OrderRequest
from aigupiao.brokers.paper.broker import PaperBroker
from aigupiao.core.clock import ManualClock
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import MarketKind, OrderType, Side, market_kinds_for
from aigupiao.domain.sessions import BEIJING, is_trading_day, next_trading_day
from aigupiao.domain.symbols import lot_rule, parse_symbol
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import SymbolInfo, default_shared_dir, load_universe

BATCH = 5_000  # orders between two full-market snapshots
ACCOUNT = "bench"


def _universe(count: int) -> list[SymbolInfo]:
    """``count`` symbols: the real snapshot's (ST included), then, if it has fewer, clones
    of them under unused main-board codes (same prices, name 模拟+code)."""
    real = load_universe(default_shared_dir(), count, include_st=True)
    taken = {info.symbol.full for info in real}
    free = (
        code
        for prefix in _CLONE_PREFIXES
        for number in range(1000)
        if (code := f"{prefix}{number:03d}") not in taken
    )
    clones: list[SymbolInfo] = []
    for code in free:
        if len(real) + len(clones) >= count:
            break
        model = real[len(clones) % len(real)]
        clones.append(SymbolInfo(parse_symbol(code), f"模拟{code[2:]}", model.previous_close))
    if len(real) + len(clones) < count:
        raise ValueError(f"at most {len(real) + len(clones)} symbols can be simulated")
    return real + clones


_CLONE_PREFIXES = ("sz000", "sz001", "sz002", "sz003", "sh600", "sh601", "sh603", "sh605")


def _trading_morning(today: date) -> datetime:
    day = today if is_trading_day(today) else next_trading_day(today)
    return datetime.combine(day, clock_time(10, 0), BEIJING)


def _requests(
    rng: random.Random, quotes: dict[str, Quote], held: dict[str, int], count: int, offset: int
) -> list[OrderRequest]:
    symbols = list(quotes)
    owned = [code for code, shares in held.items() if shares]
    requests = []
    for n in range(count):
        roll = rng.random()
        sell = bool(roll < 0.2 and owned)
        code = rng.choice(owned) if sell else rng.choice(symbols)
        quote = quotes[code]
        symbol = quote.symbol
        rule = lot_rule(symbol)
        side = Side.SELL if sell else Side.BUY
        quantity = rule.minimum * rng.randint(1, 5)
        price: Decimal | None = None
        kind: MarketKind | None = None
        tick = symbol.tick
        touch = (quote.bids[0].price if sell and quote.bids else None) or (
            quote.asks[0].price if quote.asks else quote.last
        )
        if rng.random() < 0.4:  # a market order of a kind the exchange takes
            kind = rng.choice(sorted(market_kinds_for(symbol)))
        else:  # a limit order from a few ticks through the touch to a few behind it
            steps = rng.randint(-5, 2) if not sell else rng.randint(-2, 5)
            price = max(tick, touch + (steps if not sell else -steps) * tick)
        if rng.random() < 0.05:  # a rule breaker: an off-tick price or an odd lot
            if price is not None and rng.random() < 0.5:
                price += tick / 2
            else:
                quantity = quantity + 1 if rule.step > 1 else rule.minimum - 1
        elif sell:
            quantity = min(quantity, held[code])
            held[code] -= quantity
            if not held[code]:
                owned.remove(code)
        requests.append(
            OrderRequest(
                account=ACCOUNT,
                symbol=symbol,
                side=side,
                type=OrderType.MARKET if price is None else OrderType.LIMIT,
                quantity=quantity,
                price=price,
                client_order_id=f"b{offset + n}",
                market_kind=kind,
            )
        )
    return requests


async def run(
    orders: int, *, symbols: int = 5_500, seed: int = 1, progress: Any = None
) -> dict[str, Any]:
    rng = random.Random(seed)
    universe = _universe(symbols)
    start = _trading_morning(datetime.now(BEIJING).date())
    clock = ManualClock(start)
    sim = SimMarket(universe, clock, seed=seed)
    broker = PaperBroker(ACCOUNT, Decimal(10**12), clock, sim.latest)
    snapshot = {q.symbol.full: q for q in sim.step()}
    for quote in snapshot.values():
        broker.on_quote(quote)
    # The day before the measured one: buy a round lot of a fifth of the market.
    for n, code in enumerate(rng.sample(sorted(snapshot), len(snapshot) // 5)):
        symbol = snapshot[code].symbol
        await broker.place_order(
            OrderRequest(
                ACCOUNT,
                symbol,
                Side.BUY,
                OrderType.MARKET,
                lot_rule(symbol).minimum,
                None,
                f"setup-{n}",
            )
        )
    clock.set(_trading_morning(next_trading_day(start.date())))
    snapshot = {q.symbol.full: q for q in sim.step()}
    quote_seconds = 0.0
    t0 = time.perf_counter()
    for quote in snapshot.values():
        broker.on_quote(quote)
    quote_seconds += time.perf_counter() - t0
    quotes_fed = len(snapshot)
    outcomes: Counter[str] = Counter()
    fills = 0
    place_seconds = 0.0
    done = 0
    while done < orders:
        held = {p.symbol.full: p.available for p in (await broker.get_account()).positions}
        batch = _requests(rng, snapshot, held, min(BATCH, orders - done), done)
        t0 = time.perf_counter()
        for request in batch:
            try:
                result = await broker.place_order(request)
            except BrokerRejected as exc:
                outcomes[f"rejected:{exc.code}"] += 1
                continue
            outcomes[result.order.status.value] += 1
            fills += len(result.trades)
        place_seconds += time.perf_counter() - t0
        done += len(batch)
        if progress is not None:
            progress(done)
        clock.advance(3)
        snapshot = {q.symbol.full: q for q in sim.step()}
        t0 = time.perf_counter()
        for quote in snapshot.values():
            broker.on_quote(quote)
        quote_seconds += time.perf_counter() - t0
        quotes_fed += len(snapshot)
    resting = sum(1 for o in await broker.get_orders() if not o.status.is_final)
    return {
        "bench": "broker",
        "symbols": len(snapshot),
        "orders": done,
        "orders_per_s": round(done / place_seconds),
        "us_per_order": round(place_seconds / done * 1e6, 2),
        "fills": fills,
        "outcomes": dict(sorted(outcomes.items())),
        "resting_at_end": resting,
        "quotes_fed": quotes_fed,
        "quotes_per_s": round(quotes_fed / quote_seconds),
    }
