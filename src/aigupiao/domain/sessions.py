"""Trading days and trading sessions (Beijing time).

Trading days come from a :class:`~aigupiao.domain.calendar.TradingCalendar`: the
built-in one (real exchange calendars, see ``calendar_data``) unless the process
installs a newer one at start with :func:`use_calendar`.

Sessions depend on the exchange and the date: the closing call auction (14:57-15:00)
began on SZSE on 2006-07-01 and on SSE only on 2018-08-20; before those dates the
exchange traded continuously until 15:00 (:func:`has_closing_auction`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from .calendar import TradingCalendar, builtin_calendar
from .symbols import Exchange

BEIJING = ZoneInfo("Asia/Shanghai")


class Phase(StrEnum):
    CLOSED = "closed"
    OPENING_AUCTION = "opening_auction"  # 09:15-09:25
    PRE_OPEN = "pre_open"  # 09:25-09:30, nothing matches
    CONTINUOUS = "continuous"  # 09:30-11:30, 13:00-14:57
    LUNCH = "lunch"  # 11:30-13:00
    CLOSING_AUCTION = "closing_auction"  # 14:57-15:00


# The phases in which quotes move (auctions show indicative prices, continuous trading
# trades); PRE_OPEN, LUNCH and CLOSED are quiet.
QUOTING_PHASES = frozenset({Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_AUCTION})

_PHASES: tuple[tuple[time, time, Phase], ...] = (
    (time(9, 15), time(9, 25), Phase.OPENING_AUCTION),
    (time(9, 25), time(9, 30), Phase.PRE_OPEN),
    (time(9, 30), time(11, 30), Phase.CONTINUOUS),
    (time(11, 30), time(13, 0), Phase.LUNCH),
    (time(13, 0), time(14, 57), Phase.CONTINUOUS),
    (time(14, 57), time(15, 0), Phase.CLOSING_AUCTION),
)


SZSE_CLOSING_AUCTION_SINCE = date(2006, 7, 1)
SSE_CLOSING_AUCTION_SINCE = date(2018, 8, 20)

# The weekday closures of the built-in calendar (all years it covers). The calendar in
# use may be newer: see ``current_calendar()``.
HOLIDAYS: frozenset[date] = builtin_calendar().closed

_calendar: TradingCalendar = builtin_calendar()


def use_calendar(new: TradingCalendar) -> TradingCalendar:
    """Make ``new`` the calendar every function here uses; returns the one it replaces.

    Call it once at process start (before clocks and brokers are built), e.g. with the
    built-in calendar merged with a user's update file (``aigupiao calendar update``).
    """
    global _calendar
    previous, _calendar = _calendar, new
    _phases.clear()  # they depend on which days are trading days
    return previous


def current_calendar() -> TradingCalendar:
    """The calendar in use."""
    return _calendar


def is_trading_day(day: date) -> bool:
    return _calendar.is_trading_day(day)


def next_trading_day(day: date) -> date:
    """The first trading day strictly after ``day``."""
    return _calendar.next_trading_day(day)


def previous_trading_day(day: date) -> date:
    """The last trading day strictly before ``day``."""
    return _calendar.previous_trading_day(day)


def has_closing_auction(exchange: Exchange | None, day: date) -> bool:
    """Whether ``exchange`` closed ``day`` with a call auction (14:57-15:00).

    SZSE since 2006-07-01, SSE since 2018-08-20, BSE always. ``None`` (no particular
    exchange) follows SZSE: the schedule the whole market has kept since 2018.
    """
    if exchange is Exchange.BJ:
        return True
    if exchange is Exchange.SH:
        return day >= SSE_CLOSING_AUCTION_SINCE
    return day >= SZSE_CLOSING_AUCTION_SINCE


def phase_at(moment: datetime, exchange: Exchange | None = None) -> Phase:
    """The phase of ``exchange``'s market at ``moment`` (aware times are converted; naive
    ones are Beijing time).

    Before its closing call auction began (:func:`has_closing_auction`), an exchange's
    14:57-15:00 is continuous trading. Give the exchange of the security concerned;
    ``None`` is for questions about the market as a whole (quotes flowing, watchdogs).
    """
    if moment.tzinfo is not None and moment.tzinfo is not BEIJING:
        moment = moment.astimezone(BEIJING)
    # Every phase starts on a whole minute: the answer is the same all minute long, and
    # brokers and the gate ask it for every order.
    key = (moment.year, moment.month, moment.day, moment.hour, moment.minute, exchange)
    phase = _phases.get(key)
    if phase is None:
        if len(_phases) > _PHASE_CACHE:
            _phases.clear()
        phase = _phases[key] = _phase_of(moment.date(), moment.time(), exchange)
    return phase


_PHASE_CACHE = 4096
_phases: dict[tuple[int, int, int, int, int, Exchange | None], Phase] = {}


def _phase_of(day: date, now: time, exchange: Exchange | None) -> Phase:
    if not is_trading_day(day):
        return Phase.CLOSED
    for start, end, phase in _PHASES:
        if start <= now < end:
            if phase is Phase.CLOSING_AUCTION and not has_closing_auction(exchange, day):
                return Phase.CONTINUOUS
            return phase
    return Phase.CLOSED


def is_continuous(moment: datetime, exchange: Exchange | None = None) -> bool:
    """Whether ``exchange`` is in continuous trading at ``moment`` (see :func:`phase_at`)."""
    return phase_at(moment, exchange) is Phase.CONTINUOUS
