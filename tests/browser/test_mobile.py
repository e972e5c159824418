"""The core flow on a phone (390x844): overview, positions, orders, kill switch."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from .conftest import PHONE, UpServer
from .helpers import LIVE_MS, by_id, set_trading_state, shoot


def test_login_on_a_phone(browser: Any, up: UpServer) -> None:
    context = browser.new_context(base_url=up.url, viewport=PHONE, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto("/")
        by_id(page, "login-username").fill("admin")
        by_id(page, "login-password").fill(up.admin_password)
        by_id(page, "login-submit").click()
        expect(by_id(page, "mobile-tabbar")).to_be_visible(timeout=LIVE_MS)
        expect(by_id(page, "account-card").first).to_be_visible(timeout=LIVE_MS)
    finally:
        context.close()


def test_core_flow_at_390x844(phone_page: Any, up: UpServer, screenshots: Path) -> None:
    page = phone_page
    tabbar = by_id(page, "mobile-tabbar")
    expect(tabbar).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "account-card").first).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "trading-state")).to_contain_text(re.compile("ACTIVE|REDUCING|HALTED"))
    expect(by_id(page, "equity-value").first).to_contain_text(re.compile(r"\d"))
    # Nothing wider than the screen: usable with one thumb, no sideways scrolling.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px screen"
    shoot(page, screenshots, "mobile-overview.png")

    try:
        by_id(page, "kill-halt").click()
        expect(by_id(page, "confirm-dialog")).to_be_visible()
        by_id(page, "confirm-ok").click()
        expect(by_id(page, "trading-state")).to_contain_text("HALTED", timeout=LIVE_MS)
        by_id(page, "kill-resume").click()
        by_id(page, "confirm-ok").click()
        expect(by_id(page, "trading-state")).to_contain_text("ACTIVE", timeout=LIVE_MS)
    finally:
        set_trading_state(up, "active")

    tabbar.get_by_test_id("nav-trading").click()
    expect(by_id(page, "positions-table")).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "orders-table")).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "notifications")).to_be_visible()
    expect(tabbar).to_be_visible()
