import asyncio
import dataclasses
import itertools
import time as time_module
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from aigupiao.brokers.base import OrderRequest
from aigupiao.brokers.paper.broker import PaperBroker
from aigupiao.core.clock import ManualClock, TradingDayClock
from aigupiao.domain.market import Quote
from aigupiao.domain.money import round_half_up
from aigupiao.domain.orders import OrderType, Side
from aigupiao.domain.sessions import BEIJING, next_trading_day
from aigupiao.domain.symbols import Board, parse_symbol, price_limits
from aigupiao.market.sim import ANCHORS, Mood, SimMarket
from aigupiao.market.universe import (
    FALLBACK_UNIVERSE,
    SPOT_FILE,
    SymbolInfo,
    full_market,
    load_universe,
)

from ...conftest import IN_CI

DAY = date(2026, 3, 2)  # a Monday
FIVE_PCT = Decimal("-0.05")
REPO_SHARED = Path(__file__).resolve().parents[3].parent / "shared"


def at(hour: int, minute: int, second: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute, second), BEIJING)


@pytest.fixture(scope="module")
def universe() -> list[SymbolInfo]:
    return load_universe(None)  # the built-in dozen


@pytest.fixture(scope="module")
def big_universe() -> list[SymbolInfo]:
    """The 50 symbols of the real snapshot, as ``aigupiao up`` runs them."""
    require_snapshot()
    return load_universe(REPO_SHARED)


def run_steps(sim: SimMarket, clock: ManualClock, seconds: int, step: float = 1.0) -> list[Quote]:
    quotes: list[Quote] = []
    for _ in range(int(seconds / step)):
        quotes.extend(sim.step())
        clock.advance(step)
    return quotes


def check_quote(quote: Quote) -> None:
    tick = quote.symbol.tick
    assert quote.limit_up is not None and quote.limit_down is not None
    for price in (quote.last, quote.open, quote.high, quote.low):
        assert isinstance(price, Decimal)
        assert price % tick == 0
        assert quote.limit_down <= price <= quote.limit_up
    assert quote.low <= quote.last <= quote.high
    assert quote.volume % 100 == 0
    assert isinstance(quote.amount, Decimal)
    for side in (quote.bids, quote.asks):
        assert len(side) <= 5
        for level in side:
            assert level.price % tick == 0
            assert quote.limit_down <= level.price <= quote.limit_up
            assert level.volume > 0 and level.volume % 100 == 0
    bid_prices = [level.price for level in quote.bids]
    ask_prices = [level.price for level in quote.asks]
    assert bid_prices == sorted(bid_prices, reverse=True)
    assert ask_prices == sorted(ask_prices)
    assert all(a - b == tick for a, b in itertools.pairwise(bid_prices))
    assert all(b - a == tick for a, b in itertools.pairwise(ask_prices))
    if bid_prices and ask_prices:
        assert ask_prices[0] - bid_prices[0] == tick
        assert bid_prices[0] <= quote.last <= ask_prices[0]
    if quote.last == quote.limit_up:
        assert quote.asks == ()
        assert quote.bids and quote.bids[0].price == quote.limit_up
    if quote.last == quote.limit_down:
        assert quote.bids == ()
        assert quote.asks and quote.asks[0].price == quote.limit_down


def test_deterministic_for_a_seed(big_universe: list[SymbolInfo]) -> None:
    def day_of(seed: int) -> list[Quote]:
        clock = ManualClock(at(9, 29, 50))
        return run_steps(SimMarket(big_universe, clock, seed=seed), clock, 60)

    first = day_of(7)
    assert first == day_of(7)
    assert first != day_of(8)


def test_every_quote_respects_tick_and_limits_all_day(big_universe: list[SymbolInfo]) -> None:
    clock = ManualClock(at(9, 15))
    sim = SimMarket(big_universe, clock)
    quotes = run_steps(sim, clock, 6 * 3600, step=10.0)  # 09:15 - 15:15
    assert sim.quotes_generated == len(quotes) > 0
    last_volume: dict[str, tuple[int, Decimal]] = {}
    for quote in quotes:
        check_quote(quote)
        volume, amount = last_volume.get(quote.symbol.full, (0, Decimal(0)))
        assert quote.volume >= volume and quote.amount >= amount
        last_volume[quote.symbol.full] = (quote.volume, quote.amount)
    assert any(q.last == q.limit_up for q in quotes), "a strong symbol should reach limit up"
    assert all(q.volume == 0 for q in quotes if q.ts.time() < time(9, 25))  # auction: no trades


