"""The SQLite driver that runs on the event loop: lock waits yield, never block or deadlock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from aigupiao.store import Database, SettingRepo, sqlite_inline


@pytest_asyncio.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    await database.upgrade()
    yield database
    await database.dispose()


def _hold_write_lock(path: str, seconds: float, holding: threading.Event) -> None:
    """Another writer (as another process would be): holds the lock, then commits a row."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO settings (key, value, updated_at) VALUES ('other', '1', 'now')")
    holding.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


async def _ticks_while(task: asyncio.Task[object]) -> int:
    ticks = 0
    while not task.done():
        await asyncio.sleep(0.005)
        ticks += 1
    return ticks


async def test_a_locked_database_is_waited_for_without_blocking_the_loop(
    sqlite_db: Database, tmp_path: Path
) -> None:
    holding = threading.Event()
    other = threading.Thread(
        target=_hold_write_lock, args=(str(tmp_path / "inline.db"), 0.3, holding)
    )
    other.start()
    await asyncio.to_thread(holding.wait, 5)

    async def write() -> None:
        async with sqlite_db.session() as session:
            await SettingRepo(session).set("mine", {"v": 1})
            await session.commit()

    started = time.monotonic()
    writer = asyncio.create_task(write())
    ticks = await _ticks_while(writer)
    await writer
    other.join()
    assert time.monotonic() - started >= 0.25  # it did wait for the other writer
    assert ticks >= 20  # and the loop kept running meanwhile
    async with sqlite_db.session() as session:
        assert await SettingRepo(session).get("mine") == {"v": 1}
        keys = (await session.execute(text("SELECT key FROM settings ORDER BY key"))).scalars()
        assert list(keys) == ["mine", "other"]


async def test_a_transaction_held_across_an_await_does_not_deadlock_another(
    sqlite_db: Database,
) -> None:
    order: list[str] = []

    async def slow() -> None:
        async with sqlite_db.session() as session:
            await SettingRepo(session).set("slow", {"v": 1})
            order.append("slow holds the lock")
            await asyncio.sleep(0.1)  # yields to the loop while holding the write lock
            await session.commit()
            order.append("slow committed")

    async def fast() -> None:
        await asyncio.sleep(0.01)
        async with sqlite_db.session() as session:
            await SettingRepo(session).set("fast", {"v": 2})
            await session.commit()
            order.append("fast committed")

    await asyncio.wait_for(asyncio.gather(slow(), fast()), 5)
    assert order == ["slow holds the lock", "slow committed", "fast committed"]


async def test_a_lock_held_too_long_fails_with_a_clear_error(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "LOCK_WAIT_SECONDS", 0.2)
    holding = threading.Event()
    other = threading.Thread(
        target=_hold_write_lock, args=(str(tmp_path / "inline.db"), 1.0, holding)
    )
    other.start()
    await asyncio.to_thread(holding.wait, 5)
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            async with sqlite_db.session() as session:
                await SettingRepo(session).set("mine", {"v": 1})
                await session.commit()
    finally:
        other.join()
    async with sqlite_db.session() as session:  # nothing half-written, and usable again
        assert await SettingRepo(session).get("mine") is None
        await SettingRepo(session).set("mine", {"v": 1})
        await session.commit()
