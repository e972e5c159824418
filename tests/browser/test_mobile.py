"""The core flow on a phone (390x844): overview, positions, orders, kill switch; and no
screen ever wider than the phone, whatever the data (no sideways scrolling)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from .conftest import PHONE, UpServer, login_context
from .helpers import LIVE_MS, assert_fits_the_screen, by_id, set_trading_state, shoot


def test_login_on_a_phone(browser: Any, up: UpServer) -> None:
    context = browser.new_context(base_url=up.url, viewport=PHONE, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto("/")
        expect(by_id(page, "login-username")).to_be_visible(timeout=LIVE_MS)
        assert_fits_the_screen(page, "the login screen")
        by_id(page, "login-username").fill("admin")
        by_id(page, "login-password").fill(up.admin_password)
        by_id(page, "login-submit").click()
        expect(by_id(page, "mobile-tabbar")).to_be_visible(timeout=LIVE_MS)
        expect(by_id(page, "account-card").first).to_be_visible(timeout=LIVE_MS)
        assert_fits_the_screen(page, "the overview after logging in")
    finally:
        context.close()


LOADING = re.compile("加载中|Loading")


def _rows_or_empty(scope: Any, row: str) -> Any:
    """The first ``row`` in ``scope``, or its empty state: shown once it has loaded."""
    return scope.get_by_test_id(row).or_(scope.get_by_test_id("empty-state")).first


def _overview_loaded(page: Any) -> None:
    """Wait until every panel of the overview shows its data (or says it has none)."""
    expect(by_id(page, "account-card").first).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "equity-value").first).to_contain_text(re.compile(r"\d"))
    expect(by_id(page, "trading-state")).to_contain_text(re.compile("ACTIVE|REDUCING|HALTED"))
    expect(by_id(page, "node-row").first).to_be_visible(timeout=LIVE_MS)
    chart = by_id(page, "equity-chart").first
    drawn = chart.locator("canvas").first.or_(chart.get_by_test_id("empty-state"))
    expect(drawn.first).to_be_visible(timeout=LIVE_MS)
    for panel in ("latest-fills", "latest-rejections"):
        rows = by_id(page, panel).locator("tr").first
        expect(rows.or_(by_id(page, panel).get_by_test_id("empty-state")).first).to_be_visible(
            timeout=LIVE_MS
        )
    expect(by_id(page, "agent-status")).not_to_contain_text(LOADING, timeout=LIVE_MS)


def test_core_flow_at_390x844(phone_page: Any, up: UpServer, screenshots: Path) -> None:
    page = phone_page
    tabbar = by_id(page, "mobile-tabbar")
    expect(tabbar).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, "the overview while it loads")
    expect(by_id(page, "account-card").first).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "trading-state")).to_contain_text(re.compile("ACTIVE|REDUCING|HALTED"))
    expect(by_id(page, "equity-value").first).to_contain_text(re.compile(r"\d"))
    # Nothing wider than the screen: usable with one thumb, no sideways scrolling; at each
    # moment, since what the overview shows (and how wide it is) arrives over time.
    assert_fits_the_screen(page, "the overview with its figures")
    _overview_loaded(page)
    assert_fits_the_screen(page, "the overview with all its data")
    shoot(page, screenshots, "mobile-overview.png")

    try:
        by_id(page, "kill-halt").click()
        expect(by_id(page, "confirm-dialog")).to_be_visible()
        assert_fits_the_screen(page, "the kill switch's confirmation")
        by_id(page, "confirm-ok").click()
        expect(by_id(page, "trading-state")).to_contain_text("HALTED", timeout=LIVE_MS)
        assert_fits_the_screen(page, "the overview, halted")
        by_id(page, "kill-resume").click()
        by_id(page, "confirm-ok").click()
        expect(by_id(page, "trading-state")).to_contain_text("ACTIVE", timeout=LIVE_MS)
        assert_fits_the_screen(page, "the overview, resumed")
    finally:
        set_trading_state(up, "active")

    tabbar.get_by_test_id("nav-trading").click()
    expect(by_id(page, "positions-table")).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "orders-table")).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "notifications")).to_be_visible()
    expect(tabbar).to_be_visible()
    positions = by_id(page, "positions-table")
    expect(_rows_or_empty(positions, "position-row")).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, "the positions and orders")


def _every_screen_fits(page: Any, lang: str) -> None:
    """Open each screen from the phone's menus, wait for its data, check its width."""
    tabbar = by_id(page, "mobile-tabbar")
    tabbar.get_by_test_id("nav-overview").click()
    _overview_loaded(page)
    expect(by_id(page, "latest-rejections").locator("tr").first).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, f"the overview ({lang})")

    tabbar.get_by_test_id("nav-positions").click()
    positions = by_id(page, "positions-table")
    expect(_rows_or_empty(positions, "position-row")).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, f"the trading screen ({lang})")

    by_id(page, "nav-market").click()
    expect(_rows_or_empty(page, "watch-row")).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "kline-code")).to_be_visible()
    assert_fits_the_screen(page, f"the market ({lang})")

    by_id(page, "nav-decisions").click()
    rows = by_id(page, "decision-row")
    expect(rows.first).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, f"the decisions ({lang})")
    rows.first.click()
    expect(by_id(page, "decision-story").locator("dl")).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, f"a decision's story ({lang})")
    by_id(page, "decisions-replay").click()
    by_id(page, "replay-run").click()
    answered = by_id(page, "replay-summary").or_(by_id(page, "replay-error"))
    expect(answered).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, f"the live-versus-backtest replay ({lang})")

    by_id(page, "nav-agent").click()
    expect(by_id(page, "strategy-row").first).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "risk-limits-form")).to_be_visible()
    assert_fits_the_screen(page, f"the agent ({lang})")

    # The top bar's links scroll sideways on a phone; the bell stays in view.
    by_id(page, "nav-backtests").click()
    expect(by_id(page, "notifications")).to_be_in_viewport()
    expect(by_id(page, "bt-strategy").first).to_be_visible(timeout=LIVE_MS)
    expect(_rows_or_empty(by_id(page, "bt-runs"), "bt-run-row")).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, f"the backtests ({lang})")
    by_id(page, "bt-browse").click()
    page.locator("[data-testid='bt-entry'][data-path='daily'] a").click()
    expect(by_id(page, "bt-entry").first).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, f"the data picker ({lang})")
    done = page.locator("[data-testid='bt-run-row'][data-status='done'] a")
    if done.count():  # a run's report: its charts, metrics and trades
        done.first.click()
        expect(by_id(page, "bt-metrics")).to_be_visible(timeout=LIVE_MS)
        assert_fits_the_screen(page, f"a backtest's report ({lang})")

    by_id(page, "nav-admin").click()
    expect(by_id(page, "admin-users")).to_contain_text("admin", timeout=LIVE_MS)
    expect(by_id(page, "audit-row").first).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, f"the admin screen ({lang})")

    tabbar.get_by_test_id("nav-kill").click()
    expect(by_id(page, "trading-state")).to_contain_text("HALTED", timeout=LIVE_MS)
    assert_fits_the_screen(page, f"the kill switch ({lang})")

    tabbar.get_by_test_id("nav-notifications").click()
    notices = page.locator(".notice-list li").or_(by_id(page, "empty-state"))
    expect(notices.first).to_be_visible(timeout=LIVE_MS)
    assert_fits_the_screen(page, f"the notifications ({lang})")
    by_id(page, "notifications").click()  # the bell's list
    assert_fits_the_screen(page, f"the bell's list ({lang})")
    by_id(page, "notifications").click()


