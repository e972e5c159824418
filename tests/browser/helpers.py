"""Helpers for the browser tests: screenshots, ordering, the trading state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..conftest import wait_until
from .conftest import UpServer

F = TypeVar("F", bound=Callable[..., Any])

# Playwright's ``expect`` polls up to this long (ms) for live data and server round trips.
LIVE_MS = 20_000


def runs_last(test: F) -> F:
    """Run ``test`` after the others (it changes what they rely on, e.g. the node)."""
    test.runs_last = True  # type: ignore[attr-defined]
    return test


def shoot(page: Any, directory: Path, name: str) -> Path:
    """Save a screenshot of the page as ``directory/name`` (a stable name, e.g. market.png)."""
    path = directory / name
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 0
    return path


def by_id(page: Any, test_id: str) -> Any:
    return page.get_by_test_id(test_id)


def set_trading_state(up: UpServer, state: str) -> None:
    """Put the global trading state back (tests share one running system)."""
    with up.api() as api:
        response = api.put("/api/risk/state", json={"state": state, "reason": "browser test"})
        assert response.status_code == 200, response.text


def confirm_until(page: Any, done: Callable[[], bool], *, timeout: float = 20) -> None:
    """Poll until ``done()``, pressing ``confirm-ok`` whenever the screen asks to confirm."""

    def check() -> bool:
        if page.get_by_test_id("confirm-dialog").is_visible():
            page.get_by_test_id("confirm-ok").click()
        return done()

    wait_until(check, timeout=timeout)
