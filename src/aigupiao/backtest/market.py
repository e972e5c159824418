"""The market a backtest's strategies read: a :class:`~aigupiao.strategy.state.MarketState`
moved along a simulated clock, a whole market per step.

The live agent feeds ``MarketState`` quote by quote and closes each day into daily bars;
replaying 600,000 bars that way costs seconds of Python per indicator. :class:`SimMarket`
is the same state with the same read interface (the very strategy classes read it), fed
differently:

* each step writes the whole market's quote arrays at once (``last`` = the bar's close,
  the day's open, high and low so far, cumulative volume and amount, the previous
  close, the price limits), and builds a :class:`~aigupiao.domain.market.Quote` only for
  the few slots a strategy asks for;
* daily indicators (``sma``, ``ema``, ``rsi``, ``max``, ``min``) are computed for every
  bar of every symbol up front, vectorised, with the same definitions as
  :mod:`aigupiao.strategy.indicators`; a step exposes, per symbol, only the values after
  its latest *completed* daily bar, and ``live`` extends them by today's price exactly as
  the live state does.

**No look-ahead by construction**: everything a strategy can reach (quotes, completed
bars, indicator values, ``recent_bars``, patterns) is indexed by the step's count of
completed bars; nothing at or after the current bar's close is reachable, and
:class:`BarsView` (the context's ``daily_bars``) raises ``IndexError`` beyond it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from aigupiao.domain.market import Bar, Quote
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import (
    Symbol,
)
from aigupiao.strategy.patterns import PatternParams, detect, flags
from aigupiao.strategy.series import FIELDS, DailySeries, SeriesKey
from aigupiao.strategy.state import MarketState

from .timeline import Timeline, indicator_table, to_time

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
NAN = math.nan


class SimSeries(DailySeries):
    """A daily indicator read at the market's current step (see the module docstring)."""

    def __init__(self, key: SeriesKey, market: SimMarket) -> None:
        super().__init__(key, 1)
        values, _ = market.timeline.left(key.field)
        table, states = indicator_table(key.kind, key.period, values)
        self._market = market
        # per trading day, each slot's value after its last completed bar (and the one
        # before, and the state ``live`` extends): one row per day, read by row
        done = market.timeline.done_by_day
        rows = np.arange(values.shape[0])[None, :]
        last, before = np.maximum(done - 1, 0), np.maximum(done - 2, 0)
        self._value = np.where(done >= 1, table[rows, last], NAN)
        self._previous = np.where(done >= 2, table[rows, before], NAN)
        if key.kind in ("sma", "max", "min"):  # the window of the last period-1 bars
            if key.period == 1:
                self._state = (np.broadcast_to(states[0][:, 0], done.shape),)
            else:
                self._state = (np.where(done >= key.period - 1, states[0][rows, last], NAN),)
        else:
            self._state = tuple(np.where(done >= 1, s[rows, last], NAN) for s in states)

    def _now(self) -> tuple[FloatArray, FloatArray, tuple[FloatArray, ...]]:
        day = self._market.day_number
        return self._value[day], self._previous[day], tuple(s[day] for s in self._state)

    def push(self, slot: int, values: Sequence[float]) -> None:
        raise TypeError("a backtest's market is fed by its timeline, not bar by bar")

    def value(self, size: int) -> FloatArray:
        return _read_only(self._now()[0][:size])

    def previous(self, size: int) -> FloatArray:
        return _read_only(self._now()[1][:size])

    def live(self, current: FloatArray) -> FloatArray:
        size = current.shape[0]
        state = tuple(array[:size] for array in self._now()[2])
        return self._cls.peek_vector(self.key.period, state, current)


def _read_only(array: FloatArray) -> FloatArray:
    view = array.view()
    view.flags.writeable = False
    return view


