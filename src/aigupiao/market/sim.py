"""A simulated Level-1 market: the default feed of the embedded mode.

Every symbol follows a random walk around a daily path: the day opens with a
random gap from the previous close and trends toward a random target change.
Each day a few symbols are *weak* (they open near -4.5% and slide to -6..-8%
within about ten seconds of continuous trading, so the default agent rule,
"buy below -5%", has something to do), a few are *strong*, and one of those
rises to its limit up and stays sealed there; the
:data:`ANCHORS` are always ordinary so manual tests and demos trade them at
normal prices.

The simulation is pure and deterministic: the same seed and the same sequence
of clock times give the same quotes. Prices live as integer counts of ticks,
so every price is on the tick and within the day's limits; floats appear only
as random draws and never as prices or money.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from aigupiao.core.clock import Clock
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.sessions import Phase, phase_at
from aigupiao.domain.symbols import Board, limit_pct, price_limits

from .universe import SymbolInfo

QUOTING_PHASES = frozenset({Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_AUCTION})
ANCHORS = frozenset({"sh600519", "sz000001"})
WEAK_SHARE = 0.09
STRONG_SHARE = 0.06
DEPTH = 5
LEVEL_NOTIONAL = Decimal(400_000)  # CNY resting on a typical book level
NORMAL_FLOOR = -0.048  # ordinary symbols never trade below this change
_NOISE_PERSISTENCE = 0.95
_CONTINUOUS_DAY_SECONDS = 4 * 3600 - 180


class Mood(StrEnum):
    WEAK = "weak"
    NORMAL = "normal"
    STRONG = "strong"
    LIMIT_UP = "limit_up"  # a strong symbol that rises to its limit and stays sealed there


@dataclass(slots=True)
class _Book:
    """One symbol's state for the current trading day."""

    info: SymbolInfo
    previous_close: Decimal
    limit_up: Decimal | None
    limit_down: Decimal | None
    rng: random.Random
    mood: Mood
    gap: float  # opening change from the previous close, as a fraction
    target: float  # change the day trends to
    ramp_seconds: float  # continuous-trading seconds to get from gap to target
    sigma: float  # per-step noise
    lot_scale: int  # lots on a typical book level
    last: Decimal
    deviation: float = 0.0
    open: Decimal | None = None  # set at the first traded price of the day
    high: Decimal | None = None
    low: Decimal | None = None
    volume: int = 0
    amount: Decimal = Decimal(0)


