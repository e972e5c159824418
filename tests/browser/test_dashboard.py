"""The dashboard's screens in headless Chromium against a running ``aigupiao up``,
found by the data-testid contract shared with the SPA."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from ..conftest import wait_until
from .conftest import UpServer
from .helpers import LIVE_MS, by_id, confirm_until, runs_last, set_trading_state, shoot

STATES = re.compile(r"ACTIVE|REDUCING|HALTED")


def test_login_rejects_a_wrong_password_then_logs_in(
    anonymous_page: Any, up: UpServer, screenshots: Path
) -> None:
    page = anonymous_page
    page.goto("/")
    expect(by_id(page, "login-username")).to_be_visible(timeout=LIVE_MS)
    shoot(page, screenshots, "login.png")

    by_id(page, "login-username").fill("admin")
    by_id(page, "login-password").fill("not-the-password")
    by_id(page, "login-submit").click()
    expect(by_id(page, "login-error")).to_be_visible()
    expect(by_id(page, "login-error")).not_to_be_empty()

    by_id(page, "login-password").fill(up.admin_password)
    by_id(page, "login-submit").click()
    expect(by_id(page, "current-user")).to_contain_text("admin", timeout=LIVE_MS)
    expect(by_id(page, "nav-admin")).to_be_visible()  # admin only
    expect(by_id(page, "trading-state")).to_contain_text(STATES, timeout=LIVE_MS)
    card = by_id(page, "account-card").first
    expect(card).to_have_attribute("data-account", "paper-1", timeout=LIVE_MS)
    expect(card.get_by_test_id("equity-value")).to_contain_text(re.compile(r"\d"))
    expect(by_id(page, "node-row").first).to_have_attribute("data-online", "true")
    expect(by_id(page, "agent-status")).to_be_visible()
    shoot(page, screenshots, "overview.png")

    # Chinese first, English one click away.
    nav = by_id(page, "nav-market")
    chinese = nav.inner_text()
    by_id(page, "lang-toggle").click()
    expect(nav).not_to_have_text(chinese)
    by_id(page, "lang-toggle").click()
    expect(nav).to_have_text(chinese)

    by_id(page, "logout").click()
    expect(by_id(page, "login-username")).to_be_visible(timeout=LIVE_MS)
    me = page.request.get("/api/auth/me")
    assert me.status == 401, me.text()


def _watch_row(page: Any, code: str) -> Any:
    """``code``'s watchlist row on the Market screen, added through the form if missing."""
    by_id(page, "nav-market").click()
    watchlist = by_id(page, "watchlist")
    expect(watchlist).to_be_visible(timeout=LIVE_MS)
    # Loaded: some row, or the list says it is empty.
    loaded = by_id(page, "watch-row").first.or_(watchlist.get_by_test_id("empty-state"))
    expect(loaded.first).to_be_visible(timeout=LIVE_MS)
    row = page.locator(f'[data-testid="watch-row"][data-code="{code}"]')
    if row.count() == 0:
        by_id(page, "watch-add-input").fill(code)
        by_id(page, "watch-add-submit").click()
    expect(row).to_be_visible(timeout=LIVE_MS)
    return row


def test_watchlist_quotes_update_live(page: Any) -> None:
    row = _watch_row(page, "sh600519")
    price = row.get_by_test_id("quote-price")
    expect(price).to_have_text(re.compile(r"^\s*[\d,]+\.\d{2}\s*$"), timeout=LIVE_MS)
    first = price.inner_text()
    # The sim market moves every 0.5 s: the shown price must follow over the stream.
    expect(price).not_to_have_text(first, timeout=LIVE_MS)


