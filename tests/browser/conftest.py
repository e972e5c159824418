"""The dashboard in a real browser against a real ``aigupiao up``.

One ``aigupiao up`` subprocess per session, on free loopback ports, with its own
var dir and config; Debian's Chromium (``/usr/bin/chromium``) driven by Playwright,
which never downloads a browser. Without Chromium or a built dashboard
(``src/aigupiao/cloud/static/index.html``) the tests are skipped with the reason,
and fail under ``CI=true``.

Screenshots go to ``$SCREENSHOTS_DIR`` (relative to the repository; ``make
screenshots`` sets ``docs/screenshots``) under stable names, else to a temporary dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import IN_CI, ROOT, SHARED, free_port, wait_until

CHROMIUM = Path("/usr/bin/chromium")
DASHBOARD = ROOT / "src" / "aigupiao" / "cloud" / "static" / "index.html"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Real daily bars of sh600519, imported before ``up`` starts so the 1d K-line has data
# (a fresh ``up`` only has the 1m bars it aggregates itself).
DAILY_BARS = SHARED / "data" / "daily" / "hzjsw_stock-backtest" / "data" / "consumer_600519.csv"
# The sim market's clock starts at 09:30 of today's trading day, so orders placed by the
# tests are inside trading hours; at 6x a 1-minute bar closes every 10 s (the morning
# session lasts 20 minutes of real time, far longer than the tests).
CONFIG: dict[str, Any] = {
    "market": {"symbols": 50, "sim_interval": 0.5, "store_interval": 0.5, "sim_speed": 6},
    # The tests send several manual orders a few seconds apart.
    "agent": {"decision_interval": 1.0, "duplicate_window": 0},
}


@dataclass(frozen=True)
class UpServer:
    """A running ``aigupiao up``: its URLs and the credentials it wrote."""

    url: str
    node_url: str
    var_dir: Path
    log: Path
    credentials: dict[str, str]

    @property
    def admin_password(self) -> str:
        return self.credentials["admin_password"]

    def api(self) -> httpx.Client:
        """An HTTP client with the API key (machine access, scope trade: role trader)."""
        headers = {"Authorization": f"Bearer {self.credentials['api_key']}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    @contextlib.contextmanager
    def admin(self) -> Iterator[httpx.Client]:
        """An HTTP client logged in as the first admin (node tokens need admin rights)."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            login = {"username": "admin", "password": self.admin_password}
            client.post("/api/auth/login", json=login).raise_for_status()
            yield client


