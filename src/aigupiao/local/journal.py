"""The node's command journal and outbox (SQLite, WAL).

- A command is journaled before it runs; a repeated id finds the journal entry
  and gets the stored response back instead of trading twice.
- Every response (and broker event) gets the next per-node ``seq`` and stays in
  the outbox until the cloud confirms it with ``received``.
- A command still ``running`` when the node starts again was interrupted
  mid-call: its outcome is ``unknown`` until the broker is asked.

Writes are small and synchronous (the journal must be on disk before the
broker is called), so they run in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aigupiao.core.files import private_sqlite

T = TypeVar("T")

_RECENT_BODIES = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,            -- running | finished
    status TEXT,                    -- done | rejected | failed | expired | unknown
    result TEXT,
    seq INTEGER,
    received_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_unconfirmed ON outbox (confirmed, seq);
"""


@dataclass(frozen=True)
class JournalEntry:
    id: str
    type: str
    payload: dict[str, Any]
    state: str
    status: str | None
    result: dict[str, Any] | None
    seq: int | None


class Journal:
    def __init__(self, path: Path) -> None:
        private_sqlite(path)  # commands and account data: owner-only
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # a journaled command must survive a crash
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()
        # Bodies of the newest queued messages, so a response goes out without reading it
        # back from disk; dropped when confirmed (or when too many wait while offline).
        self._recent: dict[int, str] = {}

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._locked, fn, *args)

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return fn(*args)

    # -- commands ---------------------------------------------------------------

    async def begin(
        self, command_id: str, kind: str, payload: dict[str, Any]
    ) -> JournalEntry | None:
        """Journal a new command. Returns None if new, else the existing entry (nothing written)."""
        return await self._run(self._begin, command_id, kind, payload)

    def _begin(self, command_id: str, kind: str, payload: dict[str, Any]) -> JournalEntry | None:
        existing = self._get(command_id)
        if existing is not None:
            return existing
        self._conn.execute(
            "INSERT INTO commands (id, type, payload, state, received_at) VALUES (?, ?, ?, ?, ?)",
            (command_id, kind, json.dumps(payload), "running", _now()),
        )
        return None

    async def finish(self, command_id: str, status: str, result: dict[str, Any]) -> int:
        """Record the outcome and queue the response in the outbox; returns its seq."""
        return await self._run(self._finish, command_id, status, result)

    def _finish(self, command_id: str, status: str, result: dict[str, Any]) -> int:
        with self._transaction():
            message = {"type": "response", "v": 1, "command_id": command_id, "status": status,
                       "result": result}  # fmt: skip
            seq, body = self._enqueue(message)
            self._conn.execute(
                "UPDATE commands SET state='finished', status=?, result=?, seq=?, finished_at=? "
                "WHERE id=?",
                (status, json.dumps(result), seq, _now(), command_id),
            )
        self._remember(seq, body)
        return seq

    async def add_event(self, kind: str, data: dict[str, Any]) -> int:
        """Queue a broker event (a fill or order change between commands); returns its seq."""
        return await self._run(self._add_event, kind, data)

    def _add_event(self, kind: str, data: dict[str, Any]) -> int:
        with self._transaction():
            seq, body = self._enqueue({"type": "event", "v": 1, "kind": kind, "data": data})
        self._remember(seq, body)
        return seq

    def _remember(self, seq: int, body: str) -> None:
        self._recent[seq] = body
        if len(self._recent) > _RECENT_BODIES:
            del self._recent[next(iter(self._recent))]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _enqueue(self, message: dict[str, Any]) -> tuple[int, str]:
        """Put ``message`` in the outbox with the next seq (inside a transaction)."""
        (current,) = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()
        seq = int(current) + 1
        body = json.dumps({**message, "seq": seq})
        self._conn.execute("INSERT INTO outbox (seq, body) VALUES (?, ?)", (seq, body))
        return seq, body

    async def get(self, command_id: str) -> JournalEntry | None:
        return await self._run(self._get, command_id)

    def _get(self, command_id: str) -> JournalEntry | None:
        row = self._conn.execute(
            "SELECT id, type, payload, state, status, result, seq FROM commands WHERE id=?",
            (command_id,),
        ).fetchone()
        return _entry(row) if row else None

    async def interrupted(self) -> list[JournalEntry]:
        """Commands that were running when the node last stopped."""
        return await self._select("WHERE state='running'")

    async def unknown_trades(self) -> list[JournalEntry]:
        """Trades answered ``unknown`` (the broker timed out), still to be resolved."""
        return await self._select("WHERE state='finished' AND status='unknown' AND type='trade'")

    async def _select(self, where: str) -> list[JournalEntry]:
        rows = await self._run(
            lambda: self._conn.execute(
                "SELECT id, type, payload, state, status, result, seq FROM commands " + where
            ).fetchall()
        )
        return [_entry(row) for row in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self._run(
            lambda: self._conn.execute(
                "SELECT COALESCE(status, state), COUNT(*) FROM commands GROUP BY 1"
            ).fetchall()
        )
        return {status: count for status, count in rows}

    # -- outbox -----------------------------------------------------------------

    async def unconfirmed(self) -> list[str]:
        """Outbox bodies (JSON text) the cloud has not confirmed, in seq order."""
        rows = await self._run(
            lambda: self._conn.execute(
                "SELECT body FROM outbox WHERE confirmed=0 ORDER BY seq"
            ).fetchall()
        )
        return [body for (body,) in rows]

    async def body(self, seq: int) -> str | None:
        recent = self._recent.get(seq)
        if recent is not None:
            return recent
        row = await self._run(
            lambda: self._conn.execute("SELECT body FROM outbox WHERE seq=?", (seq,)).fetchone()
        )
        return row[0] if row else None

    async def confirm(self, seq: int) -> None:
        """The cloud has stored the message ``seq`` (confirmations may arrive out of order)."""
        self._recent.pop(seq, None)
        await self._run(self._confirm, seq)

    def _confirm(self, seq: int) -> None:
        # Not synced to disk on its own (the next journal write syncs it): a confirmation
        # lost in a power cut only means a re-send, which the cloud recognises and ignores.
        # Syncing here would make the next command's journal entry wait for it.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            self._conn.execute("UPDATE outbox SET confirmed=1 WHERE seq=?", (seq,))
        finally:
            self._conn.execute("PRAGMA synchronous=FULL")

    async def last_confirmed_seq(self) -> int:
        """The highest seq below which the cloud has confirmed everything."""
        row = await self._run(
            lambda: self._conn.execute(
                "SELECT (SELECT MIN(seq) - 1 FROM outbox WHERE confirmed=0),"
                " (SELECT COALESCE(MAX(seq), 0) FROM outbox)"
            ).fetchone()
        )
        first_gap, highest = row
        return int(first_gap if first_gap is not None else highest)


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    command_id, kind, payload, state, status, result, seq = row
    return JournalEntry(
        id=command_id,
        type=kind,
        payload=json.loads(payload),
        state=state,
        status=status,
        result=json.loads(result) if result else None,
        seq=seq,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()
