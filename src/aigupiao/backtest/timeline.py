"""The timeline of a backtest: everything per step and security the engine and the market
read, computed once from :class:`~.data.MarketData` with numpy.

* the quote a step shows (the bar's close, the day's open, high and low so far,
  cumulative volume and amount), each security's latest quote step, the previous close
  and the price limits of each day (:mod:`aigupiao.domain.symbols` rules, vectorised);
* each security's completed daily bars, left-aligned (``left``), and the daily
  indicators of :mod:`aigupiao.strategy.indicators` for every bar at once
  (:func:`indicator_table`), which :class:`~.market.SimSeries` reads a row at a time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from aigupiao.domain.securities import facts_for
from aigupiao.domain.sessions import BEIJING, next_trading_day
from aigupiao.domain.symbols import (
    CHINEXT_REFORM,
    ST_LIMIT_WIDENED,
    Symbol,
    limit_fractions,
)
from aigupiao.strategy.indicators import KINDS
from aigupiao.strategy.series import FIELDS
from aigupiao.strategy.state import NOT_NEW

from .data import MarketData

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
NAN = math.nan
_LISTING_WINDOW = 20  # calendar days after a listing in which its limit rule may change
_NEW_LISTING_HORIZON = 400  # as MarketState: a listing older than this is not new
_EPOCH = datetime(1970, 1, 1)


def to_time(stamp: int) -> datetime:
    """A step's stamp (minutes since the epoch, Beijing wall time) as an aware datetime."""
    return (_EPOCH + timedelta(minutes=int(stamp))).replace(tzinfo=BEIJING)


def ffill(values: FloatArray) -> FloatArray:
    """Each column's latest non-nan value at or before each row (nan before the first)."""
    rows = np.arange(values.shape[0])[:, None]
    index = np.where(~np.isnan(values), rows, -1)
    np.maximum.accumulate(index, axis=0, out=index)
    filled = values[np.maximum(index, 0), np.arange(values.shape[1])[None, :]]
    filled[index < 0] = NAN
    return filled


