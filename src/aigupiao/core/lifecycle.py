"""Named, owned background tasks.

Every long-lived task belongs to a :class:`TaskGroup` that starts it, stops it,
and remembers how it ended, so failures surface in ``/health`` instead of
vanishing with a fire-and-forget ``create_task``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


class TaskGroup:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._failures: dict[str, str] = {}

    def start(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        if name in self._tasks and not self._tasks[name].done():
            coro.close()
            raise RuntimeError(f"task {self.owner}/{name} is already running")
        self._failures.pop(name, None)  # a restarted task starts healthy
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}/{name}")
        task.add_done_callback(lambda t, n=name: self._finished(n, t))
        self._tasks[name] = task
        return task

    def _finished(self, name: str, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._failures[name] = f"{type(exc).__name__}: {exc}"
            log.error("task %s/%s failed", self.owner, name, exc_info=exc)

    def health(self) -> dict[str, str]:
        """``running``, ``stopped`` or the failure, per task."""
        states: dict[str, str] = {}
        for name, task in self._tasks.items():
            if name in self._failures:
                states[name] = f"failed: {self._failures[name]}"
            else:
                states[name] = "stopped" if task.done() else "running"
        return states

    @property
    def healthy(self) -> bool:
        return not self._failures

    async def cancel(self, name: str) -> None:
        """Cancel one task (one that never ends by itself) and wait for it."""
        task = self._tasks.get(name)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def stop(self, grace: float = 0.0, timeout: float = 5.0) -> None:
        """Stop every task: wait up to ``grace`` seconds for them to end on their own
        (their owner has signalled them to), then cancel the rest and wait up to ``timeout``."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks and grace > 0:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            tasks = list(pending)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop where it exists (Linux, macOS), else on asyncio's own loop.

    uvloop's cross-thread wake-ups are several times cheaper, and the SQLite driver
    (aiosqlite) pays one for every statement.
    """
    try:
        import uvloop
    except ImportError:  # Windows: the local node runs on asyncio's loop
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
