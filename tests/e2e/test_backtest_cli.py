"""``aigupiao backtest run`` as a user runs it: a real subprocess on the real daily files."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from aigupiao.strategy.registry import DEFAULT_SET

from ..conftest import SHARED
from .test_cli import last_line, ok, refused, run

DATA = SHARED / "data" / "daily" / "hzjsw_stock-backtest" / "data"
PUFA = DATA / "600000.csv"
PARITY = ("-s", "ma_cross", "-p", "fast=10", "-p", "slow=30", "-p", "filter.min_avg_amount=0")


def backtest(*args: str) -> dict:  # type: ignore[type-arg]
    output = ok(run("backtest", "run", *args, "--json"))
    return json.loads(last_line(output))  # type: ignore[no-any-return]


def _closes(path: Path) -> list[tuple[str, Decimal]]:
    with path.open(encoding="utf-8") as handle:
        return [(row["date"], Decimal(row["close"])) for row in csv.DictReader(handle)]


def test_json_run_books_every_trade_into_the_final_equity(tmp_path: Path) -> None:
    result = backtest(
        "--data", str(PUFA), *PARITY, "--rules", "none", "--size", "100",
        "--commission", "0.001", "--benchmark", "buy_and_hold",
    )  # fmt: skip
    assert set(result) >= {"trades", "final_equity", "bars", "seconds", "metrics"}
    assert result["bars"] == len(_closes(PUFA))
    trades = result["trades"]
    assert len(trades) > 10
    for trade in trades:
        assert set(trade) >= {"date", "code", "side", "price", "quantity", "fee"}
        assert isinstance(trade["price"], str) and isinstance(trade["fee"], str)
        assert trade["code"] == "sh600000" and trade["quantity"] == 100
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", trade["date"])
    # cash flows plus the held shares at the last close are the final equity, to the cent
    cash = Decimal(1_000_000)
    held = 0
    for trade in trades:
        amount = Decimal(trade["price"]) * trade["quantity"]
        if trade["side"] == "buy":
            cash -= amount + Decimal(trade["fee"])
            held += trade["quantity"]
        else:
            cash += amount - Decimal(trade["fee"])
            held -= trade["quantity"]
    last_close = _closes(PUFA)[-1][1]
    expected = (cash + held * last_close).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert Decimal(result["final_equity"]) == expected
    metrics = result["metrics"]
    assert metrics["final_equity"] == f"{Decimal(result['final_equity']):.2f}"
    assert metrics["trades"] == len(trades)
    fees = sum(Decimal(t["fee"]) for t in trades)
    assert Decimal(metrics["fees_paid"]) == fees.quantize(Decimal("0.01"))
    assert metrics["benchmark"]["name"] == "buy_and_hold"
    first_close = _closes(PUFA)[0][1]
    assert metrics["benchmark"]["total_return"] == pytest.approx(
        float(last_close / first_close - 1), abs=2e-3
    )


def test_report_folder_and_the_default_strategy_set(tmp_path: Path) -> None:
    folder = tmp_path / "report"
    result = backtest(
        "--data", str(PUFA), "--data", str(DATA / "600036.csv"), "--start", "2023-01-01",
        "--report", str(folder),
    )  # fmt: skip
    assert [s["name"] for s in result["strategies"]] == list(DEFAULT_SET)
    assert result["report"] == str(folder)
    stored = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert stored["trades"] == result["trades"]
    assert stored["metrics"] == result["metrics"]
    assert stored["metrics"]["start"] >= "2023-01-01"
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "回测报告 (backtest report)" in page and "<svg" in page
    assert not re.search(r"(https?:)?//[a-z0-9]", page, re.IGNORECASE)
    assert (folder / "report.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    rows = list(csv.DictReader(io.StringIO((folder / "equity.csv").read_text(encoding="utf-8"))))
    assert len(rows) == stored["metrics"]["days"]


def test_the_human_summary_is_chinese_first() -> None:
    output = ok(run("backtest", "run", "--data", str(PUFA), *PARITY, "--rules", "none"))
    assert "总收益率 (total return)" in output and "夏普比率 (Sharpe)" in output
    assert not output.strip().splitlines()[-1].startswith("{")


def test_a_sweep_prints_rows_sorted_by_the_metric() -> None:
    result = backtest(
        "--data", str(PUFA), "-s", "ma_cross", "-p", "filter.min_avg_amount=0",
        "--rules", "none", "--sweep", "fast=5,10,20", "--sweep", "slow=20,60",
        "--sort", "total_return",
    )  # fmt: skip
    rows = result["rows"]
    assert result["points"] == len(rows) == 6
    ran = [r for r in rows if r["error"] is None]
    assert len(ran) == 5
    assert rows[-1]["params"] == {"fast": 20, "slow": 20}
    assert "fast must be shorter than slow" in rows[-1]["error"]
    returns = [r["metrics"]["total_return"] for r in ran]
    assert returns == sorted(returns, reverse=True)
    assert len({r["final_equity"] for r in ran}) > 1  # the parameters did change the runs


def _bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "000001.csv"
    path.write_bytes(b"\xff\xfe\x00garbage\x81\x00")
    return path


LARGE = ("-s", "ma_cross", "--sweep", "fast=" + ",".join(map(str, range(2, 40))),
         "--sweep", "slow=" + ",".join(map(str, range(40, 70))))  # fmt: skip


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--data", "{bad}"), ("000001.csv", "neither UTF-8 nor GBK")),
        (("--data", "{missing}"), ("no such file or folder",)),
        (("--data", "{pufa}", "--codes", "600519"), ("no data for sh600519",)),
        (("--data", "{pufa}", "--start", "2030-01-01"), ("no bars in the range",)),
        (("--data", "{pufa}", "--start", "2024-02-01", "--end", "2024-01-01"),
         ("日期范围为空", "empty date range")),
        (("--data", "{pufa}", "--start", "2024-13-01"), ("is not a date",)),
        (("--data", "{pufa}", "--strategy", "nope"),
         ("没有名为 nope 的策略", "no strategy named nope")),
        (("--data", "{pufa}", "--strategy", "llm"),
         ("不能在历史行情上回测", "cannot run on history")),
        (("--data", "{pufa}", "-s", "ma_cross", "-p", "fastest=3"),
         ("未知参数 fastest", "unknown parameter fastest")),
        (("--data", "{pufa}", "-s", "ma_cross", "-p", "fast=abc"),
         ("ma_cross.fast", "'abc' is not valid")),
        (("--data", "{pufa}", "-s", "ma_cross", "-p", "fast=40", "-p", "slow=30"),
         ("fast must be shorter than slow",)),
        (("--data", "{pufa}", *LARGE), ("1140", "--yes")),
        (("--data", "{pufa}", "-s", "ma_cross", "--sweep", "fast=5,6", "--sort", "luck"),
         ("cannot sort by luck",)),
        (("--data", "{pufa}", "--benchmark", "sh600519"), ("sh600519",)),
    ],
    ids=[
        "unreadable-file", "missing-file", "code-without-data", "no-bars-in-range",
        "empty-range", "bad-date", "unknown-strategy", "llm-on-history", "unknown-param",
        "wrong-type",
        "invalid-combination", "sweep-over-1000", "bad-sort", "benchmark-without-data",
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, args: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    paths = {"bad": str(_bad_file(tmp_path)), "missing": str(tmp_path / "nope.csv"),
             "pufa": str(PUFA)}  # fmt: skip
    given = [arg.format(**paths) if arg.startswith("{") else arg for arg in args]
    refused(run("backtest", "run", *given, "--json"), *needles)