class Timeline:
    """Everything per step and slot the engine and the market read, computed once.

    Daily arrays (``daily[name]``: one row per trading day) are the data themselves for
    daily bars, and the day's aggregate of the intraday bars otherwise.
    """

    def __init__(self, data: MarketData, *, limits: bool) -> None:
        self.data = data
        columns = data.columns
        self.steps, self.size = columns["close"].shape
        ordinals = data.day_ordinals
        day_starts = np.flatnonzero(np.r_[True, ordinals[1:] != ordinals[:-1]])
        self.day_index = np.cumsum(np.r_[False, ordinals[1:] != ordinals[:-1]]).astype(np.int64)
        self.day_ordinals = ordinals[day_starts]
        self.last_step_of_day = np.r_[day_starts[1:] - 1, self.steps - 1]
        present = ~np.isnan(columns["close"])
        self.present = present
        if data.intraday:
            self.daily = _aggregate(columns, self.day_index, len(day_starts))
            day = self.day_index
            self.day_open = self._first_of_day(columns["open"], day_starts)
            self.day_high = _running(columns["high"], day, np.fmax)
            self.day_low = _running(columns["low"], day, np.fmin)
            self.day_volume = _running(np.nan_to_num(columns["volume"]), day, np.add)
            self.day_amount = _running(np.nan_to_num(columns["amount"]), day, np.add)
        else:
            self.daily = columns
            self.day_open, self.day_high, self.day_low = (
                columns["open"],
                columns["high"],
                columns["low"],
            )
            self.day_volume, self.day_amount = columns["volume"], columns["amount"]
        daily_present = ~np.isnan(self.daily["close"])
        # completed daily bars before each day, and the close of the latest of them
        count = np.cumsum(daily_present, axis=0)
        self.done_by_day = np.vstack([np.zeros((1, self.size), np.int64), count[:-1]])
        closes = ffill(self.daily["close"])
        self.previous_close_by_day = np.vstack([np.full((1, self.size), NAN), closes[:-1]])
        bar_days = np.where(daily_present, self.day_ordinals[:, None], 0)
        np.maximum.accumulate(bar_days, axis=0, out=bar_days)
        self.bar_day_by_day = np.vstack([np.zeros((1, self.size), np.int64), bar_days[:-1]])
        self.last = ffill(columns["close"])
        self.quote_step = np.where(present, np.arange(self.steps)[:, None], -1)
        np.maximum.accumulate(self.quote_step, axis=0, out=self.quote_step)
        self.tick = np.array([float(s.tick) for s in data.symbols])
        self.limit_pct = self._limit_pcts()
        self.listing_day = self._listing_days()
        if limits:
            base = self.previous_close_by_day
            self.limit_up, self.limit_down = _limit_prices(
                base, self.limit_pct, self.tick, data.symbols
            )
        else:
            self.limit_up = self.limit_down = np.full((len(day_starts), self.size), NAN)
        self._left: dict[str, FloatArray] = {}

    def _first_of_day(self, values: FloatArray, day_starts: IntArray) -> FloatArray:
        """Per step, the day's first non-nan value so far (nan before the first bar)."""
        out = np.full_like(values, NAN)
        for start, stop in zip(day_starts, [*day_starts[1:], self.steps], strict=True):
            block = values[start:stop]
            rows = np.arange(stop - start)[:, None]
            first_row = np.where(~np.isnan(block), rows, stop - start).min(axis=0)
            known = first_row < stop - start
            first_value = np.full(self.size, NAN)
            first_value[known] = block[first_row[known], np.flatnonzero(known)]
            out[start:stop] = np.where(rows >= first_row[None, :], first_value[None, :], NAN)
        return out

    def _limit_pcts(self) -> FloatArray:
        """Limit fraction per day and slot (nan: no limit), from the security's facts:
        computed once per distinct rule period, day by day only around a listing."""
        ordinals = self.day_ordinals
        days = [date.fromordinal(int(o)) for o in ordinals]
        result = np.full((len(days), self.size), NAN)
        periods = (ordinals >= CHINEXT_REFORM.toordinal()).astype(np.int64) + 2 * (
            ordinals >= ST_LIMIT_WIDENED.toordinal()
        )
        for slot, symbol in enumerate(self.data.symbols):
            facts = facts_for(symbol)
            is_st, listed_on = facts.special is not None, facts.listed_on

            def pct(day: date, symbol: Symbol = symbol, facts: Any = facts) -> float:
                fractions = limit_fractions(
                    symbol, day, is_st=facts.special is not None, listed_on=facts.listed_on,
                    ratio=facts.ratio_on(day),
                )  # fmt: skip
                return NAN if fractions is None else float(fractions[0])

            near = np.zeros(len(days), bool)
            if listed_on is not None:
                since = ordinals - listed_on.toordinal()
                near = (since >= 0) & (since <= _LISTING_WINDOW)
            for period in np.unique(periods[~near]).tolist():
                rows = np.flatnonzero((periods == period) & ~near)
                result[rows, slot] = pct(days[int(rows[0])])
            for row in np.flatnonzero(near).tolist():
                result[row, slot] = pct(days[row])
            del is_st
        return result

    def _listing_days(self) -> IntArray:
        """Listing day number per day and slot (NOT_NEW long after a listing, 0 before)."""
        ordinals = self.day_ordinals
        result = np.full((len(ordinals), self.size), NOT_NEW, dtype=np.int64)
        listed = [facts_for(symbol).listed_on for symbol in self.data.symbols]
        known = [day.toordinal() for day in listed if day is not None]
        relevant = [o for o in known if o <= int(ordinals[-1])
                    and int(ordinals[0]) - o <= _NEW_LISTING_HORIZON]  # fmt: skip
        if not relevant:
            return result
        trading = [min(relevant)]  # every trading day from the earliest listing that matters
        while trading[-1] <= int(ordinals[-1]):
            trading.append(next_trading_day(date.fromordinal(trading[-1])).toordinal())
        calendar = np.array(trading, dtype=np.int64)
        position = np.searchsorted(calendar, ordinals, side="right")
        for slot, day in enumerate(listed):
            if day is None or day.toordinal() not in relevant:
                continue
            start = int(np.searchsorted(calendar, day.toordinal(), side="left"))
            age = ordinals - day.toordinal()
            numbers = position - start
            result[:, slot] = np.where(age < 0, 0, np.where(age <= _NEW_LISTING_HORIZON,
                                                            numbers, NOT_NEW))  # fmt: skip
        return result

    def left(self, name: str) -> tuple[FloatArray, IntArray]:
        """Each slot's completed daily values of field ``name``, left-aligned (slot, k),
        and each slot's count."""
        cached = self._left.get(name)
        counts = np.count_nonzero(~np.isnan(self.daily["close"]), axis=0)
        if cached is None:
            values = self.daily[name]
            width = int(counts.max()) if counts.size else 0
            cached = np.full((self.size, max(width, 1)), NAN)
            for slot in range(self.size):
                column = values[:, slot]
                kept = column[~np.isnan(self.daily["close"][:, slot])]
                cached[slot, : kept.size] = kept
            self._left[name] = cached
        return cached, counts


