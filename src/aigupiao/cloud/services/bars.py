"""1-minute bars on the cloud: aggregated from the accepted quotes, stored in ``bars``.

:class:`BarRecorder` subscribes to the :class:`~.market.MarketService`, feeds every
batch to a :class:`~aigupiao.market.bars.MinuteBarAggregator` and keeps the bars it
closes; its task (``bar-store``) closes the bars that are due on the market clock and
writes the pending ones every ``interval`` seconds with one upsert. A database error
is logged and the bars are written with the next round; at most ``max_pending`` bars
wait (the oldest are dropped beyond that, and counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from aigupiao.core.clock import Clock
from aigupiao.core.logging import QuietLog
from aigupiao.domain.market import Bar, Quote
from aigupiao.market.bars import MinuteBarAggregator
from aigupiao.store import BarRepo, Database

from .market import STORE_CHUNK

log = logging.getLogger(__name__)

MAX_PENDING = 200_000  # about 36 minutes of bars for the whole market


class BarRecorder:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        interval: float,
        grace: float = 3.0,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._db, self._clock, self._interval = db, clock, interval
        self.aggregator = MinuteBarAggregator(grace=grace)
        self._pending: deque[Bar] = deque()
        self._max_pending = max_pending
        self._lock = asyncio.Lock()
        self._quiet = QuietLog(log)
        self.stored = 0
        self.dropped = 0
        self.errors = 0
        self.last_error: str | None = None
        self._close_listeners: list[Callable[[list[Bar]], None]] = []

    def on_close(self, listener: Callable[[list[Bar]], None]) -> Callable[[], None]:
        """Call ``listener`` with the bars of every batch that closes some (the agent
        evaluates on bar closes); it runs on the event loop and must not block.
        Returns a function that unsubscribes it."""
        self._close_listeners.append(listener)
        return lambda: self._close_listeners.remove(listener)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def on_quotes(self, quotes: list[Quote]) -> None:
        """The Bus listener: aggregate a batch of accepted quotes."""
        self._keep(self.aggregator.on_quotes(quotes))

    async def run(self, stop: asyncio.Event) -> None:
        """Close due bars and write them every ``interval`` seconds until ``stop``."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
            await self.flush()

    async def flush(self) -> int:
        """Close the bars due now and write everything pending; returns how many were written."""
        self._keep(self.aggregator.close_due(self._clock.now()))
        async with self._lock:
            if not self._pending:
                return 0
            batch = list(self._pending)
            self._pending.clear()
            written = 0
            try:
                # One transaction per chunk, the loop free in between (see STORE_CHUNK).
                for start in range(0, len(batch), STORE_CHUNK):
                    if start:
                        await asyncio.sleep(0)
                    async with self._db.session() as session:
                        await BarRepo(session).upsert_many(batch[start : start + STORE_CHUNK])
                        await session.commit()
                    written = min(len(batch), start + STORE_CHUNK)
            except Exception as exc:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                failed = len(batch) - written
                self._quiet.warning("store", "storing %d bars failed: %s", failed, exc)
                self._pending.extendleft(reversed(batch[written:]))  # first again, in order
                self._keep([])
                self.stored += written
                return written
            self.stored += written
            return written

    def counters(self) -> dict[str, object]:
        return {
            "symbols": self.aggregator.symbols,
            "pending": self.pending,
            "stored": self.stored,
            "dropped": self.dropped,
            "errors": self.errors,
            "last_error": self.last_error,
        }

    def _keep(self, bars: list[Bar]) -> None:
        if bars:
            for listener in self._close_listeners:
                try:
                    listener(bars)
                except Exception:  # a listener's bug must not lose the bars
                    log.exception("bar close listener %r failed", listener)
        self._pending.extend(bars)
        excess = len(self._pending) - self._max_pending
        if excess > 0:
            for _ in range(excess):
                self._pending.popleft()
            self.dropped += excess
