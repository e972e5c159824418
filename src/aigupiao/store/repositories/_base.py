"""What every repository shares: the session, the clock, row-to-dict, upserts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, cast

from sqlalchemy import CursorResult, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession

from aigupiao.core.clock import Clock, LiveClock
from aigupiao.domain.symbols import Symbol

from ..models import Base

# Rows per executemany of an upsert: bounds one statement's memory, not its speed.
UPSERT_CHUNK = 2_000

# Statements on the command path, built once per dialect and run with parameters:
# building a statement and its cache key costs more than SQLite takes to run it.
_PREPARED: dict[tuple[str, str], Any] = {}


class Repository:
    """Base of the repositories.

    A repository runs statements in the caller's session and never commits: the
    caller decides what one transaction contains. Reads return plain dicts keyed
    by column name (Decimals, aware UTC datetimes, JSON as stored).

    Args:
        session: the session to work in.
        clock: the source of ``now`` for timestamps the caller does not pass
            (``created_at``, ``last_used_at``, ``received_at`` ...).
    """

    def __init__(self, session: AsyncSession, *, clock: Clock | None = None) -> None:
        self._session = session
        self._clock = clock or LiveClock()

    def _now(self) -> datetime:
        return self._clock.now()

    @property
    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name

    def _insert(self, table: Table) -> Any:
        """A dialect-specific INSERT, which offers ``on_conflict_do_*``."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _prepared(self, name: str, build: Callable[[], Any]) -> Any:
        """The statement ``build()`` makes, built once per dialect under ``name``."""
        key = (self._dialect, name)
        statement = _PREPARED.get(key)
        if statement is None:
            statement = _PREPARED[key] = build()
        return statement

    async def _upsert(self, table: Table, rows: Sequence[dict[str, Any]], keys: list[str]) -> None:
        """INSERT ... ON CONFLICT (keys) DO UPDATE every other column; last row per key wins.

        Every row has the same columns. The statement is built once per table and column
        set and run for all rows at once (the driver's executemany), so a full-market
        batch costs no SQL compilation.
        """
        unique = list({tuple(row[k] for k in keys): row for row in rows}.values())
        if not unique:
            return
        columns = tuple(unique[0])

        def build() -> Any:
            statement = self._insert(table)
            updates = {
                column: statement.excluded[column] for column in columns if column not in keys
            }
            return statement.on_conflict_do_update(index_elements=keys, set_=updates)

        name = f"upsert:{table.name}:{','.join(keys)}:{','.join(columns)}"
        statement = self._prepared(name, build)
        for start in range(0, len(unique), UPSERT_CHUNK):
            await self._session.execute(statement, unique[start : start + UPSERT_CHUNK])

    async def _execute_count(self, statement: Any, parameters: dict[str, Any] | None = None) -> int:
        """Run a write statement and return how many rows it changed."""
        result = await self._session.execute(statement, parameters)
        return cast(CursorResult[Any], result).rowcount

    async def _one(
        self, statement: Any, parameters: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        row = (await self._session.execute(statement, parameters)).mappings().first()
        return dict(row) if row is not None else None

    async def _all(self, statement: Any) -> list[dict[str, Any]]:
        result: Result[Any] = await self._session.execute(statement)
        return [dict(row) for row in result.mappings()]


def table(model: type[Base]) -> Table:
    """The Core table of a model class."""
    return cast(Table, model.__table__)


def text_value(value: Any) -> Any:
    """An enum's value (``Side.BUY`` -> ``"buy"``), a Symbol's full code; others unchanged."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Symbol):
        return value.full
    return value
