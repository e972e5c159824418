"""The trading calendar: the built-in data, navigation, counting, merging an update."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from aigupiao.domain import sessions
from aigupiao.domain.calendar import TradingCalendar, builtin_calendar

CALENDAR = builtin_calendar()

HOLIDAYS_2026 = [
    "2026-01-01", "2026-01-02",
    "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23",
    "2026-04-06",
    "2026-05-01", "2026-05-04", "2026-05-05",
    "2026-06-19",
    "2026-09-25",
    "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",
]  # fmt: skip


@pytest.fixture
def restore_calendar() -> Iterator[None]:
    previous = sessions.current_calendar()
    yield
    sessions.use_calendar(previous)


def test_the_builtin_calendar_covers_1991_to_2026() -> None:
    assert CALENDAR.first == date(1991, 1, 1)
    assert CALENDAR.last == date(2026, 12, 31)
    assert CALENDAR.covers(date(2000, 6, 1)) and not CALENDAR.covers(date(2027, 1, 4))
    assert all(day.weekday() < 5 for day in CALENDAR.closed)
    assert "xalpha" in CALENDAR.source


def test_2026_closures_follow_the_exchanges_notice() -> None:
    assert CALENDAR.closures(2026) == [date.fromisoformat(d) for d in HOLIDAYS_2026]
    assert CALENDAR.count_trading_days(date(2026, 1, 1), date(2026, 12, 31)) == 242
    assert sessions.HOLIDAYS == CALENDAR.closed


@pytest.mark.parametrize(
    ("year", "trading_days"),
    [(2016, 244), (2019, 244), (2020, 243), (2022, 242), (2023, 242), (2024, 242), (2025, 243)],
)
def test_trading_days_per_year(year: int, trading_days: int) -> None:
    assert CALENDAR.count_trading_days(date(year, 1, 1), date(year, 12, 31)) == trading_days
    assert len(CALENDAR.trading_days(date(year, 1, 1), date(year, 12, 31))) == trading_days


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 2, 8), date(2024, 2, 19)),  # 甲辰 Spring Festival 2024
        (date(2025, 1, 27), date(2025, 2, 5)),  # 乙巳 2025
        (date(2026, 2, 13), date(2026, 2, 24)),  # 丙午 2026
        (date(2023, 1, 20), date(2023, 1, 30)),
        (date(2016, 2, 5), date(2016, 2, 15)),
        (date(1999, 2, 9), date(1999, 3, 1)),  # the longest closure: 13 weekdays
        (date(2025, 9, 30), date(2025, 10, 9)),  # National Day 2025
    ],
)
def test_next_and_previous_across_long_holidays(day: date, expected: date) -> None:
    assert CALENDAR.next_trading_day(day) == expected
    assert CALENDAR.previous_trading_day(expected) == day
    assert sessions.next_trading_day(day) == expected
    assert sessions.previous_trading_day(expected) == day
    assert CALENDAR.trading_days(day, expected) == [day, expected]
    assert CALENDAR.count_trading_days(day + timedelta(days=1), expected - timedelta(days=1)) == 0


def test_the_known_errors_of_trade_days_json_are_not_imported() -> None:
    # trade_days.json lists the 2022/2023 Labour Day closures as open ...
    for day in ("2022-05-03", "2022-05-04", "2023-05-02", "2023-05-03"):
        assert not sessions.is_trading_day(date.fromisoformat(day)), day
    # ... and leaves out two days that traded
    for day in ("2023-04-03", "2023-04-04"):
        assert sessions.is_trading_day(date.fromisoformat(day)), day


def test_the_known_errors_of_calender_csv_are_not_imported() -> None:
    for day in ("2002-02-19", "2002-02-20", "2002-02-21", "2002-02-22", "2006-01-26"):
        assert not CALENDAR.is_trading_day(date.fromisoformat(day)), day
    for day in ("2001-12-31", "2002-01-04"):
        assert CALENDAR.is_trading_day(date.fromisoformat(day)), day


def test_outside_the_range_every_weekday_trades() -> None:
    assert CALENDAR.is_trading_day(date(2027, 1, 1))  # a Friday; no 2027 data yet
    assert not CALENDAR.is_trading_day(date(2027, 1, 2))
    assert CALENDAR.next_trading_day(date(2026, 12, 31)) == date(2027, 1, 1)
    assert CALENDAR.count_trading_days(date(2027, 1, 4), date(2027, 1, 17)) == 10
    assert CALENDAR.is_trading_day(date(1990, 12, 31))


def test_count_matches_the_list_everywhere() -> None:
    for start, end in [
        (date(1990, 12, 20), date(1991, 2, 1)),
        (date(2015, 6, 1), date(2016, 3, 1)),
        (date(2026, 9, 20), date(2027, 1, 10)),
        (date(2026, 10, 3), date(2026, 10, 4)),  # a weekend
        (date(2026, 10, 5), date(2026, 10, 1)),  # start after end
    ]:
        assert CALENDAR.count_trading_days(start, end) == len(CALENDAR.trading_days(start, end))


def test_from_open_days_and_validation() -> None:
    days = [date(2030, 1, 2), date(2030, 1, 3), date(2030, 1, 7)]
    calendar = TradingCalendar.from_open_days(days, source="test")
    assert (calendar.first, calendar.last) == (date(2030, 1, 2), date(2030, 1, 7))
    assert calendar.closures() == [date(2030, 1, 4)]
    with pytest.raises(ValueError, match="weekdays"):
        TradingCalendar(date(2030, 1, 1), date(2030, 1, 31), frozenset({date(2030, 1, 5)}))
    with pytest.raises(ValueError, match="outside"):
        TradingCalendar(date(2030, 1, 1), date(2030, 1, 31), frozenset({date(2030, 2, 1)}))
    with pytest.raises(ValueError, match="empty"):
        TradingCalendar(date(2030, 1, 2), date(2030, 1, 1), frozenset())


def test_an_update_replaces_closures_inside_its_range_only() -> None:
    update = TradingCalendar(
        date(2026, 10, 1), date(2027, 12, 31), frozenset({date(2027, 2, 11), date(2026, 10, 8)})
    )
    merged = CALENDAR.merged(update)
    assert (merged.first, merged.last) == (date(1991, 1, 1), date(2027, 12, 31))
    assert not merged.is_trading_day(date(2027, 2, 11))
    assert not merged.is_trading_day(date(2026, 10, 8))
    assert merged.is_trading_day(date(2026, 10, 1))  # the update says open: it wins inside
    assert not merged.is_trading_day(date(2026, 9, 25))  # outside the update: kept
    gap = TradingCalendar(date(2028, 1, 3), date(2028, 12, 29), frozenset())
    with pytest.raises(ValueError, match="gap"):
        CALENDAR.merged(gap)
    adjacent = TradingCalendar(date(2027, 1, 1), date(2027, 1, 31), frozenset({date(2027, 1, 1)}))
    assert CALENDAR.merged(adjacent).last == date(2027, 1, 31)


@pytest.mark.usefixtures("restore_calendar")
def test_sessions_use_the_installed_calendar() -> None:
    new_year_2027 = date(2027, 1, 1)
    assert sessions.is_trading_day(new_year_2027)
    update = TradingCalendar(new_year_2027, date(2027, 1, 31), frozenset({new_year_2027}), "t")
    previous = sessions.use_calendar(CALENDAR.merged(update))
    assert previous is CALENDAR
    assert not sessions.is_trading_day(new_year_2027)
    assert sessions.next_trading_day(date(2026, 12, 31)) == date(2027, 1, 4)
    assert sessions.phase_at(datetime(2027, 1, 1, 10, 0)) is sessions.Phase.CLOSED
    assert sessions.current_calendar().last == date(2027, 1, 31)


def test_restricted_keeps_the_closures_inside() -> None:
    part = CALENDAR.restricted(date(2026, 2, 1), date(2027, 3, 1))
    assert (part.first, part.last) == (date(2026, 2, 1), date(2026, 12, 31))
    assert part.closures()[0] == date(2026, 2, 16) and len(part.closures()) == 17
