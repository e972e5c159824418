"""``aigupiao calendar`` show / update / generate, and the update file used at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from aigupiao.cli import app, build_cloud
from aigupiao.cloud.settings import CloudSettings
from aigupiao.domain import sessions
from aigupiao.domain.calendar import builtin_calendar

from ...conftest import ROOT, SHARED, service_missing

runner = CliRunner()
BUILTIN = builtin_calendar()
SPRING_2027 = [date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)]


@pytest.fixture(autouse=True)
def restore_calendar() -> Iterator[None]:
    previous = sessions.current_calendar()
    yield
    sessions.use_calendar(previous)


def open_days(first: date, last: date, closed: list[date]) -> list[date]:
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    return [d for d in days if d.weekday() < 5 and d not in closed]


def trade_cal(path: Path, days: list[date]) -> Path:
    """An open-days-only tushare file, as ``trade_cal(is_open=1)`` returns it."""
    rows = "".join(f"{d:%Y%m%d},1\n" for d in days)
    path.write_text("cal_date,is_open\n" + rows, encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_update_then_show_round_trip(tmp_path: Path) -> None:
    source = trade_cal(
        tmp_path / "2027.csv", open_days(date(2027, 1, 4), date(2027, 12, 31), SPRING_2027)
    )
    out = tmp_path / "var" / "calendar.json"

    code, output = invoke("calendar", "update", "--from", str(source), "--out", str(out))
    assert code == 0, output
    assert "已写入 (written)" in output and "1991-01-01 .. 2027-12-31" in output
    # the file starts at its first open day: New Year's Day before it is taken as closed
    assert "文件首日之前的 1 个工作日按休市处理：2027-01-01" in output
    stored = json.loads(out.read_text(encoding="utf-8"))
    assert (stored["first"], stored["last"]) == ("2027-01-01", "2027-12-31")
    assert stored["closed"] == ["2027-01-01", *(d.isoformat() for d in SPRING_2027)]

    code, output = invoke("calendar", "show", "--year", "2027", "--file", str(out))
    assert code == 0, output
    assert "2027: 4 个休市工作日 (weekday closures), 257 个交易日" in output
    assert "2027-02-08  周一 (Mon)" in output and str(out) in output

    # a second file for the next year extends the same update file
    source = trade_cal(tmp_path / "2028.csv", open_days(date(2028, 1, 3), date(2028, 6, 30), []))
    code, output = invoke("calendar", "update", "--from", str(source), "--out", str(out))
    assert code == 0, output
    stored = json.loads(out.read_text(encoding="utf-8"))
    assert (stored["first"], stored["last"]) == ("2027-01-01", "2028-06-30")
    assert stored["closed"] == ["2027-01-01", *(d.isoformat() for d in SPRING_2027)]
    assert stored["source"] == "2027.csv + 2028.csv"


def test_show_without_an_update_shows_the_builtin_calendar(tmp_path: Path) -> None:
    code, output = invoke("calendar", "show", "--file", str(tmp_path / "none.json"))
    assert code == 0, output
    assert "1991-01-01 .. 2026-12-31" in output and "无 (none" in output
    assert "2026" in output and "242" in output
    code, output = invoke("calendar", "show", "--year", "2030", "--file", str(tmp_path / "x"))
    assert code == 0 and "2030 年不在日历范围内" in output


def test_a_file_that_reopens_known_closures_needs_force(tmp_path: Path) -> None:
    # The 2026 Spring Festival left open: it contradicts the exchanges' notice.
    days = open_days(date(2026, 1, 5), date(2026, 3, 31), [date(2026, 4, 6)])
    source = trade_cal(tmp_path / "wrong.csv", days)
    out = tmp_path / "calendar.json"
    code, output = invoke("calendar", "update", "--from", str(source), "--out", str(out))
    assert code == 2
    assert "拒绝 (refused)" in output and "会取消 6 个已知休市日" in output
    assert "2026-02-16" in output and "--force" in output
    assert not out.exists()

    code, output = invoke("calendar", "update", "--from", str(source), "--out", str(out), "--force")
    assert code == 0, output
    assert "已忽略 (overridden)" in output
    assert (
        date(2026, 2, 16).isoformat() not in json.loads(out.read_text(encoding="utf-8"))["closed"]
    )


def test_a_file_far_after_the_known_range_is_refused(tmp_path: Path) -> None:
    # The years between would count as closed: a closure no exchange ever had.
    source = trade_cal(tmp_path / "2030.csv", open_days(date(2030, 1, 2), date(2030, 3, 29), []))
    out = tmp_path / "calendar.json"
    code, output = invoke("calendar", "update", "--from", str(source), "--out", str(out))
    assert code == 2 and "连续休市" in output and "2027-01-01..2030-01-01" in output
    assert not out.exists()


def test_update_needs_exactly_one_source(tmp_path: Path) -> None:
    code, output = invoke("calendar", "update", "--out", str(tmp_path / "c.json"))
    assert code == 2 and "--from FILE" in output
    code, output = invoke("calendar", "update", "--from", str(tmp_path / "missing.csv"))
    assert code == 2 and "无法读取" in output


def test_akshare_missing_is_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "akshare", None)  # import fails as if not installed
    code, output = invoke("calendar", "update", "--akshare", "--out", str(tmp_path / "c.json"))
    assert code == 2
    assert "未安装 akshare" in output and "pip install akshare" in output


def test_akshare_download_is_checked_and_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # akshare needs the network; its answer is a frame whose trade_date column holds dates.
    days = open_days(date(2026, 11, 2), date(2027, 12, 31), SPRING_2027)
    fake = SimpleNamespace(tool_trade_date_hist_sina=lambda: {"trade_date": days})
    monkeypatch.setitem(sys.modules, "akshare", fake)
    out = tmp_path / "calendar.json"
    code, output = invoke("calendar", "update", "--akshare", "--out", str(out))
    assert code == 0, output
    stored = json.loads(out.read_text(encoding="utf-8"))
    assert stored["source"] == "akshare tool_trade_date_hist_sina"
    assert stored["first"] == "2026-11-02"  # overlaps the built-in range: nothing assumed
    assert stored["closed"] == [d.isoformat() for d in SPRING_2027]


def test_generate_check_reports_the_module_up_to_date() -> None:
    if not (SHARED / "data").is_dir():
        service_missing("the shared data folder ../shared/data")
    code, output = invoke("calendar", "generate", "--shared", str(SHARED), "--check")
    assert code == 0, output
    assert "一致 (up to date)" in output and "605 weekday closures" in output


def test_the_cloud_uses_the_update_file_from_its_var_dir(tmp_path: Path) -> None:
    source = trade_cal(
        tmp_path / "2027.csv", open_days(date(2027, 1, 4), date(2027, 12, 31), SPRING_2027)
    )
    assert (
        invoke(
            "calendar", "update", "--from", str(source), "--out", str(tmp_path / "calendar.json")
        )[0]
        == 0
    )
    settings = CloudSettings.load(
        None, var_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
    )
    assert sessions.is_trading_day(date(2027, 2, 8))
    build_cloud(settings)
    assert not sessions.is_trading_day(date(2027, 2, 8))
    assert sessions.current_calendar().last == date(2027, 12, 31)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AIGUPIAO_")}
    return subprocess.run(
        [sys.executable, "-m", "aigupiao.cli", *args],
        cwd=ROOT, env={**env, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_cloud_and_node_refuse_to_start_on_a_broken_update_file(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "calendar.json").write_text('{"format": "aigupiao-calendar/1"}', encoding="utf-8")
    cloud_config = tmp_path / "cloud.json"
    cloud_config.write_text(
        json.dumps({"var_dir": str(var), "database_url": f"sqlite+aiosqlite:///{var / 'c.db'}"}),
        encoding="utf-8",
    )
    node_config = tmp_path / "local.json"
    node_config.write_text(
        json.dumps({"node": {"data_dir": str(var / "node")}, "cloud": {"token": "t"}}),
        encoding="utf-8",
    )
    for command, config in (("cloud", cloud_config), ("local", node_config)):
        result = _run(command, "--config", str(config))
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "交易日历更新文件" in output and str(var / "calendar.json") in output, output
        assert "Traceback" not in output
