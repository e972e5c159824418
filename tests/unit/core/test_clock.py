"""Clocks: live, manual and the simulated trading-day clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from aigupiao.core.clock import BEIJING, LiveClock, ManualClock, TradingDayClock
from aigupiao.domain.sessions import Phase, is_trading_day, phase_at

MONDAY = date(2026, 9, 14)
FRIDAY = date(2026, 9, 11)
DAY_SECONDS = 8100 + 7260  # 09:15-11:30 plus 13:00-15:01 (a quiet minute after the close)


class FakeRealTime:
    """A real-time source the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


def bj(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), BEIJING)


def make(start: datetime, speed: float = 1.0) -> tuple[TradingDayClock, FakeRealTime]:
    real = FakeRealTime()
    return TradingDayClock(start, speed=speed, real_time=real), real


# --- LiveClock / ManualClock -------------------------------------------------------------


def test_live_clock_is_aware_beijing_time() -> None:
    clock = LiveClock()
    now = clock.now()
    assert now.tzinfo is BEIJING
    assert now.utcoffset() == timedelta(hours=8)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    assert clock.today() in {(now - timedelta(seconds=5)).date(), now.date()}


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(datetime(2026, 9, 14, 9, 30))
    assert clock.now() == bj(MONDAY, 9, 30)
    assert clock.now().tzinfo is BEIJING  # naive start is read as Beijing time
    assert clock.now() == clock.now()
    clock.advance(90)
    assert clock.now() == bj(MONDAY, 9, 31, 30)
    clock.advance(0.25)
    assert clock.now() == bj(MONDAY, 9, 31, 30) + timedelta(milliseconds=250)
    clock.set(datetime(2026, 9, 15, 14, 0))
    assert clock.now() == bj(date(2026, 9, 15), 14, 0)
    assert clock.now().tzinfo is BEIJING
    assert clock.today() == date(2026, 9, 15)
    clock.advance(11 * 3600)  # past midnight
    assert clock.today() == date(2026, 9, 16)


def test_manual_clock_keeps_an_aware_beijing_start() -> None:
    start = bj(MONDAY, 10, 0)
    assert ManualClock(start).now() == start


def test_manual_clock_converts_aware_times_to_beijing() -> None:
    clock = ManualClock(datetime(2026, 9, 14, 17, 0, tzinfo=UTC))  # 2026-09-15 01:00 in Beijing
    assert clock.today() == date(2026, 9, 15)
    assert clock.now().utcoffset() == timedelta(hours=8)


# --- TradingDayClock ---------------------------------------------------------------------


def test_rejects_non_positive_speed() -> None:
    for speed in (0, -1.0):
        with pytest.raises(ValueError):
            TradingDayClock(bj(MONDAY, 9, 30), speed=speed, real_time=FakeRealTime())


def test_starts_at_the_given_moment_and_runs_at_speed() -> None:
    clock, real = make(bj(MONDAY, 9, 30), speed=60)
    assert clock.speed == 60
    assert clock.now() == bj(MONDAY, 9, 30)
    assert clock.now().tzinfo is BEIJING
    real.advance(1)
    assert clock.now() == bj(MONDAY, 9, 31)
    real.advance(59)
    assert clock.now() == bj(MONDAY, 10, 30)
    real.advance(0.5)
    assert clock.now() == bj(MONDAY, 10, 30, 30)
    assert clock.today() == MONDAY


def test_naive_start_is_beijing_time() -> None:
    clock, _ = make(datetime(2026, 9, 14, 10, 0))
    assert clock.now() == bj(MONDAY, 10, 0)
    assert clock.now().tzinfo is BEIJING


def test_time_does_not_move_without_real_time() -> None:
    clock, _ = make(bj(MONDAY, 9, 30), speed=1000)
    assert clock.now() == clock.now() == bj(MONDAY, 9, 30)


def test_jumps_from_11_30_to_13_00() -> None:
    clock, real = make(bj(MONDAY, 9, 30))
    real.advance(2 * 3600 - 1)
    assert clock.now() == bj(MONDAY, 11, 29, 59)
    real.advance(1)
    assert clock.now() == bj(MONDAY, 13, 0)  # never 11:30
    real.advance(60)
    assert clock.now() == bj(MONDAY, 13, 1)


def test_the_close_is_seen_then_the_next_trading_days_opening_auction() -> None:
    clock, real = make(bj(MONDAY, 9, 30))
    real.advance(4 * 3600 - 1)  # 2h morning + 2h afternoon
    assert clock.now() == bj(MONDAY, 14, 59, 59)
    real.advance(1)
    assert clock.now() == bj(MONDAY, 15, 0)  # the closing match
    real.advance(59)
    assert clock.now() == bj(MONDAY, 15, 0, 59)
    real.advance(1)
    assert clock.now() == bj(date(2026, 9, 15), 9, 15)
    assert clock.today() == date(2026, 9, 15)


def test_friday_close_jumps_to_monday() -> None:
    clock, real = make(bj(FRIDAY, 14, 0))
    real.advance(3660)
    assert clock.now() == bj(MONDAY, 9, 15)


