"""The market as strategies see it: one slot per symbol, numpy arrays across the market.

:class:`MarketState` keeps, per symbol slot,

* the latest quote: :meth:`MarketState.on_quotes` writes ``last``, ``previous_close``,
  the cumulative ``volume`` and the quote's date of a whole batch in one vectorised step,
  O(1) per quote, and keeps the quote itself; ``open``, ``high``, ``low`` and ``amount``
  are read from the kept quotes when first asked for after a batch; the day's
  ``limit_up`` / ``limit_down`` come from the quote or the board's rule;
* the latest ``keep_bars`` completed daily bars in a ring, the daily indicators
  registered with :meth:`MarketState.series` (each O(1) per bar, see :mod:`.series`),
  and the candlestick patterns of the latest bar (:meth:`MarketState.patterns`);
* per-day facts the stock filter needs: ST flag (from the name, or given), listing
  day number, board, whether the symbol is a stock.

**Who feeds it** (the agent runner): ``add_symbol`` with what is known about each
symbol (listing date, ST, float shares), ``load_history`` once per symbol at start,
``on_quotes`` with every quote batch, and ``close_day`` after the close (15:00). A
quote of a later day than any seen closes the previous day by itself (its quotes
become daily bars) if ``close_day`` was not called. ``on_daily_bar`` takes daily
bars from elsewhere (a bar store); a day already closed for a symbol is not added
twice.

**Strategies** only read: the public arrays are read-only views of the filled slots,
indexed by slot (``codes[slot]``, ``slot(code)``). Registering an indicator with
``series`` is the one call a strategy makes that changes the state; it is idempotent
and replays the kept bars.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Self, TypeVar, overload

import numpy as np
import numpy.typing as npt

from aigupiao.domain.market import Bar, Quote
from aigupiao.domain.securities import facts_for
from aigupiao.domain.sessions import next_trading_day
from aigupiao.domain.symbols import Board, Symbol, is_st_name, limit_fractions

from .indicators import FloatArray, session_minutes
from .patterns import BoolArray, PatternParams, detect, flags
from .series import FIELDS, DailySeries, SeriesKey

IntArray = npt.NDArray[np.int64]
A = TypeVar("A", bound=npt.NDArray[Any])
NAN = math.nan
NOT_NEW = 1_000_000  # listing day number of a symbol listed long ago (or not known to be new)
_NEW_LISTING_HORIZON = 400  # calendar days after which a listing is counted as old


class _Column(Generic[A]):
    """A read-only view of one per-slot array of a :class:`MarketState` (filled slots only)."""

    def __init__(self, kind: str, doc: str = "") -> None:
        self._kind = kind
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, state: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, state: MarketState, owner: type | None = None) -> A: ...

    def __get__(self, state: MarketState | None, owner: type | None = None) -> Self | A:
        if state is None:
            return self
        if self._kind == "quoted":
            return state._from_quotes(self._name)  # type: ignore[return-value]
        arrays: dict[str, A] = getattr(state, f"_{self._kind}")
        view: A = arrays[self._name][: state.size]  # type: ignore[assignment]
        view.flags.writeable = False
        return view


class MarketState:
    """Quotes, daily bars and indicators of a whole market; see the module docstring."""

    def __init__(self, *, keep_bars: int = 150, capacity: int = 256) -> None:
        if keep_bars < 20:
            raise ValueError("keep_bars must be at least 20")
        self.keep = keep_bars
        self.size = 0
        self.version = 0  # bumped by every quote batch: live values are cached per version
        self.bars_version = 0  # bumped by every completed bar
        self.day: date | None = None  # the latest trading day quoted
        self.codes: list[str] = []
        self.symbols: list[Symbol] = []
        self.names: list[str] = []
        self._slots: dict[str, int] = {}
        self._listed_on: list[date | None] = []
        self._st_given: list[bool | None] = []
        self._quotes: list[Quote | None] = []
        self._capacity = 0
        self._floats: dict[str, FloatArray] = {}
        self._ints: dict[str, IntArray] = {}
        self._bools: dict[str, BoolArray] = {}
        self._ring: dict[str, npt.NDArray[np.float64]] = {}
        self._series: dict[SeriesKey, DailySeries] = {}
        self._cache: dict[object, npt.NDArray[Any]] = {}
        self._cache_version = (-1, -1)
        self._bars_cache: dict[object, npt.NDArray[Any]] = {}
        self._bars_cache_version = -1
        self._fractions: dict[
            tuple[Board, bool, date | None, date, Decimal | None], tuple[Decimal, Decimal] | None
        ]
        self._fractions = {}
        self._grow(capacity)

    # -- symbols -----------------------------------------------------------------------

    def add_symbol(
        self,
        symbol: Symbol,
        name: str = "",
        *,
        listed_on: date | None = None,
        is_st: bool | None = None,
        float_shares: int | None = None,
    ) -> int:
        """The slot of ``symbol``, created if new; the facts given replace the old ones."""
        slot = self._slots.get(symbol.full)
        if slot is None:
            if self.size == self._capacity:
                self._grow(self._capacity * 2)
            slot = self.size
            self.size += 1
            self._slots[symbol.full] = slot
            self.codes.append(symbol.full)
            self.symbols.append(symbol)
            self.names.append(name)
            self._listed_on.append(listed_on)
            self._st_given.append(is_st)
            self._quotes.append(None)
            self._bools["is_stock"][slot] = symbol.is_stock
            self._bools["is_bse"][slot] = symbol.board is Board.BSE
            self._floats["tick"][slot] = float(symbol.tick)
        else:
            if name:
                self.names[slot] = name
            if listed_on is not None:
                self._listed_on[slot] = listed_on
            if is_st is not None:
                self._st_given[slot] = is_st
        if float_shares is not None:
            self._floats["float_shares"][slot] = float(float_shares)
        self._day_rules(slot)
        self._cache.clear()
        return slot

    def slot(self, code: str) -> int | None:
        return self._slots.get(code)

    def __len__(self) -> int:
        return self.size

    def __contains__(self, code: object) -> bool:
        return code in self._slots

    # -- quotes ------------------------------------------------------------------------

    def on_quotes(self, quotes: Iterable[Quote]) -> None:
        """Take a batch of quotes (any symbols, any order; the last of a symbol wins)."""
        batch = quotes if isinstance(quotes, list) else list(quotes)
        if not batch:
            return
        get = self._slots.get
        slots = [get(q.symbol.full, -1) for q in batch]
        if -1 in slots:
            for i, quote in enumerate(batch):
                if slots[i] < 0:
                    slots[i] = self.add_symbol(quote.symbol, quote.name)
        days = []
        stamp, ordinal = None, 0
        for quote in batch:
            if quote.ts is not stamp:
                stamp = quote.ts
                ordinal = stamp.toordinal()
            days.append(ordinal)
        newest = max(days)
        if self.day is None or newest > self.day.toordinal():
            self.start_day(date.fromordinal(newest))
        idx = np.array(slots, dtype=np.intp)
        count = len(batch)
        floats = self._floats

        def column(values: list[Decimal]) -> FloatArray:
            return np.fromiter(map(float, values), np.float64, count)

        floats["last"][idx] = column([q.last for q in batch])
        floats["previous_close"][idx] = column([q.previous_close for q in batch])
        # open, high, low and amount are read from the stored quotes when asked for (few
        # strategies need them; the day's bar does at the close)
        floats["volume"][idx] = np.fromiter([q.volume for q in batch], np.float64, count)
        self._ints["quote_day"][idx] = days
        stored = self._quotes
        for slot, quote in zip(slots, batch, strict=True):
            stored[slot] = quote
        changed = idx[floats["previous_close"][idx] != floats["limit_base"][idx]]
        if changed.size:
            self._refresh_limits(changed)
        self.version += 1

    def on_quote(self, quote: Quote) -> None:
        self.on_quotes([quote])

    def quote(self, code: str) -> Quote | None:
        slot = self._slots.get(code)
        return None if slot is None else self._quotes[slot]

    def quote_at(self, slot: int) -> Quote | None:
        return self._quotes[slot]

    @property
    def quotes(self) -> Mapping[str, Quote]:
        """The latest quote per code (a live, read-only view)."""
        return _QuoteView(self)

    # -- days and daily bars -------------------------------------------------------------

    def start_day(self, day: date) -> None:
        """Move to trading day ``day``: the previous day is closed first (its quotes
        become daily bars where ``close_day`` was not called)."""
        if self.day is not None and day > self.day:
            self.close_day(self.day)
        self.day = day
        self._fractions.clear()
        for slot in range(self.size):
            self._day_rules(slot)
        self._floats["limit_base"][:] = NAN  # limits are recomputed from the next quotes
        self._cache.clear()

    def close_day(self, day: date | None = None) -> int:
        """Turn ``day``'s last quotes (default: the latest day) into completed daily bars
        for every symbol that traded that day; returns how many bars were added."""
        day = day or self.day
        if day is None:
            return 0
        ordinal = day.toordinal()
        size = self.size
        f = self._floats
        traded = (
            (self._ints["quote_day"][:size] == ordinal)
            & (self._ints["bar_day"][:size] < ordinal)
            & (f["volume"][:size] > 0)
            & (f["last"][:size] > 0)
        )
        slots = np.flatnonzero(traded)
        columns = {"open": self.open, "high": self.high, "low": self.low, "close": self.last,
                   "volume": self.volume, "amount": self.amount}  # fmt: skip
        for slot in slots.tolist():
            self._append(slot, [ordinal], {k: [float(v[slot])] for k, v in columns.items()})
        return int(slots.size)

    def on_daily_bar(self, bar: Bar) -> None:
        """Add one completed daily bar (ignored if that day is already closed)."""
        self.load_history(bar.symbol, [bar])

    def load_history(self, symbol: Symbol, bars: Sequence[Bar], *, name: str = "") -> int:
        """Add completed daily bars of ``symbol``, oldest first; bars of days already
        closed are skipped. Returns how many were added."""
        days = [bar.end.toordinal() for bar in bars]
        columns = {
            "open": [float(bar.open) for bar in bars],
            "high": [float(bar.high) for bar in bars],
            "low": [float(bar.low) for bar in bars],
            "close": [float(bar.close) for bar in bars],
            "volume": [float(bar.volume) for bar in bars],
            "amount": [float(bar.amount) for bar in bars],
        }
        return self.load_history_columns(symbol, days, columns, name=name)

    def load_history_columns(
        self,
        symbol: Symbol,
        days: Sequence[int],
        columns: Mapping[str, Sequence[float]],
        *,
        name: str = "",
    ) -> int:
        """:meth:`load_history` from plain columns: ``days`` as date ordinals, one list
        per field of :data:`~.series.FIELDS` (volume in shares, amount in CNY)."""
        slot = self.add_symbol(symbol, name)
        last = int(self._ints["bar_day"][slot])
        start = next((i for i, day in enumerate(days) if day > last), len(days))
        if any(b <= a for a, b in zip(days[start:], days[start + 1 :], strict=False)):
            raise ValueError(f"{symbol}: daily bars must be in date order without repeats")
        if start == len(days):
            return 0
        self._append(slot, days[start:], {name: columns[name][start:] for name in FIELDS})
        return len(days) - start

    def _append(
        self, slot: int, days: Sequence[int], columns: Mapping[str, Sequence[float]]
    ) -> None:
        count = len(days)
        total = int(self._ints["bar_count"][slot])
        keep = self.keep
        kept = min(count, keep)
        positions = (np.arange(total + count - kept, total + count)) % keep
        for name in FIELDS:
            self._ring[name][slot, positions] = columns[name][count - kept :]
        self._ints["bar_count"][slot] = total + count
        self._ints["bar_day"][slot] = days[-1]
        for key, series in self._series.items():
            series.push(slot, columns[key.field])
        self.bars_version += 1

    def recent_bars(self, slot: int, count: int) -> dict[str, FloatArray]:
        """The latest ``count`` completed bars of a slot, oldest first (fewer if fewer kept)."""
        total = int(self._ints["bar_count"][slot])
        count = min(count, total, self.keep)
        positions = np.arange(total - count, total) % self.keep
        return {name: self._ring[name][slot, positions].copy() for name in FIELDS}

    def series(self, kind: str, period: int, field: str = "close") -> DailySeries:
        """The daily indicator ``kind`` (``sma``, ``ema``, ``rsi``, ``max``, ``min``) of
        ``period`` bars of ``field``, created on first use from the kept bars."""
        key = SeriesKey(kind, period, field)
        series = self._series.get(key)
        if series is None:
            series = DailySeries(key, self._capacity)
            for slot in range(self.size):
                bars = self.recent_bars(slot, self.keep)
                series.push(slot, bars[field].tolist())
            self._series[key] = series
        return series

    def patterns(self, params: PatternParams = PatternParams()) -> IntArray:
        """Bit sets (:attr:`~.patterns.Pattern.bit`) of the candlestick patterns ending on
        each slot's latest completed bar (whose date is ``bar_day``)."""

        def compute() -> IntArray:
            window = params.window
            size = self.size
            total = self._ints["bar_count"][:size]
            absolute = total[:, None] - window + np.arange(window)[None, :]
            valid = absolute >= np.maximum(total - self.keep, 0)[:, None]
            positions = absolute % self.keep
            rows = np.arange(size)[:, None]
            o, h, low, c = (
                np.where(valid, self._ring[name][rows, positions], NAN)
                for name in ("open", "high", "low", "close")
            )
            return flags(detect(o, h, low, c, params))

        return self.memo(("patterns", params), compute, bars_only=True)

    # -- what strategies read (read-only views of the filled slots) ---------------------------

    last = _Column[FloatArray]("floats")
    previous_close = _Column[FloatArray]("floats")
    open = _Column[FloatArray]("quoted")
    high = _Column[FloatArray]("quoted")
    low = _Column[FloatArray]("quoted")
    volume = _Column[FloatArray]("floats", "today's cumulative volume in shares")
    amount = _Column[FloatArray]("quoted", "today's cumulative turnover (成交额) in CNY")
    limit_up = _Column[FloatArray]("floats", "today's limit up (nan: no limit)")
    limit_down = _Column[FloatArray]("floats", "today's limit down (nan: no limit)")
    tick = _Column[FloatArray]("floats")
    quote_day = _Column[IntArray]("ints", "date ordinal of the latest quote (0: none)")
    bar_day = _Column[IntArray]("ints", "date ordinal of the latest daily bar (0: none)")
    bar_count = _Column[IntArray]("ints", "daily bars seen")
    listing_day = _Column[IntArray](
        "ints", "trading day of the listing today is (1: listing day; NOT_NEW: long ago)"
    )
    is_stock = _Column[BoolArray]("bools", "not a fund or an index")
    is_bse = _Column[BoolArray]("bools")
    is_st = _Column[BoolArray]("bools")

    def fresh(self, day: date) -> BoolArray:
        """Slots whose latest quote is from ``day``."""
        return np.asarray(self._ints["quote_day"][: self.size] == day.toordinal())

    def change(self) -> FloatArray:
        """Change from the previous close as a fraction (nan without a previous close)."""

        def compute() -> FloatArray:
            last, close = self.last, self.previous_close
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(close > 0, last / close - 1.0, NAN)

        return self.memo("change", compute)

    def memo(self, key: object, compute: Callable[[], A], *, bars_only: bool = False) -> A:
        """``compute()``, cached until the next quote batch or bar (for values derived
        from the whole market that several strategies use; the result is read-only).
        ``bars_only``: the value depends on completed bars only and survives quotes."""
        if bars_only:
            if self._bars_cache_version != self.bars_version:
                self._bars_cache = {}
                self._bars_cache_version = self.bars_version
            cache = self._bars_cache
        else:
            self._cached(None)
            cache = self._cache
        found = cache.get(key)
        if found is None:
            found = compute()
            found.flags.writeable = False
            cache[key] = found
        return found  # type: ignore[return-value]

    def turnover_rate(self) -> FloatArray:
        """换手率: today's volume over the float shares given to ``add_symbol`` (nan if not)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = self._floats["float_shares"][: self.size]
            return np.where(shares > 0, self.volume / shares, NAN)

    def volume_ratio(self, now: datetime, days: int = 5) -> FloatArray:
        """量比: today's volume per trading minute so far over the average daily volume
        of the last ``days`` completed bars per minute (nan before 09:30 or without
        history)."""
        minutes = session_minutes(now)
        if minutes <= 0:
            return np.full(self.size, NAN)
        average = self.series("sma", days, "volume").value(self.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(average > 0, (self.volume / minutes) / (average / 240.0), NAN)

    # -- internals -------------------------------------------------------------------------

    def _from_quotes(self, name: str) -> FloatArray:
        """A field of each slot's latest quote (nan without one), made when first asked
        for after a batch."""

        def compute() -> FloatArray:
            values = (
                NAN if quote is None else float(getattr(quote, name))
                for quote in self._quotes[: self.size]
            )
            return np.fromiter(values, np.float64, self.size)

        return self.memo(("quoted", name), compute)

    def _cached(self, key: object) -> npt.NDArray[Any] | None:
        if self._cache_version != (self.version, self.bars_version):
            self._cache.clear()
            self._cache_version = (self.version, self.bars_version)
        return self._cache.get(key)

    def _grow(self, capacity: int) -> None:
        floats = ("last", "previous_close", "volume",
                  "limit_up", "limit_down", "limit_base", "limit_up_pct", "limit_down_pct",
                  "tick", "float_shares")  # fmt: skip
        ints = ("quote_day", "bar_day", "bar_count", "listing_day")
        bools = ("is_stock", "is_bse", "is_st")
        old = self._capacity
        for name in floats:
            self._floats[name] = _resized(self._floats.get(name), capacity, NAN)
        for name in ints:
            self._ints[name] = _resized(self._ints.get(name), capacity, 0)
        for name in bools:
            self._bools[name] = _resized(self._bools.get(name), capacity, False)
        for name in FIELDS:
            ring = np.full((capacity, self.keep), NAN)
            if name in self._ring:
                ring[:old] = self._ring[name]
            self._ring[name] = ring
        for series in self._series.values():
            series.grow(capacity)
        self._capacity = capacity

    def _day_rules(self, slot: int) -> None:
        """Facts that hold for the whole trading day: ST, listing day, price-limit rules;
        from the security facts in use (:mod:`aigupiao.domain.securities`) where
        :meth:`add_symbol` was not told them, and the name (fresher than any table)."""
        symbol, name = self.symbols[slot], self.names[slot]
        facts = facts_for(symbol)
        if self._listed_on[slot] is not None:
            facts = replace(facts, listed_on=self._listed_on[slot])
        day = self.day
        if day is not None:
            facts = facts.seen_as(name, day)
        given = self._st_given[slot]
        if given is not None:
            is_st = given
        else:
            is_st = is_st_name(name) if name else facts.special is not None
        self._bools["is_st"][slot] = is_st
        listed_on = facts.listed_on
        number = NOT_NEW
        if day is not None and listed_on is not None:
            number = _listing_day_number(listed_on, day)
        elif len(name) > 1 and not name[1].isascii() and name[0] in "NC":
            number = 1 if name[0] == "N" else 2  # exchange naming of the first days
        self._ints["listing_day"][slot] = number
        fractions = None
        if day is not None:
            recent = listed_on if number < NOT_NEW else None
            ratio = facts.ratio_on(day)
            key = (symbol.board, is_st, recent, day, ratio)
            if key not in self._fractions:
                self._fractions[key] = limit_fractions(
                    symbol, day, is_st=is_st, listed_on=recent, ratio=ratio
                )
            fractions = self._fractions[key]
        self._floats["limit_up_pct"][slot] = NAN if fractions is None else float(fractions[0])
        self._floats["limit_down_pct"][slot] = NAN if fractions is None else float(fractions[1])

    def _refresh_limits(self, slots: npt.NDArray[np.intp]) -> None:
        """Limit prices from the quotes that carry them, else from the security's rule
        (:func:`~aigupiao.domain.symbols.price_limits`: rounded half up to the tick, on
        BSE toward the previous close)."""
        f = self._floats
        base = f["previous_close"][slots]
        tick = f["tick"][slots]
        raw_up = base * (1 + f["limit_up_pct"][slots]) / tick
        raw_down = base * (1 - f["limit_down_pct"][slots]) / tick
        bse = self._bools["is_bse"][slots]
        up = np.where(bse, np.floor(raw_up + 1e-9), np.floor(raw_up + 0.5 + 1e-9)) * tick
        down = np.where(bse, np.ceil(raw_down - 1e-9), np.floor(raw_down + 0.5 + 1e-9)) * tick
        up = np.where(up - base < tick - 1e-9, base + tick, up)
        down = np.maximum(np.where(base - down < tick - 1e-9, base - tick, down), tick)
        for i, slot in enumerate(slots.tolist()):
            quote = self._quotes[slot]
            if quote is not None and quote.no_limit:
                up[i] = down[i] = NAN
            elif quote is not None and quote.limit_up is not None and quote.limit_down is not None:
                up[i], down[i] = float(quote.limit_up), float(quote.limit_down)
        f["limit_up"][slots] = up
        f["limit_down"][slots] = down
        f["limit_base"][slots] = base


def _listing_day_number(listed_on: date, day: date) -> int:
    if listed_on > day:
        return 0
    if (day - listed_on).days > _NEW_LISTING_HORIZON:
        return NOT_NEW
    number, current = 1, listed_on
    while current < day:
        current = next_trading_day(current)
        number += 1
    return number


def _resized(array: A | None, capacity: int, fill: float | bool) -> A:
    dtype = {float: np.float64, int: np.int64, bool: np.bool_}[type(fill)]
    bigger: A = np.full(capacity, fill, dtype=dtype)  # type: ignore[assignment]
    if array is not None:
        bigger[: array.shape[0]] = array
    return bigger


class _QuoteView(Mapping[str, Quote]):
    """The latest quote per code, read through the state's slots."""

    def __init__(self, state: MarketState) -> None:
        self._state = state

    def __getitem__(self, code: str) -> Quote:
        quote = self._state.quote(code)
        if quote is None:
            raise KeyError(code)
        return quote

    def __iter__(self) -> Iterator[str]:
        state = self._state
        return (code for slot, code in enumerate(state.codes) if state.quote_at(slot) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)
