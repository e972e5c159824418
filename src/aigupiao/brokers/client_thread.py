"""One worker thread per blocking broker client, every step under a timeout.

A GUI driver (pywinauto) or a vendor SDK (xtquant) blocks, so the event loop
must never call it directly. Each adapter owns one :class:`ClientThread` and
runs every step on it with :meth:`ClientThread.run`, which is
``asyncio.wait_for(asyncio.to_thread(...))`` with two differences that matter
for a desktop client:

* **One thread, in order.** Steps run one after another on the same thread,
  never side by side: a window is driven from one thread, and a step that
  timed out cannot overlap the next one in the client's window.
* **Started or not.** When the timeout fires, the runner knows whether the
  step had begun. A step still waiting behind a stuck one is cancelled before
  it runs (:class:`StepNotStarted`: nothing was sent); a step that had begun
  is still running in the client (:class:`StepTimeout`: the outcome is unknown).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class StepTimeout(Exception):
    """The step began on the client and did not finish in time: its outcome is unknown."""


class StepNotStarted(Exception):
    """The step never began (the thread was busy with an earlier one): nothing was done."""


class _Job:
    __slots__ = ("abandoned", "gate", "started")

    def __init__(self) -> None:
        self.gate = threading.Lock()
        self.started = False
        self.abandoned = False

    def begin(self, step: str) -> None:
        with self.gate:
            if self.abandoned:
                raise StepNotStarted(step)
            self.started = True

    def give_up(self) -> bool:
        """Abandon the job if it has not begun; True if it had begun."""
        with self.gate:
            if not self.started:
                self.abandoned = True
            return self.started


class ClientThread:
    """Runs blocking client calls one at a time on a dedicated, named thread."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.busy_step: str | None = None  # the step running now (a stuck one stays here)

    async def run(self, step: str, call: Callable[[], T], timeout: float) -> T:
        """Run ``call()`` on the client thread; its result, or its exception re-raised.

        Raises:
            StepTimeout: ``call`` began and did not return within ``timeout`` seconds.
            StepNotStarted: ``timeout`` passed before ``call`` could begin.
        """
        job = _Job()

        def work() -> T:
            job.begin(step)
            self.busy_step = step
            try:
                return call()
            finally:
                self.busy_step = None

        try:
            future: Future[T] = self._executor.submit(work)
        except RuntimeError as exc:  # shut down
            raise StepNotStarted(step) from exc
        # A step that outlives its caller must not log "exception never retrieved".
        future.add_done_callback(_consume)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            begun = job.give_up()
            if isinstance(exc, asyncio.CancelledError):
                raise
            if begun:
                raise StepTimeout(step) from None
            raise StepNotStarted(step) from None

    def close(self) -> None:
        """Stop taking steps; one still running is left to finish on its own."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _consume(future: Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
