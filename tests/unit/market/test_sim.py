import asyncio
import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.core.clock import BEIJING, ManualClock
from aigupiao.domain.market import Quote
from aigupiao.domain.sessions import next_trading_day
from aigupiao.market.sim import ANCHORS, Mood, SimMarket
from aigupiao.market.universe import FALLBACK_UNIVERSE, SPOT_FILE, SymbolInfo, load_universe

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
    if not (REPO_SHARED / SPOT_FILE).is_file():
        pytest.skip("the shared market snapshot is not available")
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
