"""Backtests run from the API (``backtests``, migration 0008).

A run moves through :data:`TRANSITIONS` only::

    queued -> running -> done
    queued | running -> failed | cancelled

Every change is one conditional UPDATE (``WHERE status IN <allowed from>``), so two
writers (the worker finishing, a cancel, the sweep at start) can never both win: the
loser gets ``False`` and the row is unchanged. ``result`` is written only with ``done``;
a failed or cancelled run has its reason in ``error`` and no result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update

from ..models import BacktestRow
from ._base import Repository, table

_backtests = table(BacktestRow)


class BacktestStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL


FINAL = frozenset({BacktestStatus.DONE, BacktestStatus.FAILED, BacktestStatus.CANCELLED})

# (to) -> the states a run may be in to go there.
TRANSITIONS: dict[BacktestStatus, frozenset[BacktestStatus]] = {
    BacktestStatus.RUNNING: frozenset({BacktestStatus.QUEUED}),
    BacktestStatus.DONE: frozenset({BacktestStatus.RUNNING}),
    BacktestStatus.FAILED: frozenset({BacktestStatus.QUEUED, BacktestStatus.RUNNING}),
    BacktestStatus.CANCELLED: frozenset({BacktestStatus.QUEUED, BacktestStatus.RUNNING}),
}


@dataclass(frozen=True, slots=True)
class BacktestRecord:
    """One stored run. ``result`` is None in lists (only :meth:`BacktestRepo.get` reads it)
    and for every run that is not ``done``."""

    id: str
    status: BacktestStatus
    params: dict[str, Any]
    created_at: datetime
    created_by: str
    progress_done: int
    progress_total: int
    started_at: datetime | None
    finished_at: datetime | None
    error: dict[str, Any] | None
    result: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BacktestRecord:
        return cls(
            id=row["id"],
            status=BacktestStatus(row["status"]),
            params=row["params"],
            created_at=row["created_at"],
            created_by=row["created_by"],
            progress_done=int(row["progress_done"]),
            progress_total=int(row["progress_total"]),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            error=row["error"],
            result=row.get("result"),
        )


_SUMMARY = [c for c in _backtests.c if c.name not in ("result", "report_html")]
_WHOLE = [c for c in _backtests.c if c.name != "report_html"]


class BacktestRepo(Repository):
    async def add(
        self, backtest_id: str, params: dict[str, Any], created_by: str
    ) -> BacktestRecord:
        """Store a new run as ``queued``."""
        values = {
            "id": backtest_id,
            "created_at": self._now(),
            "params": params,
            "result": None,
            "status": BacktestStatus.QUEUED.value,
            "progress_done": 0,
            "progress_total": 0,
            "error": None,
            "report_html": None,
            "started_at": None,
            "finished_at": None,
            "created_by": created_by,
        }
        await self._session.execute(_backtests.insert().values(**values))
        return BacktestRecord.from_row(values)

    async def get(self, backtest_id: str) -> BacktestRecord | None:
        """The run with its result, or None."""
        row = await self._one(select(*_WHOLE).where(_backtests.c.id == backtest_id))
        return BacktestRecord.from_row(row) if row is not None else None

    async def report_html(self, backtest_id: str) -> str | None:
        """A done run's HTML report, or None (no such run, or not done)."""
        c = _backtests.c
        html = await self._session.scalar(select(c.report_html).where(c.id == backtest_id))
        return str(html) if html is not None else None

    async def page(self, *, limit: int = 50, offset: int = 0) -> list[BacktestRecord]:
        """Runs without their results, newest first."""
        c = _backtests.c
        statement = (
            select(*_SUMMARY).order_by(c.created_at.desc(), c.id.desc()).limit(limit).offset(offset)
        )
        return [BacktestRecord.from_row(row) for row in await self._all(statement)]

    async def count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(_backtests)) or 0)

    async def ids_in(self, *statuses: BacktestStatus) -> list[str]:
        """Ids of the runs in ``statuses``, oldest first."""
        c = _backtests.c
        statement = (
            select(c.id)
            .where(c.status.in_([s.value for s in statuses]))
            .order_by(c.created_at, c.id)
        )
        return [row["id"] for row in await self._all(statement)]

    async def _move(
        self, backtest_id: str | None, to: BacktestStatus, values: dict[str, Any]
    ) -> int:
        c = _backtests.c
        statement = update(_backtests).where(c.status.in_([s.value for s in TRANSITIONS[to]]))
        if backtest_id is not None:
            statement = statement.where(c.id == backtest_id)
        return await self._execute_count(statement.values(status=to.value, **values))

    async def start(self, backtest_id: str) -> bool:
        """``queued`` -> ``running``; False if it is not queued (cancelled meanwhile)."""
        return (
            await self._move(backtest_id, BacktestStatus.RUNNING, {"started_at": self._now()}) > 0
        )

    async def progress(self, backtest_id: str, done: int, total: int) -> bool:
        """Record the progress of a running run; False if it is not running."""
        c = _backtests.c
        changed = await self._execute_count(
            update(_backtests)
            .where(c.id == backtest_id, c.status == BacktestStatus.RUNNING.value)
            .values(progress_done=done, progress_total=total)
        )
        return changed > 0

    async def finish(
        self, backtest_id: str, result: dict[str, Any], html: str, *, done: int, total: int
    ) -> bool:
        """``running`` -> ``done`` with the whole result and its HTML report; False if it
        is not running."""
        values = {
            "result": result,
            "report_html": html,
            "progress_done": done,
            "progress_total": total,
            "finished_at": self._now(),
            "error": None,
        }
        return await self._move(backtest_id, BacktestStatus.DONE, values) > 0

    async def end(self, backtest_id: str, status: BacktestStatus, error: dict[str, Any]) -> bool:
        """``queued`` | ``running`` -> ``failed`` | ``cancelled`` with the reason;
        False if the run had already ended."""
        if status not in (BacktestStatus.FAILED, BacktestStatus.CANCELLED):
            raise ValueError(f"a run ends as failed or cancelled, not {status}")
        values = {"error": error, "finished_at": self._now(), "result": None, "report_html": None}
        return await self._move(backtest_id, status, values) > 0

    async def fail_unfinished(self, error: dict[str, Any]) -> int:
        """Every ``queued`` or ``running`` run -> ``failed`` with ``error`` (a process that
        died left them); returns how many."""
        values = {"error": error, "finished_at": self._now(), "result": None, "report_html": None}
        return await self._move(None, BacktestStatus.FAILED, values)
