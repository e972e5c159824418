"""Shared test helpers: polling instead of sleeps, free ports, the shared data dir."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI") == "true"


async def eventually(
    check: Callable[[], Awaitable[T] | T], *, timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Poll ``check`` until it returns a truthy value (awaiting it if needed) or time runs out."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = check()
            if asyncio.iscoroutine(value) or isinstance(value, Awaitable):
                value = await value
            if value:
                return value  # type: ignore[return-value]
            last = value
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last: {last!r}")
        await asyncio.sleep(interval)


def wait_until(check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1) -> T:
    """The synchronous twin of :func:`eventually` (for subprocess tests)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = check()
            if value:
                return value
            last = value
        except (AssertionError, OSError, httpx.TransportError) as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last: {last!r}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_missing(what: str) -> None:
    """A required service is down: a failure under CI=true, a skip on a developer machine."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not reachable", pytrace=False)
    pytest.skip(f"{what} not reachable")


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        service_missing("the shared data folder ../shared")
    return SHARED
