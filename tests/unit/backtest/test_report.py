"""The report's files: what is in them, and that the page works offline."""

from __future__ import annotations

import csv
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

from aigupiao.backtest.model import BacktestResult, CorporateAction, Refusal
from aigupiao.backtest.report import (
    FILES,
    MAX_PRICE_CHARTS,
    report_html,
    report_json,
    report_png,
    save_report,
)

from .results import day, result, trade

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _sample() -> BacktestResult:
    prices = {
        "sh600000": [(day(i), Decimal(10 + i % 3)) for i in range(1, 6)],
        "sz000001": [(day(i), Decimal(20 - i)) for i in range(1, 6)],
    }
    sample = result(
        ["110", "99", "121", "120", "130"],
        trades=[
            trade(1, "buy", "10.01", 100, "5.00"),
            trade(3, "sell", "12.00", 100, "5.12", code="sh600000"),
            trade(2, "buy", "18.00", 200, "5", code="sz000001"),
        ],
        benchmark=["100", "90", "99", "100", "101"],
        prices=prices,
        exposure=["0.5", "0.4", "0", "0.2", "0.2"],
    )
    sample.refusals.append(Refusal(day(2), "sh600000", "buy", "limit_up", "ma_cross"))
    sample.corporate_actions.append(
        CorporateAction("sz000001", day(4), Decimal("18"), Decimal("10"), Decimal("1.8"), True)
    )
    sample.warnings.append("样例提示 (a sample warning)")
    return sample


class _Refs(HTMLParser):
    """Every attribute that could load something: src, href, and <link>/<script> tags."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in {"src", "href", "xlink:href", "action", "srcset"} and value:
                self.refs.append(value)


def test_save_report_writes_every_file(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "report"
    paths = save_report(_sample(), folder)
    assert [p.name for p in paths] == list(FILES)
    assert all(p.stat().st_size > 0 for p in paths)

    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert set(data) >= {"config", "metrics", "trades", "equity", "refusals", "corporate_actions"}
    assert data["config"]["strategies"] == [{"name": "ma_cross", "params": {}}]
    assert data["trades"][0] == {
        "date": "2024-01-02", "code": "sh600000", "side": "buy", "price": "10.01",
        "quantity": 100, "fee": "5.00", "strategy": "ma_cross", "reason": "",
    }  # fmt: skip
    assert data["metrics"]["final_equity"] == "130.00"
    assert data["metrics"]["benchmark"]["total_return"] == 0.01
    assert data["refusals"][0]["rule"] == "limit_up"
    assert data["corporate_actions"][0]["ratio"] == "1.8"
    assert data["equity"][1] == {
        "date": "2024-01-03",
        "equity": "99",
        "cash": "99",
        "exposure": "0.4",
    }

    trades = list(csv.DictReader(io.StringIO((folder / "trades.csv").read_text(encoding="utf-8"))))
    assert [(t["code"], t["side"], t["price"], t["quantity"], t["fee"]) for t in trades] == [
        ("sh600000", "buy", "10.01", "100", "5.00"),
        ("sh600000", "sell", "12.00", "100", "5.12"),
        ("sz000001", "buy", "18.00", "200", "5"),
    ]
    equity = list(csv.DictReader(io.StringIO((folder / "equity.csv").read_text(encoding="utf-8"))))
    assert len(equity) == 5
    assert equity[1]["drawdown"] == "-0.100000"  # 99 against the peak of 110
    assert equity[1]["benchmark"] == "90"
    assert Decimal(equity[4]["equity"]) == Decimal("130")

    assert (folder / "report.png").read_bytes().startswith(PNG_SIGNATURE)


def test_html_is_self_contained() -> None:
    page = report_html(_sample())
    parser = _Refs()
    parser.feed(page)
    assert not (parser.tags & {"script", "link", "img", "iframe", "object", "embed"})
    assert all(ref.startswith("#") for ref in parser.refs), parser.refs  # only in-page ids
    assert not re.search(r"(https?:)?//[a-z0-9]", page, re.IGNORECASE), "an address in the page"
    assert "@import" not in page
    assert all(target.startswith("#") for target in re.findall(r"url\(([^)]*)\)", page))
    assert page.count("<svg") == 2 + 2  # equity, drawdown, two traded codes
    assert "权益曲线 (equity curve)" in page and "回撤 (drawdown)" in page
    assert "价格与成交 (price and trades): sh600000" in page
    assert "limit_up" in page and "疑似除权" in page and "样例提示" in page
    assert "基准 (benchmark: buy_and_hold)" in page


def test_html_draws_at_most_a_few_price_charts_and_says_so() -> None:
    codes = [f"sh6000{i:02d}" for i in range(MAX_PRICE_CHARTS + 3)]
    sample = result(
        ["100", "101"],
        trades=[trade(1, "buy", "10", 100, code=code) for code in codes],
        prices={code: [(day(1), Decimal(10)), (day(2), Decimal(11))] for code in codes},
    )
    page = report_html(sample)
    assert page.count("<svg") == 2 + MAX_PRICE_CHARTS
    assert "另有 3 只股票未画图" in page


def test_a_run_without_equity_or_trades_still_reports() -> None:
    empty = result([])
    assert report_json(empty)["trades"] == []
    page = report_html(empty)
    assert "<svg" not in page
    assert report_png(empty).startswith(PNG_SIGNATURE)


def test_html_escapes_what_it_shows() -> None:
    sample = result(["100"], trades=[trade(1, "buy", "10", 100)])
    sample.warnings.append("<script>alert(1)</script>")
    page = report_html(sample)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_pages_are_the_same_drawn_at_once_from_threads() -> None:
    sample = _sample()
    alone = report_html(sample)
    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(report_html, [sample, sample, sample]))
    assert pages == [alone] * 3