class SimMarket(MarketState):
    """:class:`MarketState` at a step of a :class:`Timeline` (see the module docstring)."""

    def __init__(self, timeline: Timeline) -> None:
        super().__init__(keep_bars=20, capacity=max(timeline.size, 1))
        self.timeline = timeline
        self.step = -1
        self.done = np.zeros(timeline.size, np.int64)
        for symbol in timeline.data.symbols:
            super().add_symbol(symbol)  # the ST flag from the securities table, once
        self._sim_series: dict[SeriesKey, SimSeries] = {}
        self._quote_cache: dict[int, Quote] = {}
        self._prices: dict[tuple[float, Decimal], Decimal | None] = {}
        self._times: dict[int, datetime] = {}
        self.day_number = 0

    def add_symbol(self, symbol: Symbol, name: str = "", **facts: Any) -> int:
        if symbol.full in self._slots:
            return super().add_symbol(symbol, name, **facts)
        raise KeyError(f"{symbol.full} is not in the backtest's data")

    def move_to(self, step: int) -> None:
        """Show the market at the close of ``step``'s bar."""
        tl = self.timeline
        size = self.size
        day = int(tl.day_index[step])
        new_day = self.step < 0 or int(tl.day_index[self.step]) != day
        self.step = step
        self.day_number = day
        if new_day:
            self.day = date.fromordinal(int(tl.day_ordinals[day]))
            self.done = tl.done_by_day[day]
            ints = self._ints
            ints["bar_count"][:size] = self.done
            ints["bar_day"][:size] = tl.bar_day_by_day[day]
            self._floats["limit_up"][:size] = tl.limit_up[day]
            self._floats["limit_down"][:size] = tl.limit_down[day]
            self._floats["previous_close"][:size] = tl.previous_close_by_day[day]
            self._floats["limit_base"][:size] = tl.previous_close_by_day[day]
            self._floats["limit_up_pct"][:size] = tl.limit_pct[day]
            self._floats["limit_down_pct"][:size] = tl.limit_pct[day]
            ints["listing_day"][:size] = tl.listing_day[day]
            self.bars_version += 1
        quoted = tl.quote_step[step]
        self._floats["last"][:size] = tl.last[step]
        self._floats["volume"][:size] = np.where(
            quoted >= 0, tl.day_volume[np.maximum(quoted, 0), np.arange(size)], 0.0
        )
        quote_days = np.where(quoted >= 0, tl.day_ordinals[tl.day_index[np.maximum(quoted, 0)]], 0)
        self._ints["quote_day"][:size] = quote_days
        self._quote_cache = {}
        self.version += 1
        self._cache.clear()

    # -- what strategies read --------------------------------------------------------------

    def series(self, kind: str, period: int, field: str = "close") -> DailySeries:
        key = SeriesKey(kind, period, field)
        found = self._sim_series.get(key)
        if found is None:
            found = self._sim_series[key] = SimSeries(key, self)
        return found

    def _from_quotes(self, name: str) -> FloatArray:
        tl = self.timeline
        source = {"open": tl.day_open, "high": tl.day_high, "low": tl.day_low,
                  "amount": tl.day_amount}[name]  # fmt: skip
        quoted = tl.quote_step[self.step]
        values = np.where(quoted >= 0, source[np.maximum(quoted, 0), np.arange(self.size)], NAN)
        values.flags.writeable = False
        return values

    def quote_at(self, slot: int) -> Quote | None:
        found = self._quote_cache.get(slot)
        if found is not None:
            return found
        tl = self.timeline
        step = int(tl.quote_step[self.step, slot])
        if step < 0:
            return None
        symbol = self.symbols[slot]
        tick = symbol.tick
        day = int(tl.day_index[step])
        cached = self._prices
        values = (
            float(tl.data.columns["close"][step, slot]), float(tl.day_open[step, slot]),
            float(tl.day_high[step, slot]), float(tl.day_low[step, slot]),
            float(tl.limit_up[day, slot]), float(tl.limit_down[day, slot]),
        )  # fmt: skip
        decimals = []
        for value in values:
            found_price = cached.get((value, tick))
            if found_price is None:
                found_price = cached[(value, tick)] = None if value != value else price(value, tick)
            decimals.append(found_price)
        last, opened, high, low, up, down = decimals
        assert last is not None and opened is not None and high is not None and low is not None
        stamp = int(tl.data.stamps[step])
        ts = self._times.get(stamp)
        if ts is None:
            ts = self._times[stamp] = to_time(stamp)
        quote = Quote(
            symbol=symbol,
            name=self.names[slot],
            ts=ts,
            last=last,
            previous_close=price(tl.previous_close_by_day[day, slot], tick, zero=True),
            open=opened,
            high=high,
            low=low,
            volume=int(tl.day_volume[step, slot]),
            amount=Decimal(repr(round(float(tl.day_amount[step, slot]), 2))),
            limit_up=up,
            limit_down=down,
            no_limit=math.isnan(tl.limit_pct[day, slot]),
        )
        self._quote_cache[slot] = quote
        return quote

    def quote(self, code: str) -> Quote | None:
        slot = self._slots.get(code)
        return None if slot is None else self.quote_at(slot)

    def recent_bars(self, slot: int, count: int) -> dict[str, FloatArray]:
        done = int(self.done[slot])
        start = max(done - count, 0)
        out = {}
        for name in FIELDS:
            values, _ = self.timeline.left(name)
            out[name] = values[slot, start:done].copy()
        return out

    def patterns(self, params: PatternParams = PatternParams()) -> IntArray:
        def compute() -> IntArray:
            window = params.window
            absolute = self.done[:, None] - window + np.arange(window)[None, :]
            valid = absolute >= 0
            rows = np.arange(self.size)[:, None]
            o, h, low, c = (
                np.where(valid, self.timeline.left(name)[0][rows, np.maximum(absolute, 0)], NAN)
                for name in ("open", "high", "low", "close")
            )
            return flags(detect(o, h, low, c, params))

        return self.memo(("patterns", params), compute, bars_only=True)

    def on_quotes(self, quotes: Any) -> None:
        raise TypeError("a backtest's market is fed by its timeline, not by quotes")

    def close_day(self, day: date | None = None) -> int:
        return 0  # completed bars come from the timeline when the next day starts

    def start_day(self, day: date) -> None:
        self.day = day