def test_every_screen_fits_a_phone_with_the_widest_values(browser: Any, up: UpServer) -> None:
    """The widths that live data reaches only now and then, made on purpose: the browser's
    clock days after the data's, so every time shows its date too (as on a weekend, or
    once the simulated market has passed into its next trading day); a rejected order in
    the latest rejections; the trading state set with a long reason that has no space."""
    with up.api() as api:
        refused = api.post(
            "/api/cloud-local-trading/execute-trade",
            json={"action": "buy", "stock_code": "000001", "quantity": 150, "price": None},
        )
        assert refused.status_code == 422, refused.text  # not a multiple of the 100 lot
    context = login_context(browser, up, PHONE)
    try:
        page = context.new_page()
        page.clock.install(time=datetime.now() + timedelta(days=3))
        page.clock.resume()
        page.goto("/")
        _overview_loaded(page)
        by_id(page, "kill-halt").click()
        by_id(page, "confirm-dialog").locator("input").fill("halted_" * 24)
        by_id(page, "confirm-ok").click()
        expect(by_id(page, "trading-state")).to_contain_text("HALTED", timeout=LIVE_MS)
        expect(page.get_by_text("halted_halted_", exact=False).first).to_be_visible()

        _every_screen_fits(page, "zh-CN")
        by_id(page, "lang-toggle").click()
        expect(by_id(page, "nav-market")).to_have_text(re.compile("[A-Za-z]"))
        _every_screen_fits(page, "en")
    finally:
        context.close()
        set_trading_state(up, "active")