def test_close_before_a_holiday_skips_it() -> None:
    clock, real = make(bj(date(2026, 9, 30), 14, 59))
    real.advance(120)
    assert clock.now() == bj(date(2026, 10, 8), 9, 15)
    clock, real = make(bj(date(2026, 9, 24), 14, 59))
    real.advance(120)
    assert clock.now() == bj(date(2026, 9, 28), 9, 15)


def test_a_full_trading_day_later_is_the_same_time_next_trading_day() -> None:
    clock, real = make(bj(FRIDAY, 10, 0), speed=60)
    real.advance(DAY_SECONDS / 60)
    assert clock.now() == bj(MONDAY, 10, 0)
    real.advance(5 * DAY_SECONDS / 60)
    assert clock.now() == bj(date(2026, 9, 21), 10, 0)


def test_start_in_lunch_or_before_the_open_moves_to_the_next_session() -> None:
    clock, _ = make(bj(MONDAY, 12, 0))
    assert clock.now() == bj(MONDAY, 13, 0)
    clock, _ = make(bj(MONDAY, 8, 0))
    assert clock.now() == bj(MONDAY, 9, 15)
    clock, _ = make(bj(MONDAY, 18, 0))
    assert clock.now() == bj(date(2026, 9, 15), 9, 15)


def test_never_inside_lunch_or_outside_sessions() -> None:
    clock, real = make(bj(MONDAY, 9, 30), speed=1)
    previous = clock.now()
    allowed = {Phase.OPENING_AUCTION, Phase.PRE_OPEN, Phase.CONTINUOUS, Phase.CLOSING_AUCTION}
    seen_days = set()
    # about twelve trading days, in steps that do not divide the sessions evenly
    for _ in range(12 * DAY_SECONDS // 37):
        real.advance(37)
        now = clock.now()
        assert now.tzinfo is BEIJING
        assert phase_at(now) in allowed or time(15, 0) <= now.time() < time(15, 1), now
        assert is_trading_day(now.date()), now
        assert not time(11, 30) <= now.time() < time(13, 0), now
        assert time(9, 15) <= now.time() < time(15, 1), now
        assert now > previous
        previous = now
        seen_days.add(now.date())
    assert date(2026, 9, 25) not in seen_days  # holiday skipped
    assert len(seen_days) >= 12


def test_sampled_at_every_session_boundary() -> None:
    # elapsed trading seconds from 09:30 -> expected simulated time
    cases = {
        0: bj(MONDAY, 9, 30),
        7199: bj(MONDAY, 11, 29, 59),
        7200: bj(MONDAY, 13, 0),
        7200 + 7019: bj(MONDAY, 14, 56, 59),
        7200 + 7020: bj(MONDAY, 14, 57),
        14399: bj(MONDAY, 14, 59, 59),
        14400: bj(MONDAY, 15, 0),
        14459: bj(MONDAY, 15, 0, 59),
        14460: bj(date(2026, 9, 15), 9, 15),
        14460 + 600: bj(date(2026, 9, 15), 9, 25),
        14460 + 900: bj(date(2026, 9, 15), 9, 30),
        14460 + 8100: bj(date(2026, 9, 15), 13, 0),
    }
    for elapsed, expected in cases.items():
        clock, real = make(bj(MONDAY, 9, 30))
        real.advance(elapsed)
        assert clock.now() == expected, elapsed


def test_never_returns_the_lunch_break_even_with_sub_microsecond_elapsed() -> None:
    clock, real = make(bj(MONDAY, 9, 30))
    real.advance(7199.9999996)
    assert phase_at(clock.now()) is not Phase.LUNCH


def test_aware_utc_start_is_converted_to_beijing() -> None:
    start = datetime(2026, 9, 14, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
    clock, _ = make(start)
    assert clock.now() == bj(MONDAY, 9, 30)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2026, 9, 14), date(2026, 9, 14)),  # a trading day: itself
        (date(2026, 9, 12), date(2026, 9, 11)),  # Saturday -> Friday
        (date(2026, 9, 13), date(2026, 9, 11)),  # Sunday -> Friday
        (date(2026, 10, 1), date(2026, 9, 30)),  # holiday -> last trading day
        (date(2026, 10, 5), date(2026, 9, 30)),  # holiday Monday -> before the week
    ],
)
def test_starting_today_picks_the_latest_trading_day(on: date, expected: date) -> None:
    clock = TradingDayClock.starting_today(speed=1.0, on=on)
    now = clock.now()
    # starting_today takes no real_time, so it runs on the monotonic clock: allow a little drift
    assert bj(expected, 9, 30) <= now < bj(expected, 9, 30, 5)
    assert clock.speed == 1.0


def test_starting_today_default_is_a_trading_day_at_or_before_today() -> None:
    clock = TradingDayClock.starting_today(speed=1.0)
    now = clock.now()
    assert is_trading_day(now.date())
    assert now.date() <= datetime.now(BEIJING).date()
    assert (datetime.now(BEIJING).date() - now.date()).days < 15
    assert time(9, 30) <= now.time() < time(9, 30, 5)
