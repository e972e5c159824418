"""Each account's equity over time: the history behind the equity curve and today's P&L.

:class:`EquityHistory` is given every account snapshot the cloud stores
(:class:`~aigupiao.cloud.services.results.ResultRecorder`) and keeps at most one
``account_snapshots`` row per account per ``interval`` seconds: time is cut into
intervals aligned on the epoch, and a later snapshot in the same interval overwrites
that interval's row, so each row holds the last equity known in its interval and a
busy account does not write a row per fill. The first snapshot of each trading day
(Beijing date) always gets a row of its own that is never overwritten: it is where
today's P&L starts when nothing was recorded before the day began.

Today's P&L is ``equity - day_start_equity``. ``day_start_equity`` is the equity of
the last snapshot before today's 09:15 (the opening auction; usually the previous
day's close), else the first snapshot of today (an account first seen today); unknown
(None) when the account has no history. Cash moved in or out during the day counts as
P&L: the broker's snapshots do not tell transfers apart.

The ``equity-retention`` task deletes rows older than ``retention_days`` at start and
then every ``retention_every`` seconds, in small transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aigupiao.core.clock import Clock
from aigupiao.core.logging import QuietLog
from aigupiao.domain.account import Account
from aigupiao.domain.sessions import BEIJING
from aigupiao.store import Database
from aigupiao.store.repositories.trading import AccountSnapshotRepo

log = logging.getLogger(__name__)

DAY_START = time(9, 15)  # the opening auction: what was before it is yesterday's result
DELETE_CHUNK = 5_000
RETENTION_EVERY = 3600.0


@dataclass(frozen=True)
class _Latest:
    """The account's newest row: overwritten while its interval lasts (not the day's first)."""

    row_id: int
    ts: datetime
    day: date
    bucket: int
    first_of_day: bool


@dataclass(frozen=True)
class DayStart:
    """Where an account's trading day starts: ``equity`` at ``ts``."""

    equity: Decimal
    ts: datetime


def trading_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def day_start_moment(day: date) -> datetime:
    """09:15 Beijing time of ``day``."""
    return datetime.combine(day, DAY_START, BEIJING)


class EquityHistory:
    """Records and reads ``account_snapshots``.

    Args:
        db: the database (the retention task opens its own sessions).
        clock: the market clock: it decides "today" and stamps the snapshots.
        interval: seconds; at most one row per account per interval (plus the day's first).
        retention_days: rows older than this are deleted.
        retention_every: seconds between retention runs.
        delete_chunk: rows per delete transaction.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        interval: float,
        retention_days: int,
        retention_every: float = RETENTION_EVERY,
        delete_chunk: int = DELETE_CHUNK,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._db, self._clock, self._interval = db, clock, interval
        self._retention = timedelta(days=retention_days)
        self._retention_every, self._delete_chunk = retention_every, delete_chunk
        self._latest: dict[str, _Latest] = {}
        self._quiet = QuietLog(log)
        self.deleted = 0
        self.errors = 0
        self.last_error: str | None = None

    @property
    def clock(self) -> Clock:
        return self._clock

    def _bucket(self, moment: datetime) -> int:
        return int(moment.timestamp() // self._interval)

    async def record(self, session: AsyncSession, snapshot: Account, ts: datetime) -> None:
        """Store ``snapshot`` taken at ``ts`` in the caller's transaction (throttled).

        Callers serialize their calls (one writer): the newest row is remembered here.
        A transaction that is rolled back must be followed by :meth:`forget`.
        """
        repo = AccountSnapshotRepo(session)
        values = {
            "equity": snapshot.equity,
            "cash": snapshot.cash,
            "frozen_cash": snapshot.frozen_cash,
            "market_value": snapshot.market_value,
        }
        latest = self._latest.get(snapshot.id)
        if latest is None:
            latest = await self._load(repo, snapshot.id)
        day, bucket = trading_day(ts), self._bucket(ts)
        if (
            latest is not None
            and not latest.first_of_day
            and latest.day == day
            and latest.bucket == bucket
            and ts >= latest.ts
        ):
            await repo.replace(latest.row_id, ts, values)
            self._latest[snapshot.id] = _Latest(latest.row_id, ts, day, bucket, False)
            return
        row_id = await repo.add(snapshot.id, ts, values)
        first = latest is None or latest.day != day
        self._latest[snapshot.id] = _Latest(row_id, ts, day, bucket, first)

    def forget(self) -> None:
        """Drop what is remembered of the newest rows (after a rollback): reload them."""
        self._latest.clear()

    @staticmethod
    async def _load(repo: AccountSnapshotRepo, account: str) -> _Latest | None:
        row = await repo.last(account)
        if row is None:
            return None
        # Not known to be a later row of its day: never overwrite it after a restart.
        return _Latest(row["id"], row["ts"], trading_day(row["ts"]), -1, True)

    async def day_start(self, session: AsyncSession, account: str) -> DayStart | None:
        """Where ``account``'s trading day (today on the clock) starts; None: no history."""
        today = self._clock.now().astimezone(BEIJING).date()
        repo = AccountSnapshotRepo(session)
        row = await repo.last_before(account, day_start_moment(today))
        if row is None:
            row = await repo.first_since(account, datetime.combine(today, time(0), BEIJING))
        return None if row is None else DayStart(row["equity"], row["ts"])

    async def points(
        self,
        account: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """``{ts, equity, cash}`` of the newest ``limit`` rows in range, oldest first."""
        async with self._db.session() as session:
            rows = await AccountSnapshotRepo(session).list(
                account, start=start, end=end, limit=limit
            )
        return [{"ts": row["ts"], "equity": row["equity"], "cash": row["cash"]} for row in rows]

    async def run_retention(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.delete_old()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._retention_every)

    async def delete_old(self) -> int:
        """Delete rows older than the retention (on the clock); returns how many went."""
        cutoff = self._clock.now() - self._retention
        deleted = 0
        while True:
            try:
                async with self._db.session() as session:
                    count = await AccountSnapshotRepo(session).delete_before(
                        cutoff, limit=self._delete_chunk
                    )
                    await session.commit()
            except Exception as exc:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._quiet.warning("retention", "equity history: retention failed: %s", exc)
                break
            deleted += count
            self.deleted += count
            if count < self._delete_chunk:
                break
            await asyncio.sleep(0)  # let other writers in between chunks
        # A deleted row may be the remembered newest one (a long-idle account).
        if deleted:
            self.forget()
        return deleted
