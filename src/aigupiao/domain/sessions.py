"""Trading days and trading sessions (Beijing time).

The calendar here knows weekends and the holidays listed in ``HOLIDAYS``;
a fuller exchange calendar replaces it when real calendars are loaded.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


class Phase(StrEnum):
    CLOSED = "closed"
    OPENING_AUCTION = "opening_auction"  # 09:15-09:25
    PRE_OPEN = "pre_open"  # 09:25-09:30, nothing matches
    CONTINUOUS = "continuous"  # 09:30-11:30, 13:00-14:57
    LUNCH = "lunch"  # 11:30-13:00
    CLOSING_AUCTION = "closing_auction"  # 14:57-15:00


_PHASES: tuple[tuple[time, time, Phase], ...] = (
    (time(9, 15), time(9, 25), Phase.OPENING_AUCTION),
    (time(9, 25), time(9, 30), Phase.PRE_OPEN),
    (time(9, 30), time(11, 30), Phase.CONTINUOUS),
    (time(11, 30), time(13, 0), Phase.LUNCH),
    (time(13, 0), time(14, 57), Phase.CONTINUOUS),
    (time(14, 57), time(15, 0), Phase.CLOSING_AUCTION),
)


# Exchange holidays on weekdays (SSE/SZSE notices). Extend as notices come out.
HOLIDAYS: frozenset[date] = frozenset(
    date.fromisoformat(d)
    for d in (
        "2026-01-01",
        "2026-01-02",
        "2026-02-16",
        "2026-02-17",
        "2026-02-18",
        "2026-02-19",
        "2026-02-20",
        "2026-02-23",
        "2026-04-06",
        "2026-05-01",
        "2026-05-04",
        "2026-05-05",
        "2026-06-19",
        "2026-09-25",
        "2026-10-01",
        "2026-10-02",
        "2026-10-05",
        "2026-10-06",
        "2026-10-07",
    )
)


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


def next_trading_day(day: date) -> date:
    """The first trading day strictly after ``day``."""
    candidate = day + timedelta(days=1)
    while not is_trading_day(candidate):
        candidate += timedelta(days=1)
    return candidate


def previous_trading_day(day: date) -> date:
    candidate = day - timedelta(days=1)
    while not is_trading_day(candidate):
        candidate -= timedelta(days=1)
    return candidate


def phase_at(moment: datetime) -> Phase:
    """The market phase at ``moment`` (aware times are converted; naive ones are Beijing time)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    if not is_trading_day(moment.date()):
        return Phase.CLOSED
    now = moment.time()
    for start, end, phase in _PHASES:
        if start <= now < end:
            return phase
    return Phase.CLOSED


def is_continuous(moment: datetime) -> bool:
    return phase_at(moment) is Phase.CONTINUOUS
