"""A simulated Level-1 market: the default feed of the embedded mode.

Any number of symbols, up to the whole market (:func:`~.universe.full_market`),
each starting from its real previous close. A trading day goes like this:

* **09:15-09:25, opening call auction**: indicative snapshots (the price the
  auction would match at, no volume).
* **09:25, the opening match**: the first step in 09:25-09:30 publishes one
  snapshot per symbol with ``open`` set and the auction's volume (about 1.5% of
  the day's). Nothing else is published until 09:30. A clock that skips that
  window (or a day that starts later) gets the match folded into the first
  continuous snapshot, whose ``open`` and volume carry it.
* **Continuous trading**: each symbol follows its mood (below) plus a
  mean-reverting wiggle; volume comes in a U shape over the day, scaled by the
  symbol's real turnover; the book has five levels a side, one tick apart.
* **14:57-15:00, closing call auction**: the last trade stands; ``last`` shows
  the indicative closing price; no volume.
* **15:00, the closing match**: the first step at or after 15:00 on the same day
  publishes one snapshot per symbol with the closing price and the auction's
  volume (the :class:`~aigupiao.core.clock.TradingDayClock` runs a quiet minute past
  15:00 for it). A clock that passes straight from the closing auction to the next
  day sees no such snapshot: the next day starts from the last indicative closing price.

Moods, drawn each day: most symbols are *normal* (they wander from an opening
gap to a closing change, never beyond +-4.8%); about 9% are *weak* (they open
near -4.5% and slide to -6..-8% within ten seconds of continuous trading, so the
default agent rule, "buy below -5%", has something to do); 6% are *strong*, and
about 1% of the market rises to its limit up and stays sealed there (bids piled
at the limit, no asks). In markets of a hundred symbols or more, about 0.5%
get *news*: at a random moment the price jumps several percent, and a third of
those fall to limit down and stay sealed (no bids). The :data:`ANCHORS` are
always normal so manual tests and demos trade them at normal prices.

Prices are limited by the security's facts and the date (board, fund limits, special
treatment, new listings: :func:`~aigupiao.domain.securities.limit_prices`), on the tick
(0.001 for funds), and volumes are whole lots. The simulation is deterministic: the same
seed and the same sequence of clock times give the same quotes. Internally
prices are integer counts of ticks and amounts integer tick-shares; ``Decimal``
objects are made only when a value changes (and shared between symbols), and book
levels are kept by price and reused when the price comes back: a full market of
5,500 symbols runs at about 170,000 snapshots a second on one core
(``test_full_market_speed`` in ``tests/unit/market/test_sim.py`` measures it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from statistics import NormalDist

from aigupiao.core.clock import Clock
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.securities import facts_for, limit_fractions_of, limit_prices
from aigupiao.domain.sessions import BEIJING, QUOTING_PHASES, Phase, phase_at
from aigupiao.domain.symbols import Board, Symbol

from .feeds.base import FeedStats, Publish
from .universe import SymbolInfo

ANCHORS = frozenset({"sh600519", "sz000001"})
WEAK_SHARE = 0.09
STRONG_SHARE = 0.06
LIMIT_UP_SHARE = 0.01  # of the market; taken from the strong symbols
NEWS_SHARE = 0.005
DEPTH = 5
NORMAL_FLOOR = -0.048  # ordinary symbols never trade below this change
NORMAL_CEILING = 0.048  # ... nor above this one
DEFAULT_AMOUNT = 2e8  # CNY a day for a symbol whose turnover is unknown
_LEVEL_NOTIONAL = 3e5  # CNY on a book level of a stock trading 1e8 CNY a day (grows as ^0.4)
MARKET_CLOSE = time(15, 0)

_ACTIVE_PHASES = QUOTING_PHASES | {Phase.PRE_OPEN}
_CONTINUOUS_DAY_SECONDS = 4 * 3600 - 180
_WIGGLE_PERSISTENCE = 0.95  # per second: the wiggle forgets in about 20 s
_WIGGLE_STATIONARY = 1 / math.sqrt(1 - _WIGGLE_PERSISTENCE**2)
_NO_EVENT = math.inf
_WINDOW_PAD = 8  # ticks of book kept ready beyond the five visible levels
_RESTING_SIZE = 4000  # levels a book remembers (a fast mover's day can visit more)
_CHURN = 0.3  # chance that the volume at the touch changes between two snapshots
# Quotes handed to ``publish`` at a time by :meth:`SimMarket.run`: a full market's
# subscribers (validator, bars, agent state, stream) take some 15 us a quote, so one
# piece holds the loop for a few ms, not 80.
PUBLISH_CHUNK = 500
_PRICE_CACHE_SIZE = 500_000  # prices kept per tick size
# Normal deviates by table lookup (a quarter of the cost of random.gauss, tails cut at 3.5).
_NORMAL_BITS = 12
_NORMAL_STEPS = 1 << _NORMAL_BITS
_NORMALS = tuple(NormalDist().inv_cdf((i + 0.5) / _NORMAL_STEPS) for i in range(_NORMAL_STEPS))


def _intensity(elapsed: float) -> float:
    """Relative trading intensity in continuous trading: busy after the open and
    before the close (mean 1 over the day)."""
    t = _CONTINUOUS_DAY_SECONDS
    raw = 0.7 + 2.0 * math.exp(-elapsed / 900) + 1.2 * math.exp(-(t - elapsed) / 900)
    return raw / _INTENSITY_MEAN


_INTENSITY_MEAN = 0.7 + 3.2 * 900 * (1 - math.exp(-_CONTINUOUS_DAY_SECONDS / 900)) / (
    _CONTINUOUS_DAY_SECONDS
)


class Mood(StrEnum):
    WEAK = "weak"
    NORMAL = "normal"
    STRONG = "strong"
    LIMIT_UP = "limit_up"  # a strong symbol that rises to its limit and stays sealed there
    NEWS = "news"  # jumps several percent, up or down, at a random moment
    LIMIT_DOWN = "limit_down"  # bad news: falls to its limit down and stays sealed there


@dataclass(slots=True, eq=False)
class _Book:
    """One symbol's state for the current trading day; prices in ticks."""

    info: SymbolInfo
    symbol: Symbol
    name: str
    mood: Mood
    rand: Callable[[], float]
    bits: Callable[[int], int]  # the same generator's getrandbits: normals by table lookup
    exponent: int  # of the tick: prices are Decimal(ticks).scaleb(exponent)
    prices: dict[int, Decimal]  # Decimal prices by ticks, shared by the symbols of a tick size
    previous_close: Decimal
    base: float  # previous close in ticks
    up: int  # limit up in ticks (no limit: far away)
    down: int
    limit_up: Decimal | None
    limit_down: Decimal | None
    gap: float  # opening change from the previous close, as a fraction
    target: float  # change the day heads for
    inv_ramp: float  # 1 / seconds to get from gap to target in a straight line; 0: a random walk
    walk_sd: float  # the random walk's noise per sqrt(second)
    wiggle_sd: float  # stationary size of the mean-reverting wiggle
    floor: float
    ceiling: float
    jump_at: float  # continuous-trading second of the news (inf: none)
    jump: float  # change added from then on
    lots_rate: float  # lots a second on an average minute
    depth_lots: float  # lots on a typical book level
    last_t: int
    last: Decimal
    open: Decimal  # these three are set by the opening match
    high: Decimal
    low: Decimal
    walk: float = 0.0
    wiggle: float = 0.0
    at_ask: bool = False  # the last trade took the ask (the price went up)
    traded: bool = False  # the opening match has happened
    high_t: int = 0
    low_t: int = 0
    volume: int = 0
    amount: Decimal = Decimal(0)
    close_t: int = 0  # the indicative closing price (0: no closing auction seen)
    resting: dict[int, Level] = field(default_factory=dict)  # the book's levels by ticks
    window: tuple[Level, ...] = ()  # levels near the touch, from window_lo up, one a tick
    window_desc: tuple[Level, ...] = ()  # the same, from the top down
    window_lo: int = 0
    best_bid: int = -1  # of the levels shown (-1: none yet)
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    sealed: tuple[Level, ...] = ()  # the side piled up at a limit, while sealed there
    quote: Quote | None = None  # the last one published (carried over to the next day)