def _missing(what: str) -> None:
    """A failure under CI=true, a visible skip with the reason elsewhere."""
    message = f"browser tests need {what}"
    if IN_CI:
        pytest.fail(message + " (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(message)


def _require_browser() -> None:
    if not CHROMIUM.is_file():
        _missing(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if not DASHBOARD.is_file():
        _missing(f"the built dashboard {DASHBOARD} (cd web && npm run build)")


def start_up(directory: Path, config: dict[str, Any]) -> tuple[subprocess.Popen[bytes], UpServer]:
    """Start ``aigupiao up`` in ``directory`` and wait until the node is linked and the
    admin password is written; raises AssertionError (with the log) if it is not."""
    cloud_port, node_port = free_port(), free_port()
    var = directory / "var"
    config_file = directory / "cloud_config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AIGUPIAO_DATABASE_URL", None)
    log = directory / "up.log"
    if DAILY_BARS.is_file():
        import_bars(var, DAILY_BARS, env)
    with log.open("wb") as output:
        command = [sys.executable, "-m", "aigupiao.cli", "up", "--config", str(config_file)]
        command += ["--cloud-port", str(cloud_port), "--node-port", str(node_port)]
        command += ["--var-dir", str(var), "--summary-every", "60"]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{cloud_port}"
    credentials_file = var / "credentials.json"

    def credentials() -> dict[str, str] | None:
        assert process.poll() is None, f"aigupiao up exited:\n{log.read_text()}"
        if not credentials_file.is_file():
            return None
        saved: dict[str, str] = json.loads(credentials_file.read_text(encoding="utf-8"))
        return saved if "admin_password" in saved else None

    try:
        saved = wait_until(credentials, timeout=90)
        assert saved is not None
        server = UpServer(url, f"http://127.0.0.1:{node_port}", var, log, saved)
        with server.api() as api:

            def linked() -> bool:
                assert process.poll() is None, f"aigupiao up exited:\n{log.read_text()}"
                status = api.get("/api/cloud-local-trading/local-status").json()
                return bool(status["connected"])

            wait_until(linked, timeout=60)
    except BaseException:
        stop_up(process)
        raise
    return process, server


def import_bars(var: Path, path: Path, env: dict[str, str]) -> None:
    """``aigupiao data import`` into the SQLite database ``up`` will use in ``var``."""
    config = var.parent / "import_config.json"
    database_url = f"sqlite+aiosqlite:///{var / 'aigupiao.db'}"
    config.write_text(json.dumps({"database_url": database_url}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "aigupiao.cli", "data", "import", str(path), "-c", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def stop_up(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# Package scope: the server and the browser end with the last browser test, so the rest
# of the suite runs without them (Playwright's sync API also keeps an event loop running
# in this thread while it is open, which asyncio tests cannot share).
@pytest.fixture(scope="package")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpServer]:
    """``aigupiao up`` for the browser tests (they share its market and account)."""
    _require_browser()
    if not DAILY_BARS.is_file():
        _missing(f"the shared daily bars {DAILY_BARS}")
    process, server = start_up(tmp_path_factory.mktemp("up"), CONFIG)
    try:
        yield server
    finally:
        stop_up(process)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("SCREENSHOTS_DIR")
    if not configured:
        return tmp_path_factory.mktemp("screenshots")
    directory = Path(configured)
    directory = directory if directory.is_absolute() else ROOT / directory
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _context(browser: Any, up: UpServer, viewport: dict[str, int]) -> Any:
    return browser.new_context(
        base_url=up.url,
        viewport=viewport,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
    )


def csp_violations(page: Any) -> list[str]:
    """The Content-Security-Policy violations ``page`` reports from now on (the console
    errors Chromium logs for whatever the policy blocks)."""
    found: list[str] = []

    def seen(message: Any) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", seen)
    return found


@pytest.fixture
def anonymous_page(browser: Any, up: UpServer) -> Iterator[Any]:
    """A desktop page with no session (for the login screen)."""
    context = _context(browser, up, DESKTOP)
    try:
        new_page = context.new_page()
        violations = csp_violations(new_page)
        yield new_page
        assert violations == [], violations
    finally:
        context.close()


def login_context(browser: Any, up: UpServer, viewport: dict[str, int]) -> Any:
    """A browser context logged in as admin through the API (the cookie lands in it)."""
    context = _context(browser, up, viewport)
    response = context.request.post(
        "/api/auth/login", data={"username": "admin", "password": up.admin_password}
    )
    assert response.ok, f"login failed: {response.status} {response.text()}"
    return context


@pytest.fixture
def page(browser: Any, up: UpServer) -> Iterator[Any]:
    """A desktop page logged in as admin, on the overview."""
    context = login_context(browser, up, DESKTOP)
    try:
        new_page = context.new_page()
        violations = csp_violations(new_page)
        new_page.goto("/")
        yield new_page
        assert violations == [], violations  # the dashboard works under its policy
    finally:
        context.close()


@pytest.fixture
def phone_page(browser: Any, up: UpServer) -> Iterator[Any]:
    """A 390x844 page logged in as admin, on the overview."""
    context = login_context(browser, up, PHONE)
    try:
        new_page = context.new_page()
        violations = csp_violations(new_page)
        new_page.goto("/")
        yield new_page
        assert violations == [], violations
    finally:
        context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that take the node offline (token revocation) run last among the browser
    tests, which stay together where they were collected."""
    here = Path(__file__).parent
    mine = [item for item in items if here in item.path.parents]
    if not mine:
        return
    start = items.index(mine[0])
    others = [item for item in items if here not in item.path.parents]
    mine.sort(key=lambda item: bool(getattr(getattr(item, "function", None), "runs_last", False)))
    items[:] = others[:start] + mine + others[start:]
