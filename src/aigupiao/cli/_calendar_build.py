"""Build ``aigupiao/domain/calendar_data.py`` from the MIT-licensed calendars in ../shared.

Used by ``aigupiao calendar generate``. The sources (``../shared/data/README.md``,
section 5) disagree in places, so the build takes the two that agree with every
daily data set and cross-checks the rest:

1. xalpha ``caldate.csv``: every calendar day 1991-01-01 .. 2023-12-31, the most reliable.
2. tushare ``trade_cal.csv`` (Bancob): open days 2023-09-25 .. 2025-10-23. It must agree
   with (1) where both cover; it supplies 2024-01-01 .. 2025-10-23.
3. The exchanges' holiday notices for the rest: no weekday closure in 2025 after
   National Day, and the 2026 closures in :data:`NOTICE_CLOSURES`.

Cross-checks that must hold or the build stops: ``calender.csv`` and ``trade_days.json``
differ from the result by exactly their known errors (listed in :data:`KNOWN_ERRORS`, not
imported), and every weekday of the 2022 holiday ranges in ``national_holidays.csv`` is
closed. Every source file must be listed as MIT in ``MANIFEST.csv``.
"""

from __future__ import annotations

import csv
import hashlib
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from aigupiao.core.calendar_file import SourceCalendar, check_update, read_trade_cal
from aigupiao.domain.calendar import TradingCalendar

PRIMARY = "reference/UFund-Me_Qbot/pyfunds/backtest/xalpha/caldate.csv"
RECENT = "reference/Bancob_DSA5205/data/trade_cal.csv"
OPEN_DAY_LIST = "reference/UFund-Me_Qbot/docs/tutorials_code/02_HighFreq_Backtest/calender.csv"
TRADE_DAYS_JSON = "reference/UFund-Me_Qbot/pytrader/trade_days.json"
HOLIDAYS_2022 = "reference/UFund-Me_Qbot/qbot/config/national_holidays.csv"
ALL_SOURCES = (PRIMARY, RECENT, OPEN_DAY_LIST, TRADE_DAYS_JSON, HOLIDAYS_2022)

# What the README says each cross-check source gets wrong: days it marks open that
# were closed, then days it marks closed that traded.
_OPEN_DAY_LIST_ERRORS = (
    "2001-12-29", "2001-12-30", "2002-02-19", "2002-02-20", "2002-02-21", "2002-02-22",
    "2002-09-28", "2006-01-26", "2006-01-27",
    "2001-12-31", "2002-01-04",
)  # fmt: skip
_TRADE_DAYS_JSON_ERRORS = (
    "2022-05-03", "2022-05-04", "2023-05-02", "2023-05-03",
    "2023-04-03", "2023-04-04",
)  # fmt: skip
KNOWN_ERRORS: dict[str, frozenset[date]] = {
    OPEN_DAY_LIST: frozenset(map(date.fromisoformat, _OPEN_DAY_LIST_ERRORS)),
    TRADE_DAYS_JSON: frozenset(map(date.fromisoformat, _TRADE_DAYS_JSON_ERRORS)),
}

# After the sources end: the SSE/SZSE notices. The 2025 notice has no weekday closure
# after National Day (10-01 .. 10-08); the 2026 notice (上交所/深交所 2026年休市安排)
# closes these weekdays.
NOTICE_FIRST = date(2025, 10, 24)
NOTICE_LAST = date(2026, 12, 31)
NOTICE_CLOSURES: frozenset[date] = frozenset(
    date.fromisoformat(d)
    for d in (
        "2026-01-01", "2026-01-02",  # 元旦
        "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23",  # 春节
        "2026-04-06",  # 清明节
        "2026-05-01", "2026-05-04", "2026-05-05",  # 劳动节
        "2026-06-19",  # 端午节
        "2026-09-25",  # 中秋节
        "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",  # 国庆节
    )
)  # fmt: skip


class BuildError(Exception):
    """The sources are missing, not MIT, or fail a cross-check."""


@dataclass(frozen=True)
class _Source:
    path: str  # under the shared data dir
    repo: str
    commit: str
    sha256: str