class SimMarket:
    """Level-1 snapshots for ``universe`` at the times ``clock`` says.

    Args:
        universe: the symbols to quote.
        clock: the source of simulated time (a ``TradingDayClock`` in the embedded mode).
        seed: picks the day's moods and news and every random move.
        interval: real seconds between snapshots in :meth:`run`.
    """

    name = "sim"

    def __init__(
        self, universe: Sequence[SymbolInfo], clock: Clock, *, seed: int = 7, interval: float = 1.0
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.universe = list(universe)
        self.clock = clock
        self.seed = seed
        self.interval = interval
        self.stats = FeedStats()
        self.quotes_generated = 0
        self._day: date | None = None
        self._books: list[_Book] = []
        self._by_code: dict[str, _Book] = {}
        self._sigmas = {info.symbol.full: self._base_sigma(info) for info in self.universe}
        self._prices: dict[int, dict[int, Decimal]] = {}  # see _price
        self._elapsed = 0.0  # continuous-trading seconds simulated today
        self._auction_seen = False  # a step fell in today's opening auction
        self._opened = False
        self._closing_seen = False  # a step fell in today's closing auction
        self._closed = False

    @property
    def trading_date(self) -> date | None:
        """The day being simulated (None before the first snapshot)."""
        return self._day

    def latest(self, symbol_full: str) -> Quote | None:
        """The last snapshot published for a symbol (None before its first)."""
        book = self._by_code.get(symbol_full)
        return book.quote if book is not None else None

    def moods(self) -> dict[str, Mood]:
        """Each symbol's mood for the current day."""
        return {full: book.mood for full, book in self._by_code.items()}

    def step(self) -> list[Quote]:
        """The snapshots due at ``clock.now()`` (see the module docstring); often empty
        outside trading.

        A full-market step makes some 15,000 objects that live until the next step. The
        cyclic garbage collector would run about 25 times during it and find nothing
        to free (reference counting frees all of it), promoting every quote on the
        way, which at 5,500 symbols costs a third of the time; so it is paused for
        the step and runs, once, after it.
        """
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            return self._step()
        finally:
            if paused:
                gc.enable()

    def _step(self) -> list[Quote]:
        now = self.clock.now().astimezone(BEIJING)
        phase = phase_at(now)
        day = now.date()
        quotes: list[Quote] = []
        if day == self._day and self._opened and not self._closed and now.time() >= MARKET_CLOSE:
            quotes = self._close(now)
        if phase in _ACTIVE_PHASES:
            if day != self._day:
                self._start_day(day)
            quotes.extend(self._session(phase, now))
        self.quotes_generated += len(quotes)
        return quotes

    async def run(self, publish: Publish, stop: asyncio.Event) -> None:
        """Publish a snapshot batch every ``interval`` seconds until ``stop`` is set.

        Steps are scheduled on the loop clock (no drift); if a step runs late the
        missed ones are skipped rather than bunched up.

        A full-market step is 40-100 ms of pure Python. Run on the loop, it would hold
        every request, fill and heartbeat for that long each second; so it runs on a
        worker thread (the interpreter hands the loop thread its turn every few ms) and
        only the publishing, which feeds the loop's own subscribers, runs on the loop, in
        pieces of :data:`PUBLISH_CHUNK` quotes with the loop free in between. Nothing
        else writes the books, and readers (:meth:`latest`, :meth:`moods`) only see
        references that are replaced whole.
        """
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not stop.is_set():
            batch = await asyncio.to_thread(self.step)
            for start in range(0, len(batch), PUBLISH_CHUNK):
                if start:
                    await asyncio.sleep(0)
                piece = batch[start : start + PUBLISH_CHUNK]
                self.stats.published += len(piece)
                publish(piece)
            due += self.interval
            delay = due - loop.time()
            if delay <= 0:
                due = loop.time()
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    # -- the day -----------------------------------------------------------------

    def _session(self, phase: Phase, now: datetime) -> list[Quote]:
        if phase is Phase.OPENING_AUCTION:
            self._auction_seen = True
            return [self._indicative_open(book, now) for book in self._books]
        if phase is Phase.PRE_OPEN:
            if self._opened or not self._auction_seen:
                return []
            self._open()
            return [self._quote(book, now) for book in self._books]
        if not self._opened:
            self._open()
        if phase is Phase.CONTINUOUS:
            return self._continuous(now, _continuous_seconds(now.time()))
        if self._elapsed < _CONTINUOUS_DAY_SECONDS:  # trade up to 14:57 first
            self._continuous(now, _CONTINUOUS_DAY_SECONDS)
        self._closing_seen = True
        return [self._indicative_close(book, now) for book in self._books]

    def _start_day(self, day: date) -> None:
        moods = self._pick_moods(day)
        news = self._pick_news(day, moods)
        books: list[_Book] = []
        for info in self.universe:
            full = info.symbol.full
            old = self._by_code.get(full)
            if old is not None and old.traded:  # at the closing auction's price if it was seen
                previous_close = _price(old, old.close_t) if old.close_t else old.last
            else:
                previous_close = old.previous_close if old is not None else info.previous_close
            book = self._new_book(info, previous_close, day, mood=moods.get(full, Mood.NORMAL),
                                  news=news.get(full))  # fmt: skip
            book.quote = old.quote if old is not None else None
            books.append(book)
        self._books = books
        self._by_code = {book.symbol.full: book for book in books}
        self._day = day
        self._elapsed = 0.0
        self._auction_seen = self._opened = self._closing_seen = self._closed = False

    def _pick_moods(self, day: date) -> dict[str, Mood]:
        """Choose the day's weak and strong symbols (never an anchor or an ST stock)."""
        rng = random.Random(f"{self.seed}:moods:{day.isoformat()}")
        candidates = sorted(
            info.symbol.full
            for info in self.universe
            if info.symbol.is_stock and not info.is_st and info.symbol.full not in ANCHORS
        )
        size = len(self.universe)
        weak_count = min(len(candidates), max(1, round(size * WEAK_SHARE)))
        chosen = rng.sample(candidates, weak_count)
        taken = set(chosen)
        rest = [full for full in candidates if full not in taken]
        strong = rng.sample(rest, min(len(rest), max(1, round(size * STRONG_SHARE))))
        moods = {full: Mood.WEAK for full in chosen} | {full: Mood.STRONG for full in strong}
        if len(strong) > 1:
            for full in strong[: max(1, round(size * LIMIT_UP_SHARE))]:
                moods[full] = Mood.LIMIT_UP
        return moods

    def _pick_news(self, day: date, moods: dict[str, Mood]) -> dict[str, tuple[float, float]]:
        """The day's news: (continuous-trading second, change it adds) by symbol."""
        count = round(len(self.universe) * NEWS_SHARE)
        if count == 0:
            return {}
        rng = random.Random(f"{self.seed}:news:{day.isoformat()}")
        candidates = sorted(
            info.symbol.full
            for info in self.universe
            if info.symbol.is_stock and info.symbol.full not in ANCHORS | moods.keys()
        )
        events: dict[str, tuple[float, float]] = {}
        for n, full in enumerate(rng.sample(candidates, min(count, len(candidates)))):
            moment = rng.uniform(900.0, _CONTINUOUS_DAY_SECONDS - 1800.0)
            if n % 3 == 0:
                events[full] = (moment, -1.0)  # to limit down, whatever the board's limit
            else:
                events[full] = (moment, rng.choice((-1, 1)) * rng.uniform(0.03, 0.08))
        return events

    def _new_book(
        self,
        info: SymbolInfo,
        previous_close: Decimal,
        day: date,
        mood: Mood,
        news: tuple[float, float] | None,
    ) -> _Book:
        symbol = info.symbol
        full = symbol.full
        facts = facts_for(symbol).seen_as(info.name, day)  # limits from the security's facts
        rng = random.Random(f"{self.seed}:{full}:{day.isoformat()}")
        sigma = self._sigmas[full]
        growth = 1.3 if symbol.board in (Board.CHINEXT, Board.STAR, Board.BSE) else 1.0
        inv_ramp, wiggle = 0.0, sigma * _WIGGLE_STATIONARY
        floor, ceiling, busy = NORMAL_FLOOR, NORMAL_CEILING, 1.0
        jump_at, jump = _NO_EVENT, 0.0
        if mood is Mood.WEAK:
            gap, target = rng.uniform(-0.048, -0.042), rng.uniform(-0.08, -0.06)
            inv_ramp, wiggle, floor, busy = 1 / rng.uniform(8.0, 12.0), wiggle / 3, -1.0, 2.5
        elif mood is Mood.STRONG:
            gap, target = rng.uniform(0.01, 0.03), rng.uniform(0.04, 0.09)
            inv_ramp, ceiling, busy = 1 / rng.uniform(60.0, 600.0), 1.0, 2.0
        elif mood is Mood.LIMIT_UP:
            fractions = limit_fractions_of(facts, day)
            pct = fractions[0] if fractions is not None else Decimal("0.1")
            gap, target = rng.uniform(0.02, 0.05), float(pct) + 0.02
            inv_ramp, ceiling, busy = 1 / rng.uniform(300.0, 1800.0), 1.0, 2.0
        else:
            gap = max(-0.02, min(0.02, rng.gauss(0.0, 0.006)))
            target = max(-0.035, min(0.04, gap + rng.gauss(0.0, 0.012)))
            wiggle /= 2
        if news is not None:
            jump_at, jump = news
            mood = Mood.LIMIT_DOWN if jump <= -1.0 else Mood.NEWS
            floor, ceiling, busy = -1.0, 1.0, 3.0
        tick = symbol.tick
        exponent = int(tick.as_tuple().exponent)
        base = int(previous_close / tick)
        limits = limit_prices(facts, previous_close, day)
        amount = float(info.amount) if info.amount > 0 else DEFAULT_AMOUNT
        price = float(previous_close)
        day_lots = amount / price / 100 * math.exp(rng.gauss(0.0, 0.3)) * busy
        return _Book(
            info=info,
            symbol=symbol,
            name=info.name,
            mood=mood,
            rand=rng.random,
            bits=rng.getrandbits,
            exponent=exponent,
            prices=self._prices.setdefault(exponent, {}),
            previous_close=previous_close,
            base=float(base),
            up=int(limits[0] / tick) if limits else base * 10,
            down=int(limits[1] / tick) if limits else 1,
            limit_up=limits[0] if limits else None,
            limit_down=limits[1] if limits else None,
            gap=gap,
            target=target,
            inv_ramp=inv_ramp,
            walk_sd=rng.uniform(0.006, 0.014) * growth / math.sqrt(_CONTINUOUS_DAY_SECONDS),
            wiggle_sd=wiggle,
            floor=floor,
            ceiling=ceiling,
            jump_at=jump_at,
            jump=jump,
            lots_rate=day_lots / _CONTINUOUS_DAY_SECONDS,
            depth_lots=max(1.0, _LEVEL_NOTIONAL * (amount / 1e8) ** 0.4 / price / 100),
            last_t=base,
            last=previous_close,
            open=previous_close,
            high=previous_close,
            low=previous_close,
        )

    def _base_sigma(self, info: SymbolInfo) -> float:
        """Size of a symbol's short-term noise, the same every day."""
        rng = random.Random(f"{self.seed}:{info.symbol.full}")
        growth = info.symbol.board in (Board.CHINEXT, Board.STAR)
        return rng.uniform(0.0004, 0.0009) * (1.5 if growth else 1.0)

    # -- the auctions -------------------------------------------------------------

    def _indicative_open(self, book: _Book, now: datetime) -> Quote:
        """An indicative price near the opening gap; nothing trades until 09:25."""
        book.wiggle = book.wiggle * 0.5 + book.wiggle_sd * 0.1 * _normal(book)
        ticks = _clamp(int(book.base * (1.0 + book.gap + book.wiggle) + 0.5), book)
        self._set_last(book, ticks)
        price = book.last
        bids, asks = self._levels(book)
        book.quote = quote = Quote(book.symbol, book.name, now, price, book.previous_close,
                                   price, price, price, 0, Decimal(0), bids, asks,
                                   book.limit_up, book.limit_down)  # fmt: skip
        return quote

    def _open(self) -> None:
        """The opening match: every symbol opens at its gap with the auction's volume."""
        for book in self._books:
            ticks = _clamp(int(book.base * (1.0 + book.gap) + 0.5), book)
            self._set_last(book, ticks)
            book.open = book.high = book.low = book.last
            book.high_t = book.low_t = ticks
            book.traded = True
            book.walk, book.wiggle = book.gap, 0.0
            lots = book.lots_rate * _CONTINUOUS_DAY_SECONDS * (0.008 + 0.017 * book.rand())
            self._trade(book, max(1, int(lots)))
        self._opened = True
        self._elapsed = 0.0

    def _indicative_close(self, book: _Book, now: datetime) -> Quote:
        """The last trade stands; ``last`` shows where the closing auction would match."""
        ticks = book.last_t
        if book.down < ticks < book.up:  # a sealed limit stays sealed
            # The indicative price wanders a few ticks (about 0.08%) around the last trade.
            drift = book.wiggle if book.close_t else 0.0
            book.wiggle = drift * 0.8 + 0.6 * max(1.0, book.base * 0.0008) * _normal(book)
            ticks = _clamp(ticks + round(book.wiggle), book)
        book.close_t = ticks
        price = _price(book, ticks)
        bids, asks = self._levels(book, ticks)
        high = book.high if ticks <= book.high_t else price
        low = book.low if ticks >= book.low_t else price
        book.quote = quote = Quote(book.symbol, book.name, now, price, book.previous_close,
                                   book.open, high, low, book.volume, book.amount,
                                   bids, asks, book.limit_up, book.limit_down)  # fmt: skip
        return quote

    def _close(self, when: datetime) -> list[Quote]:
        """The closing match: one snapshot per symbol at the closing price, with the
        auction's volume."""
        if not self._closing_seen:
            if self._elapsed < _CONTINUOUS_DAY_SECONDS:
                self._continuous(when, _CONTINUOUS_DAY_SECONDS)
            for book in self._books:
                self._indicative_close(book, when)
        quotes = []
        for book in self._books:
            self._set_last(book, book.close_t or book.last_t)
            lots = book.lots_rate * _CONTINUOUS_DAY_SECONDS * (0.03 + 0.04 * book.rand())
            self._trade(book, max(1, int(lots)))
            quotes.append(self._quote(book, when))
        self._closed = True
        return quotes

    # -- continuous trading --------------------------------------------------------

    def _continuous(self, now: datetime, elapsed: float) -> list[Quote]:
        """One snapshot per symbol at ``elapsed`` seconds of continuous trading.

        The hot path of a full market, so it is written for speed: one pass, local
        names, values shared by every symbol computed once.
        """
        start = self._elapsed
        dt = max(0.0, elapsed - start)
        self._elapsed = start + dt
        decay = _WIGGLE_PERSISTENCE**dt
        wiggle_step = math.sqrt(1.0 - decay * decay)
        remaining = _CONTINUOUS_DAY_SECONDS - start
        pull = dt / remaining if remaining > dt else 1.0
        walk_step = math.sqrt(dt * (remaining - dt) / remaining) if remaining > dt else 0.0
        flow = _intensity(self._elapsed) * dt
        normals = _NORMALS
        rebuild, churn, sealed = self._rebuild, self._churn, self._sealed
        at = self._elapsed
        quotes: list[Quote] = []
        append = quotes.append
        for book in self._books:
            rand = book.rand
            if book.inv_ramp:
                progress = at * book.inv_ramp
                if progress >= 1.0:
                    change = book.target
                else:
                    change = book.gap + (book.target - book.gap) * progress
            else:
                noise = normals[book.bits(_NORMAL_BITS)]
                book.walk += (book.target - book.walk) * pull + book.walk_sd * walk_step * noise
                change = book.walk
            noise = normals[book.bits(_NORMAL_BITS)]
            book.wiggle = book.wiggle * decay + book.wiggle_sd * wiggle_step * noise
            change += book.wiggle
            if at >= book.jump_at:
                change += book.jump
            if change < book.floor:
                change = book.floor
            elif change > book.ceiling:
                change = book.ceiling
            ticks = int(book.base * (1.0 + change) + 0.5)
            if book.down < ticks < book.up:
                lots = int(book.lots_rate * flow * (0.2 + 1.6 * rand()) + 0.5)
            else:  # at a limit: sealed, little trades
                ticks = book.up if ticks >= book.up else book.down
                lots = int(book.lots_rate * flow * 0.3 * rand() + 0.5)
            last_t = book.last_t
            if ticks != last_t:
                book.at_ask = ticks > last_t
                book.last_t = ticks
                price = book.prices.get(ticks)
                if price is None:
                    price = _price(book, ticks)
                book.last = price
                if ticks > book.high_t:
                    book.high_t, book.high = ticks, price
                elif ticks < book.low_t:
                    book.low_t, book.low = ticks, price
                if lots < 1:
                    lots = 1  # the last price only moves with a trade
            if lots:
                shares = lots * 100
                book.volume += shares
                book.amount += book.last * shares
            if book.down < ticks < book.up:  # the common case of _levels, inline
                best_bid = ticks - 1 if book.at_ask else ticks
                if best_bid != book.best_bid:
                    rebuild(book, best_bid)
                draw = rand()
                if draw < _CHURN:
                    churn(book, draw)
                bids, asks = book.bids, book.asks
            else:
                bids, asks = sealed(book, ticks >= book.up)
            book.quote = quote = Quote(book.symbol, book.name, now, book.last,
                                       book.previous_close, book.open, book.high, book.low,
                                       book.volume, book.amount, bids, asks,
                                       book.limit_up, book.limit_down)  # fmt: skip
            append(quote)
        return quotes

    # -- shared pieces ---------------------------------------------------------------

    @staticmethod
    def _set_last(book: _Book, ticks: int) -> None:
        if ticks != book.last_t:
            book.at_ask = ticks > book.last_t
            book.last_t, book.last = ticks, _price(book, ticks)

    @staticmethod
    def _trade(book: _Book, lots: int) -> None:
        """``lots`` trade at the last price."""
        ticks, shares = book.last_t, lots * 100
        book.volume += shares
        book.amount += book.last * shares
        if ticks > book.high_t:
            book.high_t, book.high = ticks, book.last
        if ticks < book.low_t:
            book.low_t, book.low = ticks, book.last

    def _quote(self, book: _Book, now: datetime) -> Quote:
        bids, asks = self._levels(book)
        book.quote = quote = Quote(book.symbol, book.name, now, book.last, book.previous_close,
                                   book.open, book.high, book.low, book.volume, book.amount,
                                   bids, asks, book.limit_up, book.limit_down)  # fmt: skip
        return quote

    def _levels(self, book: _Book, ticks: int = 0) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """Five levels a side, one tick apart, around ``ticks`` (default: the last price).

        The last price sits at the best ask after a rise and at the best bid after a
        fall. At a price limit the book is sealed: the far side is empty and the near
        side is piled up at the limit. Between snapshots orders come and go at the
        touch; deeper levels stay as they were while their price stays in the book.
        """
        ticks = ticks or book.last_t
        if ticks >= book.up or ticks <= book.down:
            return self._sealed(book, ticks >= book.up)
        best_bid = ticks - 1 if book.at_ask else ticks
        if best_bid != book.best_bid:
            self._rebuild(book, best_bid)
        churn = book.rand()
        if churn < _CHURN:
            self._churn(book, churn)
        return book.bids, book.asks

    @staticmethod
    def _rebuild(book: _Book, best_bid: int) -> None:
        """Show the levels around a new best bid, from the book's window of levels."""
        low = best_bid - DEPTH + 1
        if low < book.down:
            low = book.down
        high = best_bid + DEPTH
        if high > book.up:
            high = book.up
        origin, window = book.window_lo, book.window
        if low < origin or high >= origin + len(window):
            # Move the window. Orders rest where they were: a level the price comes
            # back to is the one it left (until the book forgets, see _RESTING_SIZE).
            near = origin - _WINDOW_PAD <= best_bid < origin + len(window) + _WINDOW_PAD
            pad = _WINDOW_PAD if near else 0  # a fast mover: just what is shown
            start = max(book.down, low - pad)
            stop = min(book.up, high + pad) + 1
            resting = book.resting
            if len(resting) > _RESTING_SIZE:
                resting.clear()
            get = resting.get
            window = book.window = tuple(
                [get(price) or _new_level(book, price) for price in range(start, stop)]
            )
            origin = book.window_lo = start
            book.window_desc = window[::-1]
        top = origin + len(window) - 1
        book.bids = book.window_desc[top - best_bid : top - low + 1]
        book.asks = window[best_bid + 1 - origin : high - origin + 1]
        book.best_bid = best_bid

    @staticmethod
    def _churn(book: _Book, draw: float) -> None:
        """Orders come and go at the touch: a new volume on the best bid or ask (for
        this snapshot; the book's level there is what returns when the price does)."""
        if draw < _CHURN / 2:
            bids = book.bids
            book.bids = (Level(bids[0].price, _lots(book) * 100), *bids[1:])
        elif book.asks:
            asks = book.asks
            book.asks = (Level(asks[0].price, _lots(book) * 100), *asks[1:])

    def _sealed(self, book: _Book, up: bool) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        book.best_bid = -1  # the open book is shown afresh when the seal breaks
        if not book.sealed or book.rand() < 0.05:  # the pile at the limit grows and shrinks
            limit = book.up if up else book.down
            step = -1 if up else 1
            wall_lots = int(book.depth_lots * (30 + 30 * book.rand())) + 1
            wall = Level(_price(book, limit), wall_lots * 100)
            rest = (
                Level(_price(book, limit + step * i), _lots(book) * 100)
                for i in range(1, DEPTH)
                if book.down <= limit + step * i <= book.up
            )
            book.sealed = (wall, *rest)
        return (book.sealed, ()) if up else ((), book.sealed)


def _new_level(book: _Book, ticks: int) -> Level:
    level = book.resting[ticks] = Level(_price(book, ticks), _lots(book) * 100)
    return level


def _lots(book: _Book) -> int:
    """Lots resting on one book level."""
    return max(1, int(book.depth_lots * (0.2 + 1.8 * book.rand())))


def _normal(book: _Book) -> float:
    return _NORMALS[book.bits(_NORMAL_BITS)]


def _price(book: _Book, ticks: int) -> Decimal:
    """A price in ticks as a Decimal; made once, then shared (Decimals are immutable)."""
    price = book.prices.get(ticks)
    if price is None:
        if len(book.prices) > _PRICE_CACHE_SIZE:
            book.prices.clear()
        price = book.prices[ticks] = Decimal(ticks).scaleb(book.exponent)
    return price


def _clamp(ticks: int, book: _Book) -> int:
    return max(book.down, min(book.up, ticks))


def _continuous_seconds(moment: time) -> float:
    """Seconds of continuous trading before ``moment`` on its day."""

    def since(start: time) -> float:
        return (
            (moment.hour - start.hour) * 3600
            + (moment.minute - start.minute) * 60
            + (moment.second - start.second)
            + moment.microsecond / 1e6
        )

    if moment < time(9, 30):
        return 0.0
    if moment < time(11, 30):
        return since(time(9, 30))
    if moment < time(13, 0):
        return 7200.0
    if moment < time(14, 57):
        return 7200.0 + since(time(13, 0))
    return float(_CONTINUOUS_DAY_SECONDS)
