"""Trading calendar and market phases."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from aigupiao.domain.sessions import (
    HOLIDAYS,
    Phase,
    is_continuous,
    is_trading_day,
    next_trading_day,
    phase_at,
    previous_trading_day,
)

MONDAY = date(2026, 9, 14)


def at(hh: int, mm: int, ss: int = 0, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time(hh, mm, ss))


@pytest.mark.parametrize(
    ("hh", "mm", "ss", "phase"),
    [
        (0, 0, 0, Phase.CLOSED),
        (9, 0, 0, Phase.CLOSED),
        (9, 14, 59, Phase.CLOSED),
        (9, 15, 0, Phase.OPENING_AUCTION),
        (9, 20, 0, Phase.OPENING_AUCTION),
        (9, 24, 59, Phase.OPENING_AUCTION),
        (9, 25, 0, Phase.PRE_OPEN),
        (9, 29, 59, Phase.PRE_OPEN),
        (9, 30, 0, Phase.CONTINUOUS),
        (10, 30, 0, Phase.CONTINUOUS),
        (11, 29, 59, Phase.CONTINUOUS),
        (11, 30, 0, Phase.LUNCH),
        (12, 0, 0, Phase.LUNCH),
        (12, 59, 59, Phase.LUNCH),
        (13, 0, 0, Phase.CONTINUOUS),
        (14, 56, 59, Phase.CONTINUOUS),
        (14, 57, 0, Phase.CLOSING_AUCTION),
        (14, 59, 59, Phase.CLOSING_AUCTION),
        (15, 0, 0, Phase.CLOSED),
        (15, 30, 0, Phase.CLOSED),
        (23, 59, 59, Phase.CLOSED),
    ],
)
def test_phase_across_a_trading_day(hh: int, mm: int, ss: int, phase: Phase) -> None:
    assert phase_at(at(hh, mm, ss)) is phase
    assert is_continuous(at(hh, mm, ss)) is (phase is Phase.CONTINUOUS)


def test_09_14_is_closed_and_09_15_opens_the_auction() -> None:
    assert phase_at(at(9, 14)) is Phase.CLOSED
    assert phase_at(at(9, 15)) is Phase.OPENING_AUCTION


def test_microsecond_boundaries() -> None:
    assert phase_at(at(11, 30) - timedelta(microseconds=1)) is Phase.CONTINUOUS
    assert phase_at(at(15, 0) - timedelta(microseconds=1)) is Phase.CLOSING_AUCTION


@pytest.mark.parametrize("day", [date(2026, 9, 12), date(2026, 9, 13)])
def test_weekend_is_closed_all_day(day: date) -> None:
    assert not is_trading_day(day)
    for hour in range(24):
        assert phase_at(at(hour, 0, day=day)) is Phase.CLOSED
    assert phase_at(at(10, 0, day=day)) is Phase.CLOSED


@pytest.mark.parametrize(
    "day", [date(2026, 10, 1), date(2026, 9, 25), date(2026, 1, 1), date(2026, 2, 18)]
)
def test_listed_weekday_holiday_is_closed(day: date) -> None:
    assert day.weekday() < 5
    assert day in HOLIDAYS
    assert not is_trading_day(day)
    assert phase_at(at(10, 0, day=day)) is Phase.CLOSED
    assert not is_continuous(at(10, 0, day=day))


def test_holidays_are_all_weekdays() -> None:
    assert HOLIDAYS
    assert all(day.weekday() < 5 for day in HOLIDAYS)


def test_ordinary_weekdays_trade() -> None:
    for day in (MONDAY, date(2026, 9, 11), date(2026, 9, 30), date(2026, 10, 8)):
        assert is_trading_day(day), day


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 9, 14), date(2026, 9, 15)),  # Monday -> Tuesday
        (date(2026, 9, 11), date(2026, 9, 14)),  # Friday -> Monday
        (date(2026, 9, 12), date(2026, 9, 14)),  # Saturday -> Monday
        (date(2026, 9, 24), date(2026, 9, 28)),  # Thursday -> holiday Friday, weekend
        (date(2026, 9, 30), date(2026, 10, 8)),  # National Day week
        (date(2026, 2, 13), date(2026, 2, 24)),  # Spring Festival
        (date(2025, 12, 31), date(2026, 1, 5)),  # New Year + weekend
    ],
)
def test_next_trading_day(day: date, expected: date) -> None:
    assert next_trading_day(day) == expected
    assert is_trading_day(expected)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 9, 15), date(2026, 9, 14)),
        (date(2026, 9, 14), date(2026, 9, 11)),  # Monday -> Friday
        (date(2026, 9, 13), date(2026, 9, 11)),  # Sunday -> Friday
        (date(2026, 10, 8), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2026, 9, 30)),
        (date(2026, 2, 24), date(2026, 2, 13)),
    ],
)
def test_previous_trading_day(day: date, expected: date) -> None:
    assert previous_trading_day(day) == expected


def test_next_and_previous_are_inverse_on_trading_days() -> None:
    day = date(2026, 1, 5)
    while day < date(2026, 12, 31):
        following = next_trading_day(day)
        assert previous_trading_day(following) == day
        assert all(
            not is_trading_day(day + timedelta(days=k)) for k in range(1, (following - day).days)
        )
        day = following


def test_continuous_windows() -> None:
    for start, end in ((time(9, 30), time(11, 30)), (time(13, 0), time(14, 57))):
        assert is_continuous(datetime.combine(MONDAY, start))
        assert not is_continuous(datetime.combine(MONDAY, end))
