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


# -- supervised tasks: restarted with backoff ------------------------------------------


class Flaky:
    """A task factory whose runs fail ``failures`` times, then run until cancelled."""

    def __init__(self, failures: int, *, run_for: float = 0.0) -> None:
        self.failures, self.run_for = failures, run_for
        self.runs = 0

    async def __call__(self) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            await asyncio.sleep(self.run_for)
            raise ValueError(f"run {self.runs} 失败")
        await forever()


def backoffs(caplog: pytest.LogCaptureFixture) -> list[float]:
    """The waits before each restart, as logged."""
    return [float(r.args[3]) for r in caplog.records if "restart" in r.msg]  # type: ignore[index]


async def test_a_supervised_task_that_raises_is_restarted_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    group = TaskGroup("cloud", first_backoff=0.001)
    flaky = Flaky(3)
    with caplog.at_level(logging.ERROR, logger="aigupiao.core.lifecycle"):
        task = group.start("quote-store", flaky)
        await eventually(lambda: flaky.runs == 4)
    try:
        assert task.get_name() == "cloud/quote-store" and not task.done()
        assert group.details() == {
            "quote-store": {
                "state": "running",
                "restarts": 3,
                "last_error": "ValueError: run 3 失败",
            }
        }
        assert group.health() == {"quote-store": "running"}
        assert group.healthy  # running again: the restarts are history
        assert group.restarts("quote-store") == 3
        logged = [r for r in caplog.records if "cloud/quote-store" in r.getMessage()]
        assert len(logged) == 3 and all(r.exc_info for r in logged)
    finally:
        await group.stop()


async def test_backoff_doubles_up_to_the_cap(caplog: pytest.LogCaptureFixture) -> None:
    group = TaskGroup("cloud", first_backoff=0.001, max_backoff=0.004)
    flaky = Flaky(6)
    with caplog.at_level(logging.ERROR, logger="aigupiao.core.lifecycle"):
        group.start("loop", flaky)
        await eventually(lambda: flaky.runs == 7)
    await group.stop()
    assert backoffs(caplog) == [0.001, 0.002, 0.004, 0.004, 0.004, 0.004]


async def test_backoff_starts_over_after_a_healthy_run(caplog: pytest.LogCaptureFixture) -> None:
    group = TaskGroup("cloud", first_backoff=0.001, healthy_after=0.05)

    runs = 0

    async def fails_then_runs_a_while_then_fails() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            await asyncio.sleep(0.06)  # longer than healthy_after
        if runs <= 3:
            raise ValueError(f"run {runs}")
        await forever()

    with caplog.at_level(logging.ERROR, logger="aigupiao.core.lifecycle"):
        group.start("loop", fails_then_runs_a_while_then_fails)
        await eventually(lambda: runs == 4)
    await group.stop()
    assert backoffs(caplog) == [0.001, 0.002, 0.001]


async def test_a_task_waiting_to_restart_is_down_in_health() -> None:
    group = TaskGroup("local", first_backoff=30)
    flaky = Flaky(1)
    group.start("cloud-link", flaky)
    await eventually(lambda: group.details()["cloud-link"]["state"] == "restarting")
    assert group.health() == {"cloud-link": "restarting: ValueError: run 1 失败"}
    assert not group.healthy
    assert group.details()["cloud-link"]["restarts"] == 1
    await group.stop()


async def test_stop_cancels_a_pending_restart() -> None:
    group = TaskGroup("cloud", first_backoff=30)
    flaky = Flaky(1)
    task = group.start("loop", flaky)
    await eventually(lambda: group.details()["loop"]["state"] == "restarting")
    loop = asyncio.get_running_loop()
    began = loop.time()
    await group.stop(grace=5)
    assert loop.time() - began < 1.0  # neither the backoff nor the grace was waited out
    assert task.cancelled() and flaky.runs == 1
    assert group.details()["loop"]["state"] == "stopped"


async def test_a_task_failing_while_stopping_is_not_restarted() -> None:
    group = TaskGroup("cloud", first_backoff=0.001)
    stop = asyncio.Event()
    runs = 0

    async def fails_on_stop() -> None:
        nonlocal runs
        runs += 1
        await stop.wait()
        raise RuntimeError("flush failed")

    group.start("store", fails_on_stop)
    await eventually(lambda: runs == 1)
    stop.set()
    await group.stop(grace=1)
    assert runs == 1
    assert group.health() == {"store": "failed: RuntimeError: flush failed"}


async def test_a_supervised_task_that_returns_is_not_restarted() -> None:
    group = TaskGroup("cloud", first_backoff=0.001)
    runs = 0

    async def once() -> int:
        nonlocal runs
        runs += 1
        return 42

    assert await group.start("once", once) == 42
    assert runs == 1 and group.health() == {"once": "stopped"}


async def test_a_coroutine_or_restart_false_runs_once() -> None:
    group = TaskGroup("cloud", first_backoff=0.001)
    one, other = Flaky(5), Flaky(5)
    first = group.start("coroutine", one())
    second = group.start("no-restart", other, restart=False)
    await asyncio.wait([first, second])
    assert one.runs == 1 and other.runs == 1
    assert group.health() == {
        "coroutine": "failed: ValueError: run 1 失败",
        "no-restart": "failed: ValueError: run 1 失败",
    }
    assert group.details()["coroutine"]["restarts"] == 0
