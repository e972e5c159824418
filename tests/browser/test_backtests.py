"""The Backtests screen in Chromium against a real ``aigupiao up``: a backtest of one real
daily file submitted from the form runs in the background and its report opens with its
charts, metrics and HTML page; a path outside the data folders is refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from aigupiao.backtest.engine import PARITY_PARAMS

from ..conftest import SHARED
from .conftest import UpServer
from .helpers import LIVE_MS, by_id, shoot

ONE_FILE = "daily/hzjsw_stock-backtest/data/600000.csv"


def test_a_backtest_from_the_form_shows_its_report(
    page: Any, up: UpServer, screenshots: Path
) -> None:
    assert (SHARED / "data" / ONE_FILE).is_file()
    by_id(page, "nav-backtests").click()
    form = by_id(page, "backtest-form")
    expect(form).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "bt-strategy").first).to_have_attribute("data-name", "ma_cross")

    by_id(page, "bt-data").fill("../secret.csv")
    by_id(page, "bt-submit").click()
    expect(by_id(page, "bt-error")).to_contain_text("不在回测数据目录内", timeout=LIVE_MS)

    strategy = by_id(page, "bt-strategy").first
    strategy.locator("input[name='param-fast']").fill("10")
    strategy.locator("input[name='param-slow']").fill("30")
    # backtrader's cross has no entry filters: the JSON of the filter param
    strategy.locator("textarea[name='param-filter']").fill(json.dumps(PARITY_PARAMS["filter"]))
    # the file picked from the data folders, as a person would
    by_id(page, "bt-data").fill("")
    by_id(page, "bt-browse").click()
    for folder in ("daily", "daily/hzjsw_stock-backtest", "daily/hzjsw_stock-backtest/data"):
        page.locator(f"[data-testid='bt-entry'][data-path='{folder}'] a").click()
    page.locator(f"[data-testid='bt-entry'][data-path='{ONE_FILE}'] button").click()
    expect(by_id(page, "bt-data")).to_have_value(ONE_FILE)
    by_id(page, "bt-size").fill("100")
    by_id(page, "bt-benchmark").fill("buy_and_hold")
    by_id(page, "bt-submit").click()

    report = by_id(page, "bt-report")
    expect(report).to_have_attribute("data-status", "done", timeout=60_000)
    run_id = page.evaluate("new URL(location.href).searchParams.get('run')")
    assert run_id and run_id.startswith("bt_")
    row = page.locator(f"[data-testid='bt-run-row'][data-id='{run_id}']")
    expect(row).to_have_attribute("data-status", "done")
    metrics = by_id(page, "bt-metrics")
    expect(metrics).to_contain_text("夏普比率")
    expect(metrics).to_contain_text("buy_and_hold")  # the benchmark's column
    with up.api() as api:
        stored = api.get(f"/api/backtests/{run_id}").json()
    final = stored["result"]["metrics"]["final_equity"]
    expect(metrics.locator("[data-metric='final_equity'] td").nth(1)).to_have_text(final)
    expect(report.locator(".echart canvas").first).to_be_visible()
    assert report.locator(".echart").count() >= 2  # equity and drawdown at least
    expect(by_id(page, "bt-trade-row").first).to_be_visible()
    expect(by_id(page, "bt-trade-row").first).to_contain_text("sh600000")
    report.scroll_into_view_if_needed()
    shoot(page, screenshots, "backtests.png")

    href = by_id(page, "bt-html").get_attribute("href")
    assert href and href.endswith(f"/api/backtests/{run_id}/report.html")
    html = page.request.get(href)
    assert html.ok and "回测报告" in html.text()

    # the stored params are what the form sent
    assert stored["params"]["data"] == [ONE_FILE]
    assert stored["params"]["strategies"][0]["params"] == PARITY_PARAMS
    assert stored["created_by"] == "user:admin"

    # the report page itself, under the app's policy (the fixture fails on a violation)
    page.goto(href)
    expect(page.locator("h1")).to_contain_text("回测报告")
    expect(page.locator("svg").first).to_be_visible()