def test_fund_ticks(universe: list[SymbolInfo]) -> None:
    from aigupiao.domain.symbols import parse_symbol

    etf = SymbolInfo(parse_symbol("sh510300"), "沪深300ETF", Decimal("4.123"))
    clock = ManualClock(at(9, 30))
    sim = SimMarket([etf, *universe], clock)
    quotes = [q for q in run_steps(sim, clock, 600, step=3.0) if q.symbol == etf.symbol]
    assert quotes
    for quote in quotes:
        check_quote(quote)
    assert any(q.last % Decimal("0.01") != 0 for q in quotes)


def test_weak_symbols_fall_below_five_percent_quickly(big_universe: list[SymbolInfo]) -> None:
    clock = ManualClock(at(9, 15))
    sim = SimMarket(big_universe, clock)
    run_steps(sim, clock, 15 * 60)  # through the opening auction to 09:30:00
    assert clock.now() == at(9, 30)
    weak = {full for full, mood in sim.moods().items() if mood is Mood.WEAK}
    strong = {full for full, mood in sim.moods().items() if mood in (Mood.STRONG, Mood.LIMIT_UP)}
    assert 0.08 <= len(weak) / len(big_universe) <= 0.10
    assert len(strong) >= 2
    assert not weak & ANCHORS
    opening = sim.step()
    for quote in opening:
        if quote.symbol.full in weak:
            assert Decimal("-0.05") < quote.change_pct < Decimal("-0.04")  # opens near -4.5%
    run_steps(sim, clock, 15)
    below = {full for full in weak if (q := sim.latest(full)) and q.change_pct < FIVE_PCT}
    assert below == weak
    later = run_steps(sim, clock, 3600, step=10.0)
    for quote in later:
        if quote.symbol.full in weak:
            assert Decimal("-0.09") < quote.change_pct < FIVE_PCT
        else:
            assert quote.change_pct > FIVE_PCT  # only the weak ones trigger the agent


def test_anchors_are_ordinary_on_the_first_day(big_universe: list[SymbolInfo]) -> None:
    for seed in (1, 7, 42):
        clock = ManualClock(at(9, 30))
        sim = SimMarket(big_universe, clock, seed=seed)
        quotes = run_steps(sim, clock, 4 * 3600, step=30.0)
        assert all(sim.moods()[full] is Mood.NORMAL for full in ANCHORS)
        for quote in quotes:
            if quote.symbol.full in ANCHORS:
                assert abs(quote.change_pct) < Decimal("0.05")


def test_no_quotes_outside_sessions(universe: list[SymbolInfo]) -> None:
    clock = ManualClock(at(9, 0))
    sim = SimMarket(universe, clock)
    for moment in (at(9, 0), at(9, 27), at(12, 0), at(11, 30), at(15, 0), at(20, 0)):
        clock.set(moment)
        assert sim.step() == []
    clock.set(datetime(2026, 3, 7, 10, 0, tzinfo=BEIJING))  # Saturday
    assert sim.step() == []
    assert sim.quotes_generated == 0
    assert sim.latest("sh600519") is None
    clock.set(at(9, 20))
    assert len(sim.step()) == len(universe)  # opening auction
    clock.set(at(14, 58))
    assert len(sim.step()) == len(universe)  # closing auction


def test_lunch_break_keeps_the_day(universe: list[SymbolInfo]) -> None:
    clock = ManualClock(at(11, 29, 50))
    sim = SimMarket(universe, clock)
    run_steps(sim, clock, 10)
    before = sim.latest("sh600519")
    assert before is not None
    clock.set(at(12, 15))
    assert sim.step() == []
    clock.set(at(13, 0))
    after = sim.step()[0]
    assert after.symbol.full == "sh600519"
    assert after.open == before.open
    assert after.volume >= before.volume


def test_new_day_rolls_over(universe: list[SymbolInfo]) -> None:
    clock = ManualClock(at(14, 50))
    sim = SimMarket(universe, clock)
    run_steps(sim, clock, 9 * 60, step=5.0)  # to 14:59
    closes = {info.symbol.full: sim.latest(info.symbol.full) for info in universe}
    assert sim.trading_date == DAY
    next_day = next_trading_day(DAY)
    clock.set(at(9, 30, day=next_day))
    quotes = {q.symbol.full: q for q in sim.step()}
    assert sim.trading_date == next_day
    for full, quote in quotes.items():
        close = closes[full]
        assert close is not None
        assert quote.previous_close == close.last
        assert quote.ts.date() == next_day
        assert quote.volume < close.volume
        assert abs(quote.open - quote.previous_close) / quote.previous_close < Decimal("0.05")
        check_quote(quote)


