"""Clocks. Everything that needs the time is given a :class:`Clock`.

Times are timezone-aware, in Beijing time (``Asia/Shanghai``), the exchanges' clock.

- :class:`LiveClock`: the wall clock.
- :class:`ManualClock`: set and advanced by tests.
- :class:`TradingDayClock`: a simulated trading-day clock for the embedded
  market. It runs through trading sessions at ``speed`` times real time and
  passes the lunch break and the overnight close in an instant, so a user who
  starts aigupiao at night or on a weekend sees a trading day.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Protocol

from aigupiao.domain.sessions import (
    BEIJING,
    is_trading_day,
    next_trading_day,
    previous_trading_day,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware, in Beijing time."""
        ...

    def today(self) -> date:
        """The current date in Beijing."""
        ...


def _beijing(moment: datetime) -> datetime:
    """Aware times are converted to Beijing time; naive ones are taken as Beijing time."""
    return moment.astimezone(BEIJING) if moment.tzinfo else moment.replace(tzinfo=BEIJING)


class LiveClock:
    def now(self) -> datetime:
        return datetime.now(BEIJING)

    def today(self) -> date:
        return self.now().date()


class ManualClock:
    """A clock that only moves when told to (tests, backtests)."""

    def __init__(self, start: datetime) -> None:
        self._now = _beijing(start)

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.date()

    def set(self, moment: datetime) -> None:
        self._now = _beijing(moment)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


# Stretches of a trading day the simulated clock runs through; the gaps between them
# (lunch, overnight) pass in an instant. The afternoon runs one quiet minute past the
# close, so the 15:00 closing match is seen (the simulator publishes it at the first
# step at or after 15:00) and the day's last bar closes before the next day begins.
AFTER_CLOSE = time(15, 1)
_DAY_SEGMENTS: tuple[tuple[time, time], ...] = (
    (time(9, 15), time(11, 30)),
    (time(13, 0), AFTER_CLOSE),
)


def _segment_seconds(start: time, end: time) -> float:
    return (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds()


class TradingDayClock:
    """Simulated time that walks through trading sessions only.

    Args:
        start: the simulated start, inside a trading session.
        speed: simulated seconds per real second.
        real_time: the real time source in seconds (injectable for tests).
    """

    def __init__(
        self,
        start: datetime,
        *,
        speed: float = 1.0,
        real_time: Callable[[], float] = _time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = _beijing(start)
        self._speed = speed
        self._real = real_time
        self._real_start = self._real()

    @classmethod
    def starting_today(cls, *, speed: float = 1.0, on: date | None = None) -> TradingDayClock:
        """Start at 09:30 on the latest trading day on or before ``on`` (default: today)."""
        day = on or datetime.now(BEIJING).date()
        if not is_trading_day(day):
            day = previous_trading_day(day)
        return cls(datetime.combine(day, time(9, 30), BEIJING), speed=speed)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        # Whole microseconds, as datetime keeps them: a sub-microsecond remainder would
        # otherwise round up onto a segment end (11:30:00 is already lunch).
        elapsed = int((self._real() - self._real_start) * self._speed * 1e6) / 1e6
        return self._walk(elapsed)

    def today(self) -> date:
        return self.now().date()

    def _walk(self, elapsed: float) -> datetime:
        """The moment ``elapsed`` trading seconds after the start."""
        day = self._start.date()
        cursor = self._start.timetz().replace(tzinfo=None)
        while True:
            for seg_start, seg_end in _DAY_SEGMENTS:
                if cursor >= seg_end:
                    continue
                begin = max(cursor, seg_start)
                room = _segment_seconds(begin, seg_end)
                if elapsed < room:
                    return datetime.combine(day, begin, BEIJING) + timedelta(seconds=elapsed)
                elapsed -= room
            day = next_trading_day(day)
            cursor = time(0, 0)