def price(value: float, tick: Decimal, *, zero: bool = False) -> Decimal:
    """A float price as a Decimal on ``tick`` (0.01 or 0.001; the nearest step)."""
    if value != value:  # nan
        if zero:
            return Decimal(0)
        raise ValueError("no price")
    places = _PLACES.get(tick)
    if places is None:
        steps = (Decimal(repr(float(value))) / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return steps * tick
    return Decimal(repr(round(float(value), places))).quantize(tick)


_PLACES = {Decimal("0.01"): 2, Decimal("0.001"): 3}


class BarsView(Mapping[str, Sequence[Bar]]):
    """The context's ``daily_bars``: each code's completed daily bars up to the current
    step, oldest first. Nothing later is reachable: an index beyond raises IndexError."""

    def __init__(self, market: SimMarket) -> None:
        self._market = market

    def __getitem__(self, code: str) -> Sequence[Bar]:
        slot = self._market.slot(code)
        if slot is None:
            raise KeyError(code)
        return _CompletedBars(self._market, slot, int(self._market.done[slot]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._market.codes)

    def __len__(self) -> int:
        return self._market.size


class _CompletedBars(Sequence[Bar]):
    def __init__(self, market: SimMarket, slot: int, count: int) -> None:
        self._market, self._slot, self._count = market, slot, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(
                f"第 {index} 根日线尚未收盘 (bar {index} has not closed at the simulated time)"
            )
        tl = self._market.timeline
        symbol = self._market.symbols[self._slot]
        values = {name: tl.left(name)[0][self._slot, index] for name in FIELDS}
        rows = np.flatnonzero(~np.isnan(tl.daily["close"][:, self._slot]))
        day = date.fromordinal(int(tl.day_ordinals[rows[index]]))
        tick = symbol.tick
        return Bar(
            symbol=symbol,
            freq="1d",
            end=datetime.combine(day, datetime.min.time().replace(hour=15), BEIJING),
            open=price(values["open"], tick),
            high=price(values["high"], tick),
            low=price(values["low"], tick),
            close=price(values["close"], tick),
            volume=int(values["volume"]),
            amount=Decimal(repr(round(float(values["amount"]), 2))),
        )