def _aggregate(
    columns: Mapping[str, FloatArray], day: IntArray, days: int
) -> dict[str, FloatArray]:
    size = columns["close"].shape[1]
    out = {name: np.full((days, size), NAN) for name in FIELDS}
    present = ~np.isnan(columns["close"])
    for d in range(days):
        rows = np.flatnonzero(day == d)
        block = {name: columns[name][rows] for name in FIELDS}
        have = present[rows]
        any_bar = have.any(axis=0)
        first = np.argmax(have, axis=0)
        last = have.shape[0] - 1 - np.argmax(have[::-1], axis=0)
        cols = np.arange(size)
        out["open"][d] = np.where(any_bar, block["open"][first, cols], NAN)
        out["close"][d] = np.where(any_bar, block["close"][last, cols], NAN)
        with np.errstate(all="ignore"):
            out["high"][d] = np.where(
                any_bar, np.nanmax(np.where(have, block["high"], -np.inf), axis=0), NAN
            )
            out["low"][d] = np.where(
                any_bar, np.nanmin(np.where(have, block["low"], np.inf), axis=0), NAN
            )
        out["volume"][d] = np.where(any_bar, np.nansum(block["volume"], axis=0), NAN)
        out["amount"][d] = np.where(any_bar, np.nansum(block["amount"], axis=0), NAN)
    return out


def _running(values: FloatArray, day: IntArray, op: Any) -> FloatArray:
    out = np.array(values, dtype=np.float64)
    for row in range(1, out.shape[0]):
        if day[row] == day[row - 1]:
            out[row] = op(out[row - 1], out[row]) if op is not np.add else out[row - 1] + out[row]
    return out


def _limit_prices(
    base: FloatArray, pct: FloatArray, tick: FloatArray, symbols: Sequence[Symbol]
) -> tuple[FloatArray, FloatArray]:
    """Limit prices as :func:`aigupiao.domain.symbols.price_limits` rounds them (half up
    to the tick; BSE toward the previous close; at least one tick away)."""
    bse = np.array([s.board.value == "bse" for s in symbols])[None, :]
    raw_up = base * (1 + pct) / tick
    raw_down = base * (1 - pct) / tick
    up = np.where(bse, np.floor(raw_up + 1e-9), np.floor(raw_up + 0.5 + 1e-9)) * tick
    down = np.where(bse, np.ceil(raw_down - 1e-9), np.floor(raw_down + 0.5 + 1e-9)) * tick
    up = np.where(up - base < tick - 1e-9, base + tick, up)
    down = np.maximum(np.where(base - down < tick - 1e-9, base - tick, down), tick)
    return np.round(up, 3), np.round(down, 3)


# -- indicators for every bar at once ------------------------------------------------------


def _windows(values: FloatArray, period: int) -> FloatArray:
    """(slot, k, period) windows ending at each k (nan-padded before the first)."""
    padded = np.concatenate([np.full((values.shape[0], period - 1), NAN), values], axis=1)
    return np.lib.stride_tricks.sliding_window_view(padded, period, axis=1)


def indicator_table(
    kind: str, period: int, values: FloatArray
) -> tuple[FloatArray, list[FloatArray]]:
    """(value after bar k, state after bar k) for every slot and k, as the scalar classes
    of :mod:`aigupiao.strategy.indicators` compute them one bar at a time."""
    width = values.shape[1]
    if kind == "sma":
        value = _windows(values, period).sum(axis=2) / period
        tail = _windows(values, period - 1).sum(axis=2) if period > 1 else np.zeros_like(values)
        return value, [tail]
    if kind in ("max", "min"):
        reduce = np.max if kind == "max" else np.min
        value = reduce(_windows(values, period), axis=2)
        if period > 1:
            tail = reduce(_windows(values, period - 1), axis=2)
        else:
            tail = np.full_like(values, -np.inf if kind == "max" else np.inf)
        return value, [tail]
    if kind == "ema":
        alpha = 2.0 / (period + 1)
        value = np.full_like(values, NAN)
        if width >= period:
            current = values[:, :period].sum(axis=1) / period
            value[:, period - 1] = current
            for k in range(period, width):
                current = current + alpha * (values[:, k] - current)
                value[:, k] = current
        return value, [value]
    if kind == "rsi":
        value = np.full_like(values, NAN)
        gain_s, loss_s, last_s = (np.full_like(values, NAN) for _ in range(3))
        if width > period:
            change = np.diff(values, axis=1)
            gains, losses = np.maximum(change, 0.0), np.maximum(-change, 0.0)
            gain = gains[:, :period].sum(axis=1) / period
            loss = losses[:, :period].sum(axis=1) / period
            for k in range(period, width):
                if k > period:
                    gain = (gain * (period - 1) + gains[:, k - 1]) / period
                    loss = (loss * (period - 1) + losses[:, k - 1]) / period
                total = gain + loss
                with np.errstate(all="ignore"):
                    value[:, k] = np.where(total > 0, 100.0 * gain / total, 50.0)
                gain_s[:, k], loss_s[:, k], last_s[:, k] = gain, loss, values[:, k]
        return value, [gain_s, loss_s, last_s]
    raise ValueError(f"unknown indicator kind {kind!r}; known: {sorted(KINDS)}")