class SimMarket:
    """Level-1 snapshots for ``universe`` at the times ``clock`` says.

    Args:
        universe: the symbols to quote.
        clock: the source of simulated time (a ``TradingDayClock`` in the embedded mode).
        seed: picks the day's weak and strong symbols and every random move.
        interval: real seconds between snapshots in :meth:`run`.
    """

    def __init__(
        self, universe: Sequence[SymbolInfo], clock: Clock, *, seed: int = 7, interval: float = 1.0
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.universe = list(universe)
        self.clock = clock
        self.seed = seed
        self.interval = interval
        self.quotes_generated = 0
        self._day: date | None = None
        self._books: dict[str, _Book] = {}
        self._latest: dict[str, Quote] = {}
        self._sigmas = {info.symbol.full: self._base_sigma(info) for info in self.universe}

    @property
    def trading_date(self) -> date | None:
        """The day being simulated (None before the first snapshot)."""
        return self._day

    def latest(self, symbol_full: str) -> Quote | None:
        return self._latest.get(symbol_full)

    def moods(self) -> dict[str, Mood]:
        """Each symbol's mood for the current day."""
        return {full: book.mood for full, book in self._books.items()}

    def step(self) -> list[Quote]:
        """One snapshot per symbol at ``clock.now()``; empty outside the quoting phases."""
        now = self.clock.now()
        phase = phase_at(now)
        if phase not in QUOTING_PHASES:
            return []
        if now.date() != self._day:
            self._start_day(now.date())
        elapsed = _continuous_seconds(now.time())
        quotes = [self._advance(book, phase, now, elapsed) for book in self._books.values()]
        for quote in quotes:
            self._latest[quote.symbol.full] = quote
        self.quotes_generated += len(quotes)
        return quotes

    async def run(self, publish: Callable[[list[Quote]], None], stop: asyncio.Event) -> None:
        """Publish a snapshot batch every ``interval`` seconds until ``stop`` is set.

        Steps are scheduled on the loop clock (no drift); if a step runs late the
        missed ones are skipped rather than bunched up.
        """
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not stop.is_set():
            batch = self.step()
            if batch:
                publish(batch)
            due += self.interval
            delay = due - loop.time()
            if delay <= 0:
                due = loop.time()
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    # -- the day -----------------------------------------------------------------

    def _start_day(self, day: date) -> None:
        moods = self._pick_moods(day)
        books: dict[str, _Book] = {}
        for info in self.universe:
            full = info.symbol.full
            old = self._books.get(full)
            if old is not None and old.open is not None:
                previous_close = old.last
            else:
                previous_close = old.previous_close if old is not None else info.previous_close
            books[full] = self._new_book(info, previous_close, day, moods.get(full, Mood.NORMAL))
        self._books = books
        self._day = day

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
        rest = [full for full in candidates if full not in chosen]
        strong = rng.sample(rest, min(len(rest), max(1, round(size * STRONG_SHARE))))
        moods = {full: Mood.WEAK for full in chosen} | {full: Mood.STRONG for full in strong}
        if len(strong) > 1:
            moods[strong[0]] = Mood.LIMIT_UP
        return moods

    def _new_book(self, info: SymbolInfo, previous_close: Decimal, day: date, mood: Mood) -> _Book:
        full = info.symbol.full
        rng = random.Random(f"{self.seed}:{full}:{day.isoformat()}")
        sigma = self._sigmas[full]
        if mood is Mood.WEAK:
            gap, target = rng.uniform(-0.048, -0.042), rng.uniform(-0.08, -0.06)
            ramp, sigma = rng.uniform(8.0, 12.0), sigma / 3
        elif mood is Mood.STRONG:
            gap, target = rng.uniform(0.01, 0.03), rng.uniform(0.04, 0.09)
            ramp = rng.uniform(60.0, 600.0)
        elif mood is Mood.LIMIT_UP:
            pct = limit_pct(info.symbol, day, is_st=info.is_st) or Decimal("0.1")
            gap, target = rng.uniform(0.02, 0.05), float(pct) + 0.02
            ramp = rng.uniform(300.0, 1800.0)
        else:
            gap = max(-0.02, min(0.02, rng.gauss(0.0, 0.006)))
            target = max(-0.035, min(0.04, gap + rng.gauss(0.0, 0.012)))
            ramp = float(_CONTINUOUS_DAY_SECONDS)
        limits = price_limits(info.symbol, previous_close, day, is_st=info.is_st)
        return _Book(
            info=info,
            previous_close=previous_close,
            limit_up=limits[0] if limits else None,
            limit_down=limits[1] if limits else None,
            rng=rng,
            mood=mood,
            gap=gap,
            target=target,
            ramp_seconds=ramp,
            sigma=sigma,
            lot_scale=max(1, int(LEVEL_NOTIONAL / (previous_close * 100))),
            last=previous_close,
        )

    def _base_sigma(self, info: SymbolInfo) -> float:
        """Per-step noise of a symbol, the same every day."""
        rng = random.Random(f"{self.seed}:{info.symbol.full}")
        growth = info.symbol.board in (Board.CHINEXT, Board.STAR)
        return rng.uniform(0.0004, 0.0009) * (1.5 if growth else 1.0)

    # -- one snapshot -------------------------------------------------------------

    def _advance(self, book: _Book, phase: Phase, now: datetime, elapsed: float) -> Quote:
        rng = book.rng
        if phase is Phase.OPENING_AUCTION:
            # An indicative price near the gap; nothing trades until the open.
            book.deviation = book.deviation * 0.5 + rng.gauss(0.0, book.sigma / 4)
            book.last = self._price(book, book.gap + book.deviation)
            return self._quote(book, now, indicative=True)
        if book.open is None:
            # The opening match: the first traded price of the day, with its volume.
            book.open = book.high = book.low = book.last = self._price(book, book.gap)
            self._trade(book, book.lot_scale * rng.randint(3, 10))
        if phase is Phase.CONTINUOUS:
            book.deviation = book.deviation * _NOISE_PERSISTENCE + rng.gauss(0.0, book.sigma)
            progress = min(1.0, elapsed / book.ramp_seconds)
            change = book.gap + (book.target - book.gap) * progress + book.deviation
            if book.mood is not Mood.WEAK:
                change = max(change, NORMAL_FLOOR)
            price = self._price(book, change)
            busy = 1 if book.mood is Mood.NORMAL else 2
            lots = round(book.lot_scale * busy * rng.uniform(0.0, 1.6))
            if price != book.last:
                lots = max(1, lots)  # the last price only moves with a trade
            book.last = price
            self._trade(book, lots)
        # In the closing auction the last price stands until the close.
        return self._quote(book, now, indicative=False)

    def _price(self, book: _Book, change: float) -> Decimal:
        """The on-tick price ``change`` away from the previous close, within the limits."""
        tick = book.info.symbol.tick
        ticks = round(int(book.previous_close / tick) * (1.0 + change))
        if book.limit_up is not None and book.limit_down is not None:
            ticks = max(int(book.limit_down / tick), min(int(book.limit_up / tick), ticks))
        return tick * max(1, ticks)

    def _trade(self, book: _Book, lots: int) -> None:
        if lots <= 0:
            return
        shares = lots * 100
        book.volume += shares
        book.amount += book.last * shares
        book.high = max(book.high or book.last, book.last)
        book.low = min(book.low or book.last, book.last)

    def _quote(self, book: _Book, now: datetime, *, indicative: bool) -> Quote:
        bids, asks = self._levels(book)
        last = book.last
        return Quote(
            symbol=book.info.symbol,
            name=book.info.name,
            ts=now,
            last=last,
            previous_close=book.previous_close,
            open=last if indicative or book.open is None else book.open,
            high=last if indicative or book.high is None else book.high,
            low=last if indicative or book.low is None else book.low,
            volume=0 if indicative else book.volume,
            amount=Decimal(0) if indicative else book.amount,
            bids=bids,
            asks=asks,
            limit_up=book.limit_up,
            limit_down=book.limit_down,
        )

    def _levels(self, book: _Book) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """Five levels a side, one tick apart; a side is empty at its price limit."""
        tick, last, rng = book.info.symbol.tick, book.last, book.rng
        at_up = book.limit_up is not None and last >= book.limit_up
        at_down = book.limit_down is not None and last <= book.limit_down
        if at_up or (not at_down and rng.random() < 0.5):
            best_bid, best_ask = last, last + tick
        else:
            best_bid, best_ask = last - tick, last
        bid_prices = [best_bid - i * tick for i in range(DEPTH)]
        ask_prices = [best_ask + i * tick for i in range(DEPTH)]
        bids = tuple(
            Level(price, self._depth(book, sealed=at_up and i == 0))
            for i, price in enumerate(bid_prices)
            if not at_down and price > 0 and (book.limit_down is None or price >= book.limit_down)
        )
        asks = tuple(
            Level(price, self._depth(book, sealed=at_down and i == 0))
            for i, price in enumerate(ask_prices)
            if not at_up and (book.limit_up is None or price <= book.limit_up)
        )
        return bids, asks

    @staticmethod
    def _depth(book: _Book, *, sealed: bool) -> int:
        """Shares on one level, whole lots; a sealed limit level carries a wall of orders."""
        lots = max(1, round(book.lot_scale * book.rng.uniform(0.2, 2.0)))
        return lots * 100 * (20 if sealed else 1)


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
