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


# What makes a page scroll sideways on a phone, measured in the page: its width, every
# element past the screen's right edge that no box of its own scrolls or clips (only the
# outermost of a nest: the one that leaves its parent), and every table that is not in a
# box scrolling sideways inside its panel (a table is as wide as its longest cells, which
# come from live data: the cause of a page that is sometimes wider than the phone).
_OVERFLOW = r"""() => {
  const screen = document.documentElement.clientWidth
  const clips = (el) => getComputedStyle(el).overflowX !== 'visible'
  const past = (el) => el.getBoundingClientRect().right > screen + 0.5
  const name = (el) => {
    const parts = []
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      const id = e.getAttribute('data-testid')
      const cls = typeof e.className === 'string' ? e.className.trim() : ''
      const mark = id ? `[${id}]` : cls ? '.' + cls.split(/\s+/).join('.') : ''
      parts.unshift(e.tagName.toLowerCase() + mark)
    }
    return parts.join(' > ')
  }
  const held = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (clips(p)) return !past(p)
    }
    return false
  }
  const wider = []
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect()
    if (box.width === 0 || box.height === 0 || !past(el) || held(el)) continue
    const parent = el.parentElement
    if (parent && parent !== document.body && past(parent) && !clips(parent)) continue
    const text = (el.innerText || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 60)
    wider.push(`${name(el)}, right edge at ${Math.round(box.right)}px: "${text}"`)
  }
  const loose = [...document.querySelectorAll('table')].filter((table) => {
    for (let p = table.parentElement; p && p !== document.body; p = p.parentElement) {
      if (clips(p)) return false
      if (p.classList.contains('panel')) return true
    }
    return true
  }).map(name)
  return { width: document.documentElement.scrollWidth, screen, wider: wider.slice(0, 8), loose }
}"""


def assert_fits_the_screen(page: Any, where: str) -> None:
    """Nothing on ``page`` is wider than its screen (no sideways scrolling), and no table
    could make it so; the message names what sticks out and where."""
    found = page.evaluate(_OVERFLOW)
    width, screen = found["width"], found["screen"]
    wider = "; ".join(found["wider"]) or "nothing found past the edge"
    assert width <= screen and not found["wider"], (
        f"{where}: page is {width}px wide on a {screen}px screen: {wider}"
    )
    assert not found["loose"], (
        f"{where}: tables not in a box that scrolls sideways inside their panel "
        f"(their width comes from the data): {'; '.join(found['loose'])}"
    )


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
