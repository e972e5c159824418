"""Named, owned background tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from aigupiao.core.lifecycle import TaskGroup


async def eventually(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.001)


async def forever() -> None:
    await asyncio.Event().wait()


async def fail_soon(message: str) -> None:
    await asyncio.sleep(0)
    raise ValueError(message)


async def test_running_task_is_named_and_healthy() -> None:
    group = TaskGroup("feed")
    task = group.start("reader", forever())
    await asyncio.sleep(0)
    assert task.get_name() == "feed/reader"
    assert group.health() == {"reader": "running"}
    assert group.healthy
    await group.stop()


async def test_failed_task_shows_its_exception(caplog: pytest.LogCaptureFixture) -> None:
    group = TaskGroup("feed")
    group.start("reader", forever())
    with caplog.at_level(logging.ERROR, logger="aigupiao.core.lifecycle"):
        task = group.start("parser", fail_soon("bad frame 行情"))
        await eventually(lambda: not group.healthy)
    assert task.done()
    assert group.health() == {"reader": "running", "parser": "failed: ValueError: bad frame 行情"}
    assert not group.healthy
    assert any("feed/parser" in r.getMessage() for r in caplog.records)
    await group.stop()
    assert group.health()["parser"].startswith("failed: ValueError")
    assert group.health()["reader"] == "stopped"


async def test_task_that_returns_is_stopped_and_healthy() -> None:
    group = TaskGroup("node")

    async def quick() -> int:
        return 42

    task = group.start("once", quick())
    assert await task == 42
    await eventually(lambda: group.health() == {"once": "stopped"})
    assert group.healthy


async def test_stop_cancels_every_task() -> None:
    group = TaskGroup("node")
    cancelled: list[str] = []

    async def worker(name: str) -> None:
        try:
            await forever()
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    tasks = [group.start(name, worker(name)) for name in ("a", "b", "c")]
    await asyncio.sleep(0)
    assert group.health() == {"a": "running", "b": "running", "c": "running"}
    await group.stop()
    assert all(t.cancelled() for t in tasks)
    assert sorted(cancelled) == ["a", "b", "c"]
    assert group.health() == {"a": "stopped", "b": "stopped", "c": "stopped"}
    assert group.healthy  # cancellation is not a failure


async def test_stop_with_nothing_running_returns() -> None:
    group = TaskGroup("empty")
    await group.stop()
    assert group.health() == {}


async def test_stop_gives_up_after_the_timeout() -> None:
    group = TaskGroup("node")
    release = asyncio.Event()

    async def stubborn() -> None:
        while True:
            try:
                await release.wait()
                return
            except asyncio.CancelledError:
                continue  # refuses to stop

    task = group.start("stubborn", stubborn())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await group.stop(timeout=0.05)
    assert loop.time() - began < 1.0
    assert not task.done()
    release.set()
    await task


async def test_same_name_cannot_run_twice() -> None:
    group = TaskGroup("node")
    group.start("loop", forever())
    duplicate = forever()
    with pytest.raises(RuntimeError, match="node/loop is already running"):
        group.start("loop", duplicate)
    assert duplicate.cr_frame is None  # closed, so no 'never awaited' warning
    await group.stop()


async def test_name_can_be_reused_after_the_task_ends() -> None:
    group = TaskGroup("node")
    group.start("loop", forever())
    await group.stop()
    task = group.start("loop", forever())
    await asyncio.sleep(0)
    assert group.health() == {"loop": "running"}
    await group.stop()
    assert task.cancelled()


async def test_restart_after_failure_is_healthy_again() -> None:
    group = TaskGroup("node")
    group.start("loop", fail_soon("first run"))
    await eventually(lambda: not group.healthy)
    group.start("loop", forever())
    await asyncio.sleep(0)
    try:
        assert group.health() == {"loop": "running"}
        assert group.healthy
    finally:
        await group.stop()


def test_start_outside_a_running_loop_raises() -> None:
    group = TaskGroup("node")
    coro = forever()
    with pytest.raises(RuntimeError):
        group.start("loop", coro)
    coro.close()
    assert group.health() == {}
