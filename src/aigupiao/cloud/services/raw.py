"""Raw snapshots on the cloud, only when ``market.keep_raw`` is on.

:class:`RawRecorder` queues every accepted batch with its source and the time it
arrived; its ``raw-store`` task appends them to ``quotes_raw`` every ``interval``
seconds in multi-row statements of ``chunk`` rows; its ``raw-retention`` task deletes
snapshots older than ``retention_days`` (by quote time, on the market clock) at start
and then every ``retention_every`` seconds, in small transactions so neither database
holds its write lock for long. At most ``max_pending`` snapshots wait for the database;
beyond that the oldest are dropped and counted (the feed never waits for storage).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from datetime import datetime, timedelta

from aigupiao.core.clock import Clock, LiveClock
from aigupiao.core.logging import QuietLog
from aigupiao.domain.market import Quote
from aigupiao.store import Database
from aigupiao.store.repositories.market import RawQuoteRepo

from .market import SourcedBatch

log = logging.getLogger(__name__)

MAX_PENDING = 500_000  # about 5 minutes of the whole market at the average rate
CHUNK = 2_000
DELETE_CHUNK = 20_000
RETENTION_EVERY = 3600.0


class RawRecorder:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        interval: float,
        retention_days: int,
        chunk: int = CHUNK,
        max_pending: int = MAX_PENDING,
        retention_every: float = RETENTION_EVERY,
        wall_clock: Clock | None = None,
    ) -> None:
        self._db, self._clock, self._interval = db, clock, interval
        self._wall = wall_clock or LiveClock()
        self._retention = timedelta(days=retention_days)
        self._retention_every = retention_every
        self._chunk, self._max_pending = chunk, max_pending
        self._pending: deque[tuple[str, Quote, datetime]] = deque()
        self._lock = asyncio.Lock()
        self._quiet = QuietLog(log)
        self.stored = 0
        self.dropped = 0
        self.deleted = 0
        self.errors = 0
        self.last_error: str | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def on_batch(self, batch: SourcedBatch) -> None:
        """The Bus listener: queue a batch of accepted quotes."""
        received = self._wall.now()
        self._pending.extend((batch.source, quote, received) for quote in batch.quotes)
        self._trim()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
            await self.flush()

    async def flush(self) -> int:
        """Write everything queued; returns how many snapshots were written."""
        written = 0
        async with self._lock:
            while self._pending:
                batch = [
                    self._pending.popleft() for _ in range(min(self._chunk, len(self._pending)))
                ]
                try:
                    async with self._db.session() as session:
                        await RawQuoteRepo(session).add_many(batch)
                        await session.commit()
                except Exception as exc:
                    self._failed("store", exc)
                    self._pending.extendleft(reversed(batch))
                    self._trim()
                    break
                written += len(batch)
                self.stored += len(batch)
        return written

    async def run_retention(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.delete_old()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._retention_every)

    async def delete_old(self) -> int:
        """Delete snapshots older than the retention; returns how many went."""
        cutoff = self._clock.now() - self._retention
        deleted = 0
        while True:
            try:
                async with self._db.session() as session:
                    count = await RawQuoteRepo(session).delete_before(cutoff, limit=DELETE_CHUNK)
                    await session.commit()
            except Exception as exc:
                self._failed("retention", exc)
                break
            deleted += count
            self.deleted += count
            if count < DELETE_CHUNK:
                break
            await asyncio.sleep(0)  # let quotes through between chunks
        return deleted

    def counters(self) -> dict[str, object]:
        return {
            "enabled": True,
            "pending": self.pending,
            "stored": self.stored,
            "dropped": self.dropped,
            "deleted": self.deleted,
            "retention_days": self._retention.days,
            "errors": self.errors,
            "last_error": self.last_error,
        }

    def _trim(self) -> None:
        excess = len(self._pending) - self._max_pending
        if excess > 0:
            for _ in range(excess):
                self._pending.popleft()
            self.dropped += excess

    def _failed(self, what: str, exc: Exception) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._quiet.warning(what, "raw snapshots: %s failed: %s", what, exc)
