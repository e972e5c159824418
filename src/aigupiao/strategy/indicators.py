"""Incremental indicators: one new value costs O(1).

Each class takes values one at a time (``update``) and can say, also in O(1), what
its value *would be* if a given value came next (``peek``) without changing its
state. Daily-bar indicators are fed completed daily bars; ``peek`` with the latest
price gives the "live" value while today's bar is still forming, which is how a
strategy sees a moving average or an RSI move on every quote.

``state()`` returns the few numbers ``peek`` needs, and each class's
``peek_vector`` computes the same ``peek`` for a whole market at once from those
numbers held in numpy arrays, one slot per symbol (see :mod:`.state`).

Indicator maths is done in float: these are not money. Values are ``None`` (and
``nan`` in arrays) until an indicator has seen enough input.

Intraday helpers at the bottom work on one quote's numbers: change from the
previous close, turnover rate and the volume ratio (量比).
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, time
from typing import ClassVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
NAN = math.nan


def _check_period(period: int) -> int:
    if not isinstance(period, int) or period < 1:
        raise ValueError(f"period must be a positive integer, not {period!r}")
    return period


class SMA:
    """Simple moving average over the last ``period`` values (a ring of values and a
    running sum)."""

    state_size: ClassVar[int] = 1

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self._window: deque[float] = deque()
        self._sum = 0.0
        self.count = 0

    @property
    def ready(self) -> bool:
        return len(self._window) == self.period

    @property
    def value(self) -> float | None:
        return self._sum / self.period if self.ready else None

    def update(self, x: float) -> float | None:
        self._window.append(x)
        self._sum += x
        if len(self._window) > self.period:
            self._sum -= self._window.popleft()
        self.count += 1
        if self.count % 1024 == 0:  # a running sum drifts: recompute it now and then
            self._sum = math.fsum(self._window)
        return self.value

    def _tail(self) -> float:
        """Sum of the last ``period - 1`` values (nan if there are fewer)."""
        size = len(self._window)
        if size == self.period:
            return self._sum - self._window[0]
        return self._sum if size == self.period - 1 else NAN

    def peek(self, x: float) -> float | None:
        tail = self._tail()
        return None if math.isnan(tail) else (tail + x) / self.period

    def state(self) -> tuple[float, ...]:
        return (self._tail(),)

    @staticmethod
    def peek_vector(period: int, state: tuple[FloatArray, ...], x: FloatArray) -> FloatArray:
        result: FloatArray = (state[0] + x) / period
        return result


class EMA:
    """Exponential moving average, ``alpha = 2 / (period + 1)``, seeded with the simple
    average of the first ``period`` values (as TA-Lib does)."""

    state_size: ClassVar[int] = 1

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self.alpha = 2.0 / (period + 1)
        self._seed = 0.0
        self.count = 0
        self._value: float | None = None

    @property
    def ready(self) -> bool:
        return self._value is not None

    @property
    def value(self) -> float | None:
        return self._value

    def update(self, x: float) -> float | None:
        self.count += 1
        if self._value is not None:
            self._value += self.alpha * (x - self._value)
        else:
            self._seed += x
            if self.count == self.period:
                self._value = self._seed / self.period
        return self._value

    def peek(self, x: float) -> float | None:
        """The value if ``x`` came next; None until the average is seeded."""
        if self._value is None:
            return None
        return self._value + self.alpha * (x - self._value)

    def state(self) -> tuple[float, ...]:
        # Enough for peek once the average is seeded; before that peek is nan.
        return (NAN if self._value is None else self._value,)

    @staticmethod
    def peek_vector(period: int, state: tuple[FloatArray, ...], x: FloatArray) -> FloatArray:
        result: FloatArray = state[0] + (2.0 / (period + 1)) * (x - state[0])
        return result


class RSI:
    """Wilder's relative strength index over ``period`` changes.

    The first average gain and loss are the simple averages of the first ``period``
    changes; after that ``avg = (avg * (period - 1) + new) / period`` (Wilder's
    smoothing). 100 when there were no losses, 50 when nothing moved.
    """

    state_size: ClassVar[int] = 3

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period(period)
        self._last: float | None = None
        self._changes = 0
        self._gain = 0.0
        self._loss = 0.0

    @property
    def ready(self) -> bool:
        return self._changes >= self.period

    @property
    def value(self) -> float | None:
        return _rsi(self._gain, self._loss) if self.ready else None

    def _next(self, x: float) -> tuple[float, float, int]:
        assert self._last is not None
        change = x - self._last
        gain, loss = max(change, 0.0), max(-change, 0.0)
        changes = self._changes + 1
        n = self.period
        if changes < n:
            return self._gain + gain, self._loss + loss, changes
        if changes == n:
            return (self._gain + gain) / n, (self._loss + loss) / n, changes
        return (self._gain * (n - 1) + gain) / n, (self._loss * (n - 1) + loss) / n, changes

    def update(self, x: float) -> float | None:
        if self._last is not None:
            self._gain, self._loss, self._changes = self._next(x)
        self._last = x
        return self.value

    def peek(self, x: float) -> float | None:
        """The value if ``x`` came next; None until the RSI is ready."""
        if not self.ready:
            return None
        gain, loss, _ = self._next(x)
        return _rsi(gain, loss)

    def state(self) -> tuple[float, ...]:
        if not self.ready or self._last is None:
            return (NAN, NAN, NAN)
        return (self._gain, self._loss, self._last)

    @staticmethod
    def peek_vector(period: int, state: tuple[FloatArray, ...], x: FloatArray) -> FloatArray:
        gain_avg, loss_avg, last = state
        change = x - last
        gain = (gain_avg * (period - 1) + np.maximum(change, 0.0)) / period
        loss = (loss_avg * (period - 1) + np.maximum(-change, 0.0)) / period
        total = gain + loss
        with np.errstate(divide="ignore", invalid="ignore"):
            result: FloatArray = np.where(total > 0, 100.0 * gain / total, 50.0)
        return np.where(np.isnan(total), NAN, result)


def _rsi(gain: float, loss: float) -> float:
    """100 - 100 / (1 + gain / loss), written so that no loss gives 100, no move 50."""
    total = gain + loss
    return 50.0 if total <= 0 else 100.0 * gain / total


class _RollingExtreme:
    """Highest (or lowest) of the last ``period`` values with a monotonic deque:
    each value enters and leaves the deque once, so an update is O(1) amortised."""

    state_size: ClassVar[int] = 1
    _sign: ClassVar[float]  # +1 for a maximum, -1 for a minimum

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self._deque: deque[tuple[int, float]] = deque()  # (index, value), values monotonic
        self.count = 0

    @property
    def ready(self) -> bool:
        return self.count >= self.period

    @property
    def value(self) -> float | None:
        return self._deque[0][1] if self.ready else None

    def update(self, x: float) -> float | None:
        sign = self._sign
        dq = self._deque
        while dq and sign * dq[-1][1] <= sign * x:
            dq.pop()
        dq.append((self.count, x))
        self.count += 1
        if dq[0][0] <= self.count - 1 - self.period:
            dq.popleft()
        return self.value

    def _tail(self) -> float:
        """The extreme of the last ``period - 1`` values (nan if there are fewer).

        In a monotonic deque each entry is the extreme of everything after the entry
        before it, so dropping the oldest value leaves the front or the next entry.
        """
        if self.count < self.period - 1:
            return NAN
        dq = self._deque
        if not dq:
            return -self._sign * math.inf
        oldest = self.count - self.period  # the index that leaves when one more comes
        if dq[0][0] == oldest:
            return dq[1][1] if len(dq) > 1 else -self._sign * math.inf
        return dq[0][1]

    def peek(self, x: float) -> float | None:
        tail = self._tail()
        if math.isnan(tail):
            return None
        return max(tail, x) if self._sign > 0 else min(tail, x)

    def state(self) -> tuple[float, ...]:
        return (self._tail(),)


class RollingMax(_RollingExtreme):
    """Highest of the last ``period`` values (e.g. the N-day highest high)."""

    _sign = 1.0

    @staticmethod
    def peek_vector(period: int, state: tuple[FloatArray, ...], x: FloatArray) -> FloatArray:
        result: FloatArray = np.fmax(state[0], x)
        return np.where(np.isnan(state[0]), NAN, result)


class RollingMin(_RollingExtreme):
    """Lowest of the last ``period`` values (e.g. the N-day lowest low)."""

    _sign = -1.0

    @staticmethod
    def peek_vector(period: int, state: tuple[FloatArray, ...], x: FloatArray) -> FloatArray:
        result: FloatArray = np.fmin(state[0], x)
        return np.where(np.isnan(state[0]), NAN, result)


Indicator = SMA | EMA | RSI | RollingMax | RollingMin

KINDS: dict[str, type[Indicator]] = {
    "sma": SMA,
    "ema": EMA,
    "rsi": RSI,
    "max": RollingMax,
    "min": RollingMin,
}


# -- intraday ---------------------------------------------------------------------------

MORNING_OPEN, MORNING_CLOSE = time(9, 30), time(11, 30)
AFTERNOON_OPEN, AFTERNOON_CLOSE = time(13, 0), time(15, 0)
SESSION_MINUTES = 240.0


def change_pct(last: float, previous_close: float) -> float:
    """Change from the previous close as a fraction (-0.05 is -5%); nan without a close."""
    return last / previous_close - 1.0 if previous_close > 0 else NAN


def turnover_rate(volume: float, float_shares: float) -> float:
    """换手率: shares traded today over the tradable shares; nan when those are unknown."""
    return volume / float_shares if float_shares > 0 else NAN


def session_minutes(moment: datetime) -> float:
    """Minutes of continuous trading elapsed at ``moment`` (0 before 09:30, 240 after 15:00)."""
    clock = moment.time()

    def since(start: time) -> float:
        return (clock.hour - start.hour) * 60 + (clock.minute - start.minute) + clock.second / 60

    if clock < MORNING_OPEN:
        return 0.0
    if clock < MORNING_CLOSE:
        return since(MORNING_OPEN)
    if clock < AFTERNOON_OPEN:
        return 120.0
    if clock < AFTERNOON_CLOSE:
        return 120.0 + since(AFTERNOON_OPEN)
    return SESSION_MINUTES


def volume_ratio(volume: float, average_daily_volume: float, minutes: float) -> float:
    """量比: today's volume per minute over the average daily volume per minute
    (240 trading minutes a day); nan before the open or without an average."""
    if minutes <= 0 or not average_daily_volume > 0:
        return NAN
    return (volume / minutes) / (average_daily_volume / SESSION_MINUTES)