def test_skipping_days_uses_the_last_close(universe: list[SymbolInfo]) -> None:
    clock = ManualClock(at(10, 0))
    sim = SimMarket(universe, clock)
    run_steps(sim, clock, 30)
    close = sim.latest("sz000001")
    assert close is not None
    clock.set(at(10, 0) + timedelta(days=7))
    quote = next(q for q in sim.step() if q.symbol.full == "sz000001")
    assert quote.previous_close == close.last


async def test_run_publishes_batches_until_stopped(universe: list[SymbolInfo]) -> None:
    clock = ManualClock(at(10, 0))
    sim = SimMarket(universe, clock, interval=0.01)
    batches: list[list[Quote]] = []
    stop = asyncio.Event()

    def publish(batch: list[Quote]) -> None:
        batches.append(batch)
        clock.advance(1)
        if len(batches) == 5:
            stop.set()

    await asyncio.wait_for(sim.run(publish, stop), timeout=5)
    assert len(batches) == 5
    assert all(len(batch) == len(universe) for batch in batches)
    assert [batch[0].ts for batch in batches] == [at(10, 0, s) for s in range(5)]


async def test_run_publishes_nothing_when_closed(universe: list[SymbolInfo]) -> None:
    clock = ManualClock(at(12, 0))
    sim = SimMarket(universe, clock, interval=0.01)
    batches: list[list[Quote]] = []
    stop = asyncio.Event()
    task = asyncio.create_task(sim.run(batches.append, stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=1)
    assert batches == []


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SimMarket(list(FALLBACK_UNIVERSE), ManualClock(at(10, 0)), interval=0)


# -- the full market -------------------------------------------------------------------


@pytest.fixture(scope="module")
def market_sample() -> list[SymbolInfo]:
    """Every fifth stock of the whole snapshot (about 1,100: all boards, BSE and ST
    included), so the day's news and limit moves happen as in the full market."""
    require_snapshot()
    return full_market(REPO_SHARED)[::5]


def require_snapshot() -> None:
    """The real snapshot is needed: a failure under CI=true, a skip on a developer machine."""
    if not (REPO_SHARED / SPOT_FILE).is_file():
        if IN_CI:
            pytest.fail("the shared market snapshot is required in CI", pytrace=False)
        pytest.skip("the shared market snapshot is not available")


def run_day(sim: SimMarket, clock: ManualClock, step: float) -> list[Quote]:
    """From the clock's time to 15:01 in steps of ``step`` seconds."""
    quotes: list[Quote] = []
    end = datetime.combine(clock.today(), time(15, 1), BEIJING)
    while clock.now() <= end:
        quotes.extend(sim.step())
        clock.advance(step)
    return quotes


def test_a_whole_day_of_a_sampled_full_market(market_sample: list[SymbolInfo]) -> None:
    clock = ManualClock(at(9, 15))
    sim = SimMarket(market_sample, clock, seed=5)
    quotes = run_day(sim, clock, 60.0)
    assert sim.quotes_generated == len(quotes)
    by_symbol: dict[str, list[Quote]] = {}
    for quote in quotes:
        check_quote(quote)
        by_symbol.setdefault(quote.symbol.full, []).append(quote)
    assert len(by_symbol) == len(market_sample)
    for series in by_symbol.values():
        volumes = [q.volume for q in series]
        assert volumes == sorted(volumes)
        assert [q.amount for q in series] == sorted(q.amount for q in series)
    moods = sim.moods()
    assert Counter(moods.values()).keys() == set(Mood)
    closes = {full: series[-1] for full, series in by_symbol.items()}
    assert all(q.ts == at(15, 0) for q in closes.values())
    # Limit-up symbols end sealed: bids piled at the limit, no one selling.
    for full, mood in moods.items():
        close = closes[full]
        if mood is Mood.LIMIT_UP:
            assert close.last == close.limit_up and close.asks == ()
            assert close.bids[0].volume > 10 * max(level.volume for level in close.bids[1:])
        if mood is Mood.LIMIT_DOWN:
            assert close.last == close.limit_down and close.bids == ()
    # News: a jump of at least 3% from one minute to the next, in the middle of the day.
    for full, mood in moods.items():
        if mood is Mood.NEWS:
            series = [q for q in by_symbol[full] if time(9, 30) <= q.ts.time() < time(14, 57)]
            jumps = [abs(b.last - a.last) / a.previous_close for a, b in pairwise(series)]
            assert max(jumps) >= Decimal("0.03")
    # Limits by board, ST flag and date (main-board ST: 5% until 2026-07-05).
    bse = [q for q in closes.values() if q.symbol.board is Board.BSE]
    main = (Board.SH_MAIN, Board.SZ_MAIN)
    st = [info for info in market_sample if info.is_st and info.symbol.board in main]
    assert bse and st
    for quote in bse:  # BSE cuts its limits toward the previous close (REFERENCE.md)
        up = (quote.previous_close * Decimal("1.3")).quantize(tick(quote), rounding=ROUND_FLOOR)
        assert quote.limit_up == up
    for info in st:
        first = by_symbol[info.symbol.full][0]
        assert (first.limit_up, first.limit_down) == price_limits(
            info.symbol, info.previous_close, DAY, is_st=True
        )
        assert first.limit_up == round_half_up(info.previous_close * Decimal("1.05"), tick(first))


def tick(quote: Quote) -> Decimal:
    return quote.symbol.tick


def test_the_opening_and_closing_call_auctions(market_sample: list[SymbolInfo]) -> None:
    universe = market_sample[:200]
    clock = ManualClock(at(9, 15))
    sim = SimMarket(universe, clock, seed=2)
    indicative = run_steps(sim, clock, 600, step=30.0)  # 09:15 - 09:24:30
    assert len(indicative) == 20 * len(universe)
    assert all(q.volume == 0 and q.amount == 0 for q in indicative)
    clock.set(at(9, 25))
    opening = sim.step()  # the opening match, once
    assert len(opening) == len(universe)
    for quote in opening:
        check_quote(quote)
        assert quote.ts == at(9, 25)
        assert quote.open == quote.last == quote.high == quote.low
        assert quote.volume > 0 and quote.amount == quote.open * quote.volume
    for moment in (at(9, 25, 3), at(9, 27), at(9, 29, 59)):
        clock.set(moment)
        assert sim.step() == []  # nothing matches until 09:30
    clock.set(at(9, 30))
    first = {q.symbol.full: q for q in sim.step()}
    for quote in opening:
        assert first[quote.symbol.full].open == quote.open
        assert first[quote.symbol.full].volume >= quote.volume
    clock.set(at(14, 58))
    before = {q.symbol.full: q for q in sim.step()}  # closing auction: indicative
    clock.set(at(14, 59, 59))
    auction = {q.symbol.full: q for q in sim.step()}
    for full, quote in auction.items():
        assert quote.volume == before[full].volume  # nothing trades in the auction
    clock.set(at(15, 0))
    closing = sim.step()
    assert len(closing) == len(universe)
    for quote in closing:
        check_quote(quote)
        assert quote.ts == at(15, 0)
        assert quote.last == auction[quote.symbol.full].last  # the indicative price matched
        assert quote.volume > auction[quote.symbol.full].volume  # with the auction's volume
    clock.set(at(15, 0, 30))
    assert sim.step() == []
    # The next day starts from the closing price.
    clock.set(at(9, 15, day=next_trading_day(DAY)))
    for quote in sim.step():
        assert quote.previous_close == sim_close(closing, quote.symbol.full)


def sim_close(quotes: list[Quote], full: str) -> Decimal:
    return next(q.last for q in quotes if q.symbol.full == full)


async def test_the_paper_broker_matches_both_auctions_on_the_sim(
    universe: list[SymbolInfo],
) -> None:
    clock = ManualClock(at(9, 15))
    sim = SimMarket(universe, clock, seed=4)
    broker = PaperBroker("acct", Decimal(10_000_000), clock, sim.latest)

    def feed() -> None:
        for quote in sim.step():
            broker.on_quote(quote)

    feed()
    pingan = parse_symbol("sz000001")
    limit_up = sim.latest(pingan.full).limit_up  # type: ignore[union-attr]
    order = OrderRequest("acct", pingan, Side.BUY, OrderType.LIMIT, 1000, limit_up, "open-1")
    await broker.place_order(order)
    clock.set(at(9, 25))
    feed()
    opened = sim.latest(pingan.full)
    assert opened is not None and opened.ts == at(9, 25)
    (filled,) = await broker.get_trades()
    assert (filled.price, filled.quantity) == (opened.open, 1000)
    clock.set(at(14, 58))
    feed()
    closing_order = dataclasses.replace(order, quantity=500, client_order_id="close-1")
    await broker.place_order(closing_order)
    clock.set(at(15, 0))
    feed()
    close = sim.latest(pingan.full)
    assert close is not None and close.ts == at(15, 0)
    trades = await broker.get_trades()
    assert [(t.price, t.quantity) for t in trades[1:]] == [(close.last, 500)]


def test_same_seed_and_clock_times_give_identical_quotes_on_the_full_market(
    shared_dir: Path,
) -> None:
    moments = [at(9, 20), at(9, 25), at(9, 30), at(9, 30, 3), at(10, 45), at(14, 58), at(15, 0)]
    market = full_market(shared_dir)

    def replay(seed: int) -> list[Quote]:
        clock = ManualClock(moments[0])
        sim = SimMarket(market, clock, seed=seed)
        quotes: list[Quote] = []
        for moment in moments:
            clock.set(moment)
            quotes.extend(sim.step())
        return quotes

    first = replay(11)
    assert len(first) == len(moments) * len(market)
    assert first == replay(11)
    assert first != replay(12)


def test_a_faster_than_real_time_clock(universe: list[SymbolInfo]) -> None:
    def day_at_speed() -> list[Quote]:
        ticks = iter(range(10_000))
        clock = TradingDayClock(at(9, 15), speed=60.0, real_time=lambda: float(next(ticks)))
        sim = SimMarket(universe, clock, seed=9)
        return [quote for _ in range(200) for quote in sim.step()]  # 200 real seconds

    quotes = day_at_speed()
    assert quotes == day_at_speed()
    times = sorted({q.ts for q in quotes})
    assert times[0] == at(9, 16)  # a minute of market time per real second
    assert times[-1] == at(14, 5)  # the lunch break passes in an instant
    assert next(q.ts for q in quotes if q.volume > 0) == at(9, 25)  # the opening print


async def test_run_counts_what_it_publishes(universe: list[SymbolInfo]) -> None:
    clock = ManualClock(at(10, 0))
    sim = SimMarket(universe, clock, interval=0.01)
    assert sim.name == "sim" and sim.stats.published == 0
    stop = asyncio.Event()
    batches: list[list[Quote]] = []

    def publish(batch: list[Quote]) -> None:
        batches.append(batch)
        clock.advance(3)
        if len(batches) == 3:
            stop.set()

    await asyncio.wait_for(sim.run(publish, stop), timeout=5)
    assert sim.stats.published == 3 * len(universe) == sim.quotes_generated


def test_full_market_speed(shared_dir: Path) -> None:
    """Snapshots of 5,500 symbols a second, every 3 s of market time (the real snapshot,
    padded with a few clones), over 10 minutes of trading, on one core. Run with ``-s``
    to see the rate; the floor only catches a gross regression (about 170,000/s on the
    shared development machine)."""
    market = full_market(shared_dir)
    taken = {info.symbol.full for info in market}
    unused = (code for code in (f"sz00{n:04d}" for n in range(10_000)) if code not in taken)
    clones = [
        SymbolInfo(parse_symbol(code), "模拟", Decimal("10.00"))
        for code in itertools.islice(unused, 5500 - len(market))
    ]
    universe = market + clones
    assert len(universe) == 5500
    clock = ManualClock(at(9, 30))
    sim = SimMarket(universe, clock, seed=1)
    sim.step()
    steps = 200
    started = time_module.process_time()
    for _ in range(steps):
        clock.advance(3)
        sim.step()
    rate = steps * len(universe) / (time_module.process_time() - started)
    assert sim.quotes_generated == (steps + 1) * 5500
    print(f"\nsim: {len(universe)} symbols, {rate:,.0f} quotes/s")
    assert rate > 30_000


def test_the_embedded_clock_reaches_the_closing_match(universe: list[SymbolInfo]) -> None:
    """``aigupiao up`` runs the simulator on a TradingDayClock: stepping every 3 seconds
    across the close, the 15:00 closing snapshot appears before the next day begins."""
    real = [0.0]
    clock = TradingDayClock(at(14, 59, 30), real_time=lambda: real[0])
    sim = SimMarket(universe, clock)
    stamps: list[datetime] = []
    while clock.now().date() == DAY:
        stamps.extend(quote.ts for quote in sim.step())
        real[0] += 3
    closing = [ts for ts in stamps if ts.time() == time(15, 0)]
    assert len(closing) == len(universe)  # one closing match per symbol, once
    assert max(stamps) == at(15, 0)  # nothing after the close
