"""The exchanges' trading calendar (SSE and SZSE share one).

A :class:`TradingCalendar` knows a range of dates (``first`` to ``last``) and the
weekdays inside it on which the exchanges were or will be closed (holidays, and
the odd extra closure). Saturdays and Sundays are never trading days. Outside
the covered range it falls back to "every weekday trades": close enough to
walk through sessions, but not a fact; check :meth:`TradingCalendar.covers`
where it matters.

The built-in calendar (:func:`builtin_calendar`) is made from the data in
:mod:`aigupiao.domain.calendar_data`; a newer one can be installed at start
with :func:`aigupiao.domain.sessions.use_calendar`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from . import calendar_data

_DAY = timedelta(days=1)


def _weekdays_through(day: date) -> int:
    """How many weekdays fall on or before ``day`` (from an arbitrary fixed origin)."""
    ordinal = day.toordinal()  # 0001-01-01, ordinal 1, was a Monday
    weeks, rest = divmod(ordinal - 1, 7)
    return weeks * 5 + min(rest + 1, 5)


@dataclass(frozen=True)
class TradingCalendar:
    """Trading days of the Shanghai and Shenzhen exchanges.

    Args:
        first: the first day the calendar knows.
        last: the last day the calendar knows.
        closed: the weekdays in ``first`` .. ``last`` on which the exchanges are closed.
        source: where the data came from (shown to people).

    Raises:
        ValueError: ``first`` is after ``last``, or a closure is a weekend day or
            lies outside the range.
    """

    first: date
    last: date
    closed: frozenset[date]
    source: str = ""
    _sorted: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(f"calendar range is empty: {self.first} > {self.last}")
        outside = sorted(d for d in self.closed if not self.first <= d <= self.last)
        if outside:
            raise ValueError(f"closures outside {self.first} .. {self.last}: {outside[:5]}")
        weekend = sorted(d for d in self.closed if d.weekday() >= 5)
        if weekend:
            raise ValueError(f"closures must be weekdays (weekends always close): {weekend[:5]}")
        object.__setattr__(self, "_sorted", tuple(sorted(self.closed)))

    def covers(self, day: date) -> bool:
        """True if ``day`` is inside the range the calendar has data for."""
        return self.first <= day <= self.last

    def is_trading_day(self, day: date) -> bool:
        """A weekday that is not a known closure (outside the range: any weekday)."""
        return day.weekday() < 5 and day not in self.closed

    def next_trading_day(self, day: date) -> date:
        """The first trading day strictly after ``day``."""
        candidate = day + _DAY
        while not self.is_trading_day(candidate):
            candidate += _DAY
        return candidate

    def previous_trading_day(self, day: date) -> date:
        """The last trading day strictly before ``day``."""
        candidate = day - _DAY
        while not self.is_trading_day(candidate):
            candidate -= _DAY
        return candidate

    def trading_days(self, start: date, end: date) -> list[date]:
        """The trading days from ``start`` to ``end``, both included, in order."""
        days: list[date] = []
        day = start
        while day <= end:
            if self.is_trading_day(day):
                days.append(day)
            day += _DAY
        return days

    def count_trading_days(self, start: date, end: date) -> int:
        """How many trading days lie from ``start`` to ``end``, both included (0 if start > end)."""
        if start > end:
            return 0
        weekdays = _weekdays_through(end) - _weekdays_through(start - _DAY)
        closures = bisect_right(self._sorted, end) - bisect_left(self._sorted, start)
        return weekdays - closures

    def closures(self, year: int | None = None) -> list[date]:
        """The weekday closures, in order; only those of ``year`` if given."""
        if year is None:
            return list(self._sorted)
        return [d for d in self._sorted if d.year == year]

    def merged(self, update: TradingCalendar) -> TradingCalendar:
        """This calendar with ``update`` laid over it: inside ``update``'s range its
        closures replace these, elsewhere these stay.

        Raises:
            ValueError: the two ranges neither overlap nor touch (the gap would be
                covered with no data).
        """
        if update.first > self.last + _DAY or update.last < self.first - _DAY:
            raise ValueError(
                f"{update.first} .. {update.last} leaves a gap to {self.first} .. {self.last}"
            )
        kept = {d for d in self.closed if not update.covers(d)}
        return TradingCalendar(
            first=min(self.first, update.first),
            last=max(self.last, update.last),
            closed=frozenset(kept | update.closed),
            source=f"{self.source} + {update.source}" if self.source else update.source,
        )

    def restricted(self, first: date, last: date) -> TradingCalendar:
        """The part of this calendar from ``first`` to ``last`` (clipped to its range).

        Raises:
            ValueError: the two ranges do not overlap.
        """
        start, end = max(first, self.first), min(last, self.last)
        closed = frozenset(d for d in self.closed if start <= d <= end)
        return TradingCalendar(start, end, closed, self.source)

    @classmethod
    def from_open_days(
        cls, open_days: Iterable[date], *, first: date | None = None, last: date | None = None,
        source: str = "",
    ) -> TradingCalendar:  # fmt: skip
        """A calendar from the days that trade: every other weekday in the range is closed.

        The range is ``first`` .. ``last``, by default the first and last open day.
        Weekend days among ``open_days`` are ignored (they cannot be represented).
        """
        days = sorted(set(open_days))
        if not days and (first is None or last is None):
            raise ValueError("no open days and no range")
        start = first or days[0]
        end = last or days[-1]
        known = set(days)
        closed = set()
        day = start
        while day <= end:
            if day.weekday() < 5 and day not in known:
                closed.add(day)
            day += _DAY
        return cls(start, end, frozenset(closed), source)


@cache
def builtin_calendar() -> TradingCalendar:
    """The calendar that ships with aigupiao (see :mod:`aigupiao.domain.calendar_data`)."""
    closed = frozenset(
        date(year, int(mmdd[:2]), int(mmdd[2:]))
        for year, days in calendar_data.CLOSED_WEEKDAYS.items()
        for mmdd in days.split()
    )
    return TradingCalendar(
        first=date.fromisoformat(calendar_data.FIRST_DAY),
        last=date.fromisoformat(calendar_data.LAST_DAY),
        closed=closed,
        source=calendar_data.SOURCE,
    )