def test_kline_opens_in_1m_and_1d(page: Any, up: UpServer, screenshots: Path) -> None:
    # Only closed 1-minute bars are served: wait for the first (daily bars are imported).
    def minute_bars() -> bool:
        with up.api() as api:
            return bool(api.get("/api/bars/sh600519", params={"freq": "1m"}).json())

    wait_until(minute_bars, timeout=60)
    row = _watch_row(page, "sh600519")
    row.click()  # (the screen may show it already; then nothing is fetched again)
    expect(by_id(page, "kline-code")).to_contain_text("600519", timeout=LIVE_MS)
    expect(by_id(page, "kline-chart")).to_be_visible()

    for freq in ("1d", "1m"):
        with page.expect_response(
            lambda r, f=freq: "/api/bars/sh600519" in r.url and f"freq={f}" in r.url,
            timeout=LIVE_MS,
        ) as bars:
            by_id(page, f"kline-freq-{freq}").click()
        assert bars.value.ok, freq
        expect(by_id(page, "kline-chart").locator("canvas").first).to_be_visible()
    shoot(page, screenshots, "market.png")  # the watchlist and sh600519's 1m K-line


def _orders(up: UpServer, *, quantity: int) -> list[dict[str, Any]]:
    """The sz000001 buy orders of ``quantity`` shares (each test uses its own quantity)."""
    with up.api() as api:
        orders = api.get("/api/orders").json()
    return [o for o in orders if o["symbol"] == "sz000001" and o["quantity"] == quantity]


def _ticket(page: Any, code: str, quantity: int, *, market: bool, side: str = "buy") -> Any:
    by_id(page, "ticket-code").fill(code)
    by_id(page, f"ticket-side-{side}").click()
    by_id(page, "ticket-quantity").fill(str(quantity))
    checkbox = by_id(page, "ticket-market")
    if market:
        checkbox.check()
    else:
        checkbox.uncheck()
    by_id(page, "ticket-submit").click()
    return by_id(page, "ticket-verdict")


def test_manual_market_buy_fills(page: Any, up: UpServer, screenshots: Path) -> None:
    by_id(page, "nav-trading").click()
    expect(by_id(page, "orders-table")).to_be_visible(timeout=LIVE_MS)
    # 400 shares: the agent's dip buys are 100, so this order is told apart from theirs.
    verdict = _ticket(page, "000001", 400, market=True)
    expect(verdict).to_have_attribute("data-verdict", "accepted", timeout=LIVE_MS)

    (order,) = _orders(up, quantity=400)
    assert order["status"] == "filled", order
    row = page.locator(f'[data-testid="order-row"][data-order-id="{order["id"]}"]')
    expect(row).to_have_attribute("data-status", "filled", timeout=LIVE_MS)
    expect(by_id(page, "trades-table")).to_contain_text("000001")
    expect(by_id(page, "positions-table")).to_contain_text("000001", timeout=LIVE_MS)
    expect(by_id(page, "notifications")).to_be_visible()
    shoot(page, screenshots, "trading.png")


def test_cancel_a_resting_order_from_its_row(page: Any, up: UpServer) -> None:
    with up.api() as api:
        last = Decimal(api.get("/api/quotes/sz000001").json()["last"])
    price = (last * Decimal("0.93")).quantize(Decimal("0.01"))
    by_id(page, "nav-trading").click()
    by_id(page, "ticket-price").fill(str(price))
    verdict = _ticket(page, "000001", 200, market=False)
    expect(verdict).to_have_attribute("data-verdict", "accepted", timeout=LIVE_MS)
    (order,) = _orders(up, quantity=200)
    assert order["status"] == "submitted", order
    row = page.locator(f'[data-testid="order-row"][data-order-id="{order["id"]}"]')
    expect(row).to_have_attribute("data-status", "submitted", timeout=LIVE_MS)
    row.get_by_test_id("cancel-order").click()

    def cancelled() -> bool:
        return bool(_orders(up, quantity=200)[0]["status"] == "cancelled")

    confirm_until(page, cancelled)
    expect(row).to_have_attribute("data-status", "cancelled", timeout=LIVE_MS)


