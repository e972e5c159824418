"""SQLite for the async engine without a thread hop per statement.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on a worker
thread and wakes the event loop for each answer: about 0.3 ms per statement on
this kind of machine, while SQLite itself needs a few microseconds for the
small writes a command makes. This module gives SQLAlchemy's aiosqlite dialect
a drop-in DBAPI (passed as ``module=``) that runs each call on the event loop's
own thread instead: a command's two transactions cost ~0.2 ms instead of ~5 ms.

Waiting for the write lock is the one thing that must not block the loop (the
holder may be another coroutine of this very loop). The connections therefore
run with ``busy_timeout=0``, and a ``BEGIN`` (or a statement outside a
transaction) that finds the database locked is retried after an ``await
asyncio.sleep``, with backoff, until :data:`LOCK_WAIT_SECONDS` have passed.
Every transaction starts with ``BEGIN IMMEDIATE`` (see ``db.py``), so inside one
the lock is already held and no statement can meet a busy database.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)

# As long as the ``busy_timeout`` the threaded driver used to wait.
LOCK_WAIT_SECONDS = 5.0
_FIRST_RETRY_SECONDS = 0.0005
_LONGEST_RETRY_SECONDS = 0.02


class _Cursor:
    """aiosqlite's cursor interface over a plain ``sqlite3.Cursor``."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._cursor = connection._conn.cursor()

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _Cursor:
        await self._connection._when_unlocked(self._cursor.execute, sql, parameters or ())
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> _Cursor:
        await self._connection._when_unlocked(self._cursor.executemany, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Connection:
    """The parts of ``aiosqlite.Connection`` that SQLAlchemy's adapter uses."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn

    @property
    def _connection(self) -> sqlite3.Connection | None:  # read by the adapter as "still open"
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._open().isolation_level = value  # type: ignore[assignment]

    def cursor(self) -> _Cursor:
        self._open()
        return _Cursor(self)

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _Cursor:
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        self._open().commit()

    async def rollback(self) -> None:
        self._open().rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("Connection closed")
        return self._conn

    async def _when_unlocked(self, call: Any, *args: Any) -> Any:
        """Run ``call``; while another writer holds the database, yield to the loop and retry.

        Only a statement that cannot have changed anything is retried: one outside a
        transaction (``BEGIN IMMEDIATE`` itself, pragmas, autocommit statements).
        """
        conn = self._open()
        deadline = None
        delay = _FIRST_RETRY_SECONDS
        while True:
            try:
                return call(*args)
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or conn.in_transaction:
                    raise
                now = time.monotonic()
                deadline = deadline or now + LOCK_WAIT_SECONDS
                if now >= deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, _LONGEST_RETRY_SECONDS)


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class _InlineAdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        # The stock adapter posts this to aiosqlite's worker thread; there is none here.
        self._connection.isolation_level = value


class InlineSQLiteDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """Pass as ``create_async_engine(url, module=InlineSQLiteDBAPI())`` for ``sqlite+aiosqlite``."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *args: Any, **kwargs: Any) -> AsyncAdapt_aiosqlite_connection:
        kwargs.pop("async_creator_fn", None)
        kwargs["check_same_thread"] = False  # the pool may close it from the GC thread
        conn = sqlite3.connect(*args, **kwargs)
        conn.execute("PRAGMA busy_timeout=0")  # waits happen in _when_unlocked, off the loop
        return _InlineAdaptedConnection(self, _Connection(conn))
