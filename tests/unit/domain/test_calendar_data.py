"""The built-in calendar against the real data in ../shared/data (read in place).

Every daily bar of the 1a, 1b and 1c sets falls on a trading day, 1a (264 symbols,
2021-01 .. 2026-04) trades on every trading day, and the generated data module is what
``aigupiao calendar generate`` makes from the MIT sources today.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aigupiao.cli import _calendar_build
from aigupiao.domain import calendar_data
from aigupiao.domain.calendar import builtin_calendar
from aigupiao.domain.sessions import is_trading_day

from ...conftest import SHARED, service_missing

CALENDAR = builtin_calendar()
DAILY_1A = "daily/hzjsw_stock-backtest/data"
DAILY_1B = "daily/UFund-Me_Qbot/docs/tutorials_code"
DAILY_1C = "daily/zz090923610_stock/data"


@pytest.fixture(scope="module")
def data_dir() -> Path:
    path = SHARED / "data"
    if not (path / DAILY_1A).is_dir():
        service_missing("the shared data folder ../shared/data")
    return path


def _first_column_dates(folder: Path, pattern: str = "*.csv") -> dict[date, str]:
    """Every date in the first column of the CSVs under ``folder`` -> one file that has it."""
    seen: dict[str, str] = {}
    files = sorted(folder.glob(pattern))
    assert files, folder
    for file in files:
        with file.open(encoding="utf-8") as handle:
            next(handle)
            for line in handle:
                seen.setdefault(line[:10], file.name)
    return {date.fromisoformat(text): name for text, name in seen.items() if text.strip()}


def _tushare_dates(folder: Path) -> dict[date, str]:
    """``trade_date`` (YYYYMMDD) of the tushare-format files, ``date`` of the index file."""
    seen: dict[str, str] = {}
    files = sorted(folder.glob("*/*/*.csv"))
    assert len(files) > 1700, folder
    for file in files:
        with file.open(encoding="utf-8") as handle:
            header = next(handle).rstrip("\n").split(",")
            column = header.index("trade_date" if "trade_date" in header else "date")
            for line in handle:
                seen.setdefault(line.split(",")[column].replace("-", "")[:8], file.name)
    return {date(int(t[:4]), int(t[4:6]), int(t[6:8])): name for t, name in seen.items()}


def _not_trading(days: dict[date, str]) -> list[tuple[date, str]]:
    return sorted((day, name) for day, name in days.items() if not is_trading_day(day))


def test_every_1a_date_trades_and_1a_trades_every_trading_day(data_dir: Path) -> None:
    days = _first_column_dates(data_dir / DAILY_1A)
    assert min(days) == date(1997, 6, 10) and max(days) == date(2026, 4, 30)
    assert _not_trading(days) == []
    # 264 symbols: on every trading day from 2021-01-04 to 2026-04-30 one of them traded,
    # which checks the 2025-10 .. 2026-04 closures (notices, not data) the other way too.
    expected = CALENDAR.trading_days(date(2021, 1, 4), date(2026, 4, 30))
    assert sorted(d for d in days if d >= date(2021, 1, 4)) == expected


def test_every_1b_date_trades(data_dir: Path) -> None:
    days = _tushare_dates(data_dir / DAILY_1B)
    assert min(days) == date(2005, 1, 4) and max(days) == date(2022, 9, 23)
    assert _not_trading(days) == []


def test_every_1c_date_trades(data_dir: Path) -> None:
    days = _first_column_dates(data_dir / DAILY_1C)
    assert len(days) == 245 and date(2016, 1, 7) in days  # the circuit-breaker day
    assert _not_trading(days) == []


def test_the_data_module_is_what_the_generator_makes(data_dir: Path) -> None:
    calendar, text = _calendar_build.build(data_dir)
    module = Path(calendar_data.__file__).read_text(encoding="utf-8")
    assert module == text, "run `aigupiao calendar generate` and commit the result"
    assert calendar == CALENDAR


def test_the_generator_refuses_a_source_that_breaks_a_cross_check(
    data_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "data"
    for path in (*_calendar_build.ALL_SOURCES, "MANIFEST.csv"):
        (copy / path).parent.mkdir(parents=True, exist_ok=True)
        (copy / path).write_bytes((data_dir / path).read_bytes())
    trade_days = copy / _calendar_build.TRADE_DAYS_JSON
    # one more wrong day (a holiday listed, the next day left out) than the README documents
    trade_days.write_text(
        trade_days.read_text(encoding="utf-8").replace('"2019-10-08"', '"2019-10-07"'),
        encoding="utf-8",
    )
    with pytest.raises(_calendar_build.BuildError, match="2019-10-07, 2019-10-08"):
        _calendar_build.build(copy)
    manifest = copy / "MANIFEST.csv"
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    manifest.write_text(
        "".join(
            line.replace(",MIT,", ",none stated,") if line.startswith(_calendar_build.PRIMARY)
            else line
            for line in lines
        ),
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(_calendar_build.BuildError, match="not MIT"):
        _calendar_build.build(copy)
