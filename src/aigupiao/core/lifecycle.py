"""Named, owned background tasks.

Every long-lived task belongs to a :class:`TaskGroup` that starts it, stops it,
and remembers how it ended, so failures surface in ``/health`` instead of
vanishing with a fire-and-forget ``create_task``.

A task started from a factory (a function that makes its coroutine) is supervised:
when it raises, the failure is logged and counted and the task is started again after
a backoff (0.5 s, doubling up to 30 s, back to 0.5 s once a run has lasted a minute).
No task dies for good because one input or one database write went wrong.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

Factory = Callable[[], Coroutine[Any, Any, Any]]

FIRST_BACKOFF = 0.5  # seconds before the first restart
MAX_BACKOFF = 30.0
HEALTHY_AFTER = 60.0  # a run this long was healthy: the next failure starts over at 0.5 s


@dataclass(slots=True)
class _Record:
    """What the group knows of one named task."""

    task: asyncio.Task[Any]
    supervised: bool
    restarts: int = 0
    last_error: str | None = None
    failed: bool = False  # ended with an exception and will not run again
    waiting: bool = False  # failed; restarts after the backoff


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


class TaskGroup:
    """The named tasks of one owner (``cloud``, ``local``, a broker adapter).

    Args:
        owner: the prefix of the tasks' names (``owner/name``).
        first_backoff: seconds before a failed supervised task is started again.
        max_backoff: the longest wait; each failure in a row doubles the last one.
        healthy_after: seconds a run must last for its failure to start over at
            ``first_backoff``.
    """

    def __init__(
        self,
        owner: str,
        *,
        first_backoff: float = FIRST_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        healthy_after: float = HEALTHY_AFTER,
    ) -> None:
        self.owner = owner
        self.first_backoff, self.max_backoff = first_backoff, max_backoff
        self.healthy_after = healthy_after
        self._records: dict[str, _Record] = {}
        self._stopping = False

    def start(
        self, name: str, work: Factory | Coroutine[Any, Any, Any], *, restart: bool = True
    ) -> asyncio.Task[Any]:
        """Run ``work`` as the task ``name``.

        Args:
            work: a zero-argument function making the coroutine (restartable), or a
                coroutine (runs once: a coroutine cannot be run twice).
            restart: with a function, start it again after a failure (with backoff).

        Returns:
            The task: with a function and ``restart``, the supervisor that runs it.
        """
        record = self._records.get(name)
        if record is not None and not record.task.done():
            if asyncio.iscoroutine(work):
                work.close()
            raise RuntimeError(f"task {self.owner}/{name} is already running")
        loop = asyncio.get_running_loop()
        self._stopping = False
        coro: Coroutine[Any, Any, Any]
        if asyncio.iscoroutine(work):
            coro, supervised = work, False
        elif restart:
            coro, supervised = self._supervise(name, work), True
        else:
            coro, supervised = work(), False
        try:
            task = loop.create_task(coro, name=f"{self.owner}/{name}")
        except BaseException:
            coro.close()
            raise
        self._records[name] = _Record(task, supervised)  # a new start begins healthy
        if not supervised:
            task.add_done_callback(lambda t, n=name: self._finished(n, t))
        return task

    async def _supervise(self, name: str, factory: Factory) -> Any:
        loop = asyncio.get_running_loop()
        backoff = self.first_backoff
        while True:
            record = self._records[name]
            began = loop.time()
            try:
                return await factory()
            except Exception as exc:
                record.last_error = _describe(exc)
                if self._stopping:
                    record.failed = True
                    log.error("task %s/%s failed while stopping", self.owner, name, exc_info=exc)
                    return None
                if loop.time() - began >= self.healthy_after:
                    backoff = self.first_backoff
                record.restarts += 1
                log.error(
                    "task %s/%s failed; restart %d in %.3g s",
                    self.owner, name, record.restarts, backoff, exc_info=exc,
                )  # fmt: skip
            record.waiting = True
            try:
                await asyncio.sleep(backoff)  # stop() cancels it here: no restart after stop
            finally:
                record.waiting = False
            backoff = min(backoff * 2, self.max_backoff)

    def _finished(self, name: str, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        record = self._records.get(name)
        if exc is not None and record is not None and record.task is task:
            record.failed, record.last_error = True, _describe(exc)
            log.error("task %s/%s failed", self.owner, name, exc_info=exc)

    def _state(self, record: _Record) -> str:
        if record.failed:
            return "failed"
        if record.waiting:
            return "restarting"
        return "stopped" if record.task.done() else "running"

    def health(self) -> dict[str, str]:
        """Per task: ``running``, ``stopped``, ``restarting: <error>`` (a supervised task
        waiting out its backoff) or ``failed: <error>`` (ended for good)."""
        states: dict[str, str] = {}
        for name, record in self._records.items():
            state = self._state(record)
            states[name] = f"{state}: {record.last_error}" if state in _DOWN else state
        return states

    def details(self) -> dict[str, dict[str, Any]]:
        """Per task: ``state`` (running, restarting, failed, stopped), ``restarts`` (how
        often it was started again after a failure) and ``last_error`` (or null)."""
        return {
            name: {
                "state": self._state(record),
                "restarts": record.restarts,
                "last_error": record.last_error,
            }
            for name, record in self._records.items()
        }

    def restarts(self, name: str) -> int:
        record = self._records.get(name)
        return record.restarts if record is not None else 0

    @property
    def healthy(self) -> bool:
        """No task has failed for good or is waiting to be restarted."""
        return not any(self._state(record) in _DOWN for record in self._records.values())

    async def cancel(self, name: str) -> None:
        """Cancel one task (one that never ends by itself) and wait for it."""
        record = self._records.get(name)
        if record is not None and not record.task.done():
            record.task.cancel()
            await asyncio.wait([record.task])

    async def stop(self, grace: float = 0.0, timeout: float = 5.0) -> None:
        """Stop every task: wait up to ``grace`` seconds for them to end on their own
        (their owner has signalled them to), then cancel the rest (and every pending
        restart) and wait up to ``timeout``. A task failing meanwhile is not restarted."""
        self._stopping = True
        tasks = [r.task for r in self._records.values() if not r.task.done()]
        waiting = [r.task for r in self._records.values() if r.waiting and not r.task.done()]
        for task in waiting:  # nothing to wait for: the restart would only see the stop
            task.cancel()
        if tasks and grace > 0:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            tasks = list(pending)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


_DOWN = frozenset({"failed", "restarting"})


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
