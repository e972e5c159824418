"""``aigupiao bench dashboard``: how fast the Overview loads with the full market live.

Starts ``aigupiao up`` as a subprocess (free loopback ports, its own temporary var dir)
with the simulated full market (``market.symbols`` as asked, ST and BSE included: the
real snapshot has about 5,480 stocks, so that is the most it simulates), waits until
every symbol has a quote, logs in as the admin ``up`` created, then loads ``/`` in
headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright; a dev
dependency, never a downloaded browser) ``runs`` times, each in a fresh browser
context (no HTTP cache, a new WebSocket).

One load is timed from navigation start (``performance.timeOrigin``) to the first
animation frame in which an ``account-card`` and the ``trading-state`` (showing
ACTIVE, REDUCING or HALTED) are both visible, measured inside the page with
``performance.now()`` on every frame, so the polling adds nothing. The target is
``overview_load_ms`` (the median) < 1000 ms.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking"]
TARGET_MS = 1000.0
SESSION_COOKIE = "aigupiao_session"

T = TypeVar("T")

# Evaluated on every animation frame until it returns a number.
_OVERVIEW_READY = """() => {
  const shown = (el) => !!el && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== 'hidden';
  const card = document.querySelector('[data-testid="account-card"]');
  const state = document.querySelector('[data-testid="trading-state"]');
  if (shown(card) && shown(state) && /ACTIVE|REDUCING|HALTED/.test(state.textContent || '')) {
    return performance.now();
  }
  return false;
}"""


class BenchError(RuntimeError):
    """The benchmark could not run (no Chromium, no dashboard, ``up`` did not start)."""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _poll(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except httpx.TransportError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


class _Up:
    """``aigupiao up`` in a temporary directory, stopped with SIGINT."""

    def __init__(self, directory: Path, symbols: int) -> None:
        self.directory = directory
        self.port, self.node_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.var = directory / "var"
        self.log = directory / "up.log"
        config = {
            "market": {
                "symbols": symbols,
                "include_st": True,
                "include_bse": True,
                "sim_interval": 1.0,
            }
        }
        self.config = directory / "cloud_config.json"
        self.config.write_text(json.dumps(config), encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("AIGUPIAO_DATABASE_URL", None)  # its own SQLite in the temporary var dir
        command = [sys.executable, "-m", "aigupiao.cli", "up", "--config", str(self.config)]
        command += ["--cloud-port", str(self.port), "--node-port", str(self.node_port)]
        command += ["--var-dir", str(self.var), "--summary-every", "60"]
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT
            )

    def alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise BenchError(f"aigupiao up exited:\n{self.log.read_text(errors='replace')}")

    def credentials(self) -> dict[str, str] | None:
        self.alive()
        path = self.var / "credentials.json"
        if not path.is_file():
            return None
        saved: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return saved if "admin_password" in saved else None

    def simulated(self) -> int | None:
        """The simulated market's size, as ``up`` prints it."""
        self.alive()
        found = re.search(r"模拟 (\d+) 只股票", self.log.read_text(errors="replace"))
        return int(found.group(1)) if found else None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _login(url: str, password: str) -> str:
    response = httpx.post(
        f"{url}/api/auth/login", json={"username": "admin", "password": password}, timeout=30
    )
    if response.status_code != 200:
        raise BenchError(f"admin login failed: {response.status_code} {response.text}")
    token = response.cookies.get(SESSION_COOKIE) or response.json()["token"]
    return str(token)


def _measure(url: str, session: str, runs: int, timeout_ms: float) -> list[float]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BenchError("the playwright package is missing: pip install -e '.[dev]'") from exc
    loads = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                try:
                    context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": url}])
                    page = context.new_page()
                    page.goto(url + "/", wait_until="commit")
                    ready = page.wait_for_function(
                        _OVERVIEW_READY, polling="raf", timeout=timeout_ms
                    )
                    loads.append(round(float(ready.json_value()), 1))
                finally:
                    context.close()
        finally:
            browser.close()
    return loads


def run(
    *,
    symbols: int = 5_500,
    runs: int = 5,
    timeout_s: float = 30.0,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Start ``up`` with ``symbols``, load the Overview ``runs`` times; the result as JSON.

    Raises:
        BenchError: no Chromium or dashboard build, or ``up`` failed to start.
    """
    if not CHROMIUM.is_file():
        raise BenchError(f"Chromium is missing at {CHROMIUM}: apt-get install chromium")
    static = Path(__file__).resolve().parents[1] / "cloud" / "static" / "index.html"
    if not static.is_file():
        raise BenchError(f"the dashboard is not built ({static}): cd web && npm run build")
    with tempfile.TemporaryDirectory(prefix="aigupiao-bench-dashboard-") as directory:
        up = _Up(Path(directory), symbols)
        progress("starting aigupiao up")
        up.start()
        try:
            credentials = _poll(up.credentials, 120, "aigupiao up to write its credentials")
            simulated = _poll(up.simulated, 60, "the simulated market")
            progress(f"waiting for {simulated} symbols")

            def market_full() -> bool:
                up.alive()
                health = httpx.get(f"{up.url}/api/health", timeout=10).json()
                return bool(health["symbols"] >= simulated and health["nodes_online"] >= 1)

            _poll(market_full, 120, f"quotes for all {simulated} symbols and the node")
            session = _login(up.url, credentials["admin_password"])
            progress(f"loading the overview {runs} times")
            loads = _measure(up.url, session, runs, timeout_s * 1000)
        finally:
            up.stop()
    median = round(statistics.median(loads), 1)
    return {
        "bench": "dashboard",
        "symbols": simulated,
        "runs": runs,
        "overview_load_ms": median,
        "max_ms": max(loads),
        "loads_ms": loads,
        "target_ms": TARGET_MS,
        "ok": median < TARGET_MS,
    }