def build(data_dir: Path) -> tuple[TradingCalendar, str]:
    """The calendar and the text of ``calendar_data.py``, from ``data_dir`` (``../shared/data``).

    Raises:
        BuildError: a source is missing or not MIT, or a cross-check fails.
    """
    sources = [_source(data_dir, path) for path in ALL_SOURCES]
    primary = read_trade_cal(data_dir / PRIMARY).calendar
    recent = read_trade_cal(data_dir / RECENT).calendar
    disagree = _differences(primary, SourceCalendar(recent, 0))
    if disagree:
        raise BuildError(f"{PRIMARY} and {RECENT} disagree on {_iso(disagree)}")
    notices = TradingCalendar(NOTICE_FIRST, NOTICE_LAST, NOTICE_CLOSURES, "SSE/SZSE notices")
    calendar = primary.merged(recent).merged(notices)
    for path in (OPEN_DAY_LIST, TRADE_DAYS_JSON):
        found = _differences(calendar, read_trade_cal(data_dir / path))
        if found != KNOWN_ERRORS[path]:
            unexpected = _iso(found ^ KNOWN_ERRORS[path])
            raise BuildError(f"{path}: differences other than its known errors: {unexpected}")
    holidays = _holiday_ranges(data_dir / HOLIDAYS_2022)
    open_in_holidays = [d for d in holidays if calendar.is_trading_day(d)]
    if open_in_holidays:
        raise BuildError(f"{HOLIDAYS_2022}: open in the calendar: {_iso(open_in_holidays)}")
    calendar = TradingCalendar(
        calendar.first,
        calendar.last,
        calendar.closed,
        "xalpha caldate 1991-2023, tushare trade_cal 2024-2025-10, SSE/SZSE notices 2025-2026",
    )
    return calendar, render(calendar, sources)


def _source(data_dir: Path, path: str) -> _Source:
    file = data_dir / path
    if not file.is_file():
        raise BuildError(f"missing source file {file}")
    with (data_dir / "MANIFEST.csv").open(encoding="utf-8", newline="") as handle:
        row = next((r for r in csv.DictReader(handle) if r["local_path"] == path), None)
    if row is None:
        raise BuildError(f"{path} is not in {data_dir / 'MANIFEST.csv'}")
    if row["license"] != "MIT":
        raise BuildError(f"{path} is not MIT licensed ({row['license']}); it cannot be used")
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    return _Source(path, row["source_repo"], row["source_commit"], digest)


def _differences(calendar: TradingCalendar, other: SourceCalendar) -> frozenset[date]:
    """Days ``other`` gets wrong where both cover: open vs closed either way, open weekends."""
    check = check_update(calendar, other)
    return frozenset((*check.reopened, *check.closed_known, *other.weekend_open))


def _iso(days: Iterable[date]) -> str:
    return ", ".join(day.isoformat() for day in sorted(days))


def _holiday_ranges(path: Path) -> list[date]:
    """The weekdays inside the holiday ranges of ``national_holidays.csv``."""
    days = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            year = int(row["year"])
            day = date.fromisoformat(f"{year}-{row['startDate']}")
            end = date.fromisoformat(f"{year}-{row['endDate']}")
            while day <= end:
                if day.weekday() < 5:
                    days.append(day)
                day += timedelta(days=1)
    return days


def render(calendar: TradingCalendar, sources: list[_Source]) -> str:
    """The text of ``calendar_data.py`` (stable: the same input gives the same bytes)."""
    provenance = "\n".join(
        f"#   {s.path} ({'data' if s.path in (PRIMARY, RECENT) else 'cross-check'})\n"
        f"#     {s.repo}\n#     commit {s.commit}, MIT, sha256 {s.sha256[:16]}"
        for s in sources
    )
    years: dict[int, list[str]] = {}
    for day in calendar.closures():
        years.setdefault(day.year, []).append(f"{day:%m%d}")
    entries = []
    for year in range(calendar.first.year, calendar.last.year + 1):
        text = " ".join(years.get(year, []))
        line = f'    {year}: "{text}",'
        if len(line) <= 100:
            entries.append(line)
            continue
        # ruff format joins the pieces back when they fit; 90 characters do not
        parts = textwrap.wrap(text, width=90)
        joined = "\n".join(
            f'        "{"" if i == 0 else " "}{part}"' for i, part in enumerate(parts)
        )
        entries.append(f"    {year}: (\n{joined}\n    ),")
    body = "\n".join(entries)
    return f'''"""The built-in trading calendar's data. GENERATED: do not edit by hand.

Regenerate with ``aigupiao calendar generate`` (it reads ../shared/data; see
``aigupiao/cli/_calendar_build.py`` for how the sources are combined and checked).
"""

# Sources (all MIT licensed; only the derived closures are kept here):
{provenance}
#   SSE/SZSE holiday notices for {NOTICE_FIRST} .. {NOTICE_LAST}
#     (no weekday closure after 2025-10-08; the 2026 closures)
# Cross-checked: every daily data set in ../shared/data trades only on open days
# (tests/unit/domain/test_calendar_data.py); the known errors of calender.csv and
# trade_days.json are not imported.

SOURCE = "{calendar.source}"
FIRST_DAY = "{calendar.first}"
LAST_DAY = "{calendar.last}"

# Weekdays (Monday-Friday) on which the exchanges were closed, per year, as MMDD.
# Saturdays and Sundays are always closed and not listed.
CLOSED_WEEKDAYS: dict[int, str] = {{
{body}
}}
'''