def test_risk_rejection_is_explained(page: Any) -> None:
    by_id(page, "nav-trading").click()
    verdict = _ticket(page, "000001", 150, market=True)  # not a multiple of the 100 lot
    expect(verdict).to_have_attribute("data-verdict", "rejected", timeout=LIVE_MS)
    expect(verdict).to_contain_text("lot")  # the rule's name
    expect(verdict).to_contain_text("100")  # the message names the lot size
    expect(verdict).to_contain_text(re.compile(r"[\u4e00-\u9fff]"))  # and says it in Chinese


def test_kill_switch_halts_and_orders_are_refused(page: Any, up: UpServer) -> None:
    try:
        expect(by_id(page, "trading-state")).to_contain_text("ACTIVE", timeout=LIVE_MS)
        by_id(page, "kill-halt").click()
        expect(by_id(page, "confirm-dialog")).to_be_visible()
        by_id(page, "confirm-cancel").click()  # nothing happens without confirming
        expect(by_id(page, "trading-state")).to_contain_text("ACTIVE")
        by_id(page, "kill-halt").click()
        by_id(page, "confirm-ok").click()
        expect(by_id(page, "trading-state")).to_contain_text("HALTED", timeout=LIVE_MS)
        with up.api() as api:
            assert api.get("/api/risk/state").json()["global"]["state"] == "halted"

        by_id(page, "nav-trading").click()
        verdict = _ticket(page, "000001", 300, market=True)
        expect(verdict).to_have_attribute("data-verdict", "rejected", timeout=LIVE_MS)
        expect(verdict).to_contain_text("trading_state")

        by_id(page, "nav-overview").click()
        by_id(page, "kill-resume").click()
        by_id(page, "confirm-ok").click()
        expect(by_id(page, "trading-state")).to_contain_text("ACTIVE", timeout=LIVE_MS)
    finally:
        set_trading_state(up, "active")


def test_decisions_show_their_story(page: Any, screenshots: Path) -> None:
    by_id(page, "nav-decisions").click()
    rows = by_id(page, "decision-row")
    expect(rows.first).to_be_visible(timeout=LIVE_MS)  # the manual orders above at least
    expect(by_id(page, "decision-filter-verdict")).to_be_visible()
    expect(by_id(page, "decision-filter-strategy")).to_be_visible()
    rows.first.click()
    story = by_id(page, "decision-story")
    expect(story).to_be_visible()
    expect(story).to_contain_text(re.compile(r"accepted|rejected|通过|拒绝"))
    shoot(page, screenshots, "decisions.png")


def test_agent_strategies_and_risk_limits(page: Any, screenshots: Path) -> None:
    by_id(page, "nav-agent").click()
    expect(by_id(page, "strategy-row").first).to_be_visible(timeout=LIVE_MS)
    expect(by_id(page, "strategy-row").first.get_by_test_id("strategy-enabled")).to_be_visible()
    expect(by_id(page, "risk-limits-form")).to_be_visible()
    expect(by_id(page, "risk-limits-save")).to_be_visible()
    shoot(page, screenshots, "agent.png")


@runs_last
def test_revoking_the_node_token_takes_the_node_offline(
    page: Any, up: UpServer, screenshots: Path
) -> None:
    by_id(page, "nav-admin").click()
    expect(by_id(page, "admin-users")).to_contain_text("admin", timeout=LIVE_MS)
    expect(by_id(page, "admin-apikeys")).to_be_visible()
    expect(by_id(page, "audit-row").first).to_be_visible()  # the logins at least
    token = page.locator('[data-testid="token-row"][data-name="local-1"]')
    expect(token).to_be_visible()
    shoot(page, screenshots, "admin.png")

    token.get_by_test_id("token-revoke").click()

    def revoked() -> bool:
        with up.admin() as admin:
            tokens = admin.get("/api/nodes/tokens").json()
        return any(t["name"] == "local-1" and t["revoked_at"] for t in tokens)

    confirm_until(page, revoked)
    by_id(page, "nav-overview").click()
    node = page.locator('[data-testid="node-row"][data-node="local-1"]')
    expect(node).to_have_attribute("data-online", "false", timeout=LIVE_MS)
