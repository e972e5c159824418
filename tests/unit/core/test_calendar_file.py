"""Calendar source files and the update file: formats, checks, round trip, start-up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from aigupiao.core.calendar_file import (
    CalendarFileError,
    bridge,
    check_update,
    effective_calendar,
    install_update,
    parse_day,
    read_trade_cal,
    read_update,
    write_update,
)
from aigupiao.domain import sessions
from aigupiao.domain.calendar import TradingCalendar, builtin_calendar

BUILTIN = builtin_calendar()


@pytest.fixture
def restore_calendar() -> Iterator[None]:
    previous = sessions.current_calendar()
    yield
    sessions.use_calendar(previous)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def days_2027() -> list[date]:
    """Every day of 2027 (for a made-up 2027 calendar)."""
    return [date(2027, 1, 1) + timedelta(days=k) for k in range(365)]


CLOSED_2027 = {date(2027, 1, 1), date(2027, 2, 8), date(2027, 2, 9), date(2027, 10, 1)}


def tushare_2027(tmp_path: Path, closed: set[date] = CLOSED_2027) -> Path:
    """tushare ``trade_cal`` with every day of 2027, both exchanges."""
    lines = ["exchange,cal_date,is_open,pretrade_date"]
    for day in days_2027():
        is_open = int(day.weekday() < 5 and day not in closed)
        lines += [f"SSE,{day:%Y%m%d},{is_open},", f"SZSE,{day:%Y%m%d},{is_open},"]
    return write(tmp_path, "trade_cal.csv", "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240102", date(2024, 1, 2)),
        ("2024-01-02", date(2024, 1, 2)),
        ("2024/01/02", date(2024, 1, 2)),
        ("2024-01-02 00:00:00", date(2024, 1, 2)),
        (' "2024-01-02" ', date(2024, 1, 2)),
    ],
)
def test_parse_day(text: str, expected: date) -> None:
    assert parse_day(text) == expected


def test_a_tushare_file_with_both_exchanges(tmp_path: Path) -> None:
    source = read_trade_cal(tushare_2027(tmp_path))
    assert (source.calendar.first, source.calendar.last) == (date(2027, 1, 1), date(2027, 12, 31))
    assert set(source.calendar.closed) == CLOSED_2027
    assert source.rows == 365 and source.missing == () and source.weekend_open == ()


def test_open_day_lists_in_every_shape(tmp_path: Path) -> None:
    open_days = [d for d in days_2027() if d.weekday() < 5 and d not in CLOSED_2027]
    shapes = {
        "bancob.csv": "cal_date,is_open,pretrade_date\n"
        + "".join(f"{d:%Y%m%d},1,\n" for d in open_days),
        "akshare.csv": ",trade_date\n" + "".join(f"{i},{d}\n" for i, d in enumerate(open_days)),
        "calender.csv": "cal_date\n" + "".join(f"{d},{d}\n" for d in open_days),
        "plain.txt": "".join(f"{d:%Y/%m/%d}\n" for d in open_days),
        "list.json": json.dumps([str(d) for d in open_days]),
        "dict.json": json.dumps({str(i): str(d) for i, d in enumerate(open_days)}),
    }
    for name, text in shapes.items():
        calendar = read_trade_cal(write(tmp_path, name, text)).calendar
        # The range runs from the first to the last open day: 2027-01-01 is a closure
        assert calendar.first == date(2027, 1, 4), name
        assert set(calendar.closed) == CLOSED_2027 - {date(2027, 1, 1)}, name


def test_a_full_listing_with_gaps_says_so(tmp_path: Path) -> None:
    text = "cal_date,is_open\n2027-01-04,1\n2027-01-05,0\n2027-01-07,1\n"
    source = read_trade_cal(write(tmp_path, "gaps.csv", text))
    assert source.missing == (date(2027, 1, 6),)
    assert set(source.calendar.closed) == {date(2027, 1, 5), date(2027, 1, 6)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cal_date,is_open\n20270104,1\n2027-13-01,1\n", "第 3 行|line: text"),
        ("cal_date,is_open\n20270104,1\n20270104,0\n", "2027-01-04"),
        ("cal_date,is_open\n20270104,yes\n", "is_open"),
        ("cal_date,is_open\n", "holds no dates"),
        ("", "empty"),
        ("name,value\nx,1\n", "no date column"),
        ("cal_date\n19000101\n", "unreadable"),
        ("{not json", "not JSON"),
        ('{"format": "aigupiao-calendar/1", "first": "x"}', "invalid calendar update"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.json" if text.startswith("{") else "bad.csv", text)
    with pytest.raises(CalendarFileError, match=message):
        read_trade_cal(path)


def test_unreadable_dates_are_listed_by_line(tmp_path: Path) -> None:
    text = "trade_date\n2027-01-04\nsoon\n2027-01-05\nlater\n"
    with pytest.raises(CalendarFileError) as caught:
        read_trade_cal(write(tmp_path, "bad.csv", text))
    assert "3: 'soon'" in str(caught.value) and "5: 'later'" in str(caught.value)
    assert "无法识别" in str(caught.value)


def test_a_new_year_is_added_without_complaint(tmp_path: Path) -> None:
    check = check_update(BUILTIN, read_trade_cal(tushare_2027(tmp_path)))
    assert check.refusals() == []
    assert set(check.added) == CLOSED_2027
    assert check.reopened == () and check.closed_known == ()
    assert "新增 4 个休市日" in check.notes()[0][0]


def test_changes_to_known_days_are_refused(tmp_path: Path) -> None:
    # The known errors of trade_days.json, as a file: two Labour Day closures open, two
    # trading days missing.
    open_days = BUILTIN.trading_days(date(2023, 3, 20), date(2023, 5, 31))
    open_days = [d for d in open_days if d not in (date(2023, 4, 3), date(2023, 4, 4))]
    open_days += [date(2023, 5, 2), date(2023, 5, 3)]
    text = "\n".join(str(d) for d in sorted(open_days))
    check = check_update(BUILTIN, read_trade_cal(write(tmp_path, "wrong.txt", text)))
    assert check.reopened == (date(2023, 5, 2), date(2023, 5, 3))
    assert check.closed_known == (date(2023, 4, 3), date(2023, 4, 4))
    reasons = check.refusals()
    assert len(reasons) == 2
    assert "会取消 2 个已知休市日" in reasons[0][0] and "would reopen" in reasons[0][1]
    assert "已知交易日改为休市" in reasons[1][0] and "would close" in reasons[1][1]


def test_weekends_and_long_closures_are_refused(tmp_path: Path) -> None:
    days = [date(2027, 1, 4), date(2027, 1, 9), date(2027, 3, 1)]  # a Saturday; then 7 weeks
    check = check_update(
        BUILTIN, read_trade_cal(write(tmp_path, "odd.txt", "\n".join(map(str, days))))
    )
    reasons = " ".join(zh for zh, _ in check.refusals())
    assert "2027-01-09" in reasons and "周末" in reasons
    assert "连续休市" in reasons and "2027-01-05..2027-02-26" in reasons


def test_update_file_round_trip(tmp_path: Path) -> None:
    update = read_trade_cal(tushare_2027(tmp_path)).calendar
    path = tmp_path / "var" / "calendar.json"
    write_update(path, update)
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["format"] == "aigupiao-calendar/1"
    assert stored["first"] == "2027-01-01" and stored["last"] == "2027-12-31"
    assert stored["closed"] == sorted(d.isoformat() for d in CLOSED_2027)
    assert read_update(path) == update
    assert read_trade_cal(path).calendar == update  # an update file is a source too

    effective = effective_calendar(path)
    assert (effective.first, effective.last) == (BUILTIN.first, date(2027, 12, 31))
    assert effective.closures(2026) == BUILTIN.closures(2026)
    assert set(effective.closures(2027)) == CLOSED_2027
    assert effective_calendar(tmp_path / "none.json") is BUILTIN


@pytest.mark.usefixtures("restore_calendar")
def test_install_at_start(tmp_path: Path) -> None:
    path = tmp_path / "calendar.json"
    assert install_update(path) is None
    assert sessions.current_calendar() is BUILTIN
    write_update(path, read_trade_cal(tushare_2027(tmp_path)).calendar)
    installed = install_update(path)
    assert installed is not None and sessions.current_calendar() is installed
    assert not sessions.is_trading_day(date(2027, 2, 8))
    assert sessions.next_trading_day(date(2027, 2, 5)) == date(2027, 2, 10)
    assert sessions.is_trading_day(date(2026, 12, 31))


@pytest.mark.usefixtures("restore_calendar")
def test_a_broken_or_detached_update_stops_the_start(tmp_path: Path) -> None:
    path = write(tmp_path, "calendar.json", "{")
    with pytest.raises(CalendarFileError, match="calendar update"):
        install_update(path)
    write_update(path, TradingCalendar(date(2030, 1, 1), date(2030, 12, 31), frozenset()))
    with pytest.raises(CalendarFileError, match="gap"):
        install_update(path)
    assert sessions.current_calendar() is BUILTIN


def test_bridge_reaches_back_to_the_known_calendar(tmp_path: Path) -> None:
    text = "\n".join(["2027-01-04", "2027-01-05"])
    source = read_trade_cal(write(tmp_path, "jan.txt", text))
    bridged = bridge(BUILTIN, source)
    assert bridged.calendar.first == date(2027, 1, 1)
    assert bridged.assumed_closed == (date(2027, 1, 1),)
    assert check_update(BUILTIN, bridged).refusals() == []
    overlapping = read_trade_cal(write(tmp_path, "dec.txt", "2026-12-30\n2026-12-31\n2027-01-04"))
    assert bridge(BUILTIN, overlapping) is overlapping
