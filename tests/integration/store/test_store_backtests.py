"""``backtests``: a run's states as one table allows, progress, results and reasons, the
sweep at start, and migration 0008 on rows written before it (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text

from aigupiao.core.clock import ManualClock
from aigupiao.store import BacktestRepo, BacktestStatus, Database, alembic_config

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
PARAMS = {"strategies": [{"name": "ma_cross", "params": {"fast": 10}}], "cash": "1000000"}
REASON = {"code": "x", "message": "原因", "message_en": "reason"}


async def test_a_run_goes_queued_running_done_with_its_result(db: Database) -> None:
    clock = ManualClock(T0)
    async with db.session() as session:
        repo = BacktestRepo(session, clock=clock)
        added = await repo.add("bt_1", PARAMS, "user:tom")
        assert (added.status, added.progress_done, added.result) == ("queued", 0, None)
        clock.advance(1)
        assert await repo.start("bt_1")
        assert not await repo.start("bt_1")  # running already
        assert await repo.progress("bt_1", 10, 100)
        clock.advance(2)
        result = {"metrics": {"sharpe": 1.5}, "final_equity": "1000100.50"}
        assert await repo.finish("bt_1", result, "<html>1</html>", done=100, total=100)
        assert not await repo.finish("bt_1", result, "<html>1</html>", done=100, total=100)
        assert not await repo.end("bt_1", BacktestStatus.CANCELLED, REASON)
        assert not await repo.progress("bt_1", 1, 100)  # done: progress stays
        await session.commit()
    async with db.session() as session:
        row = await BacktestRepo(session).get("bt_1")
        html = await BacktestRepo(session).report_html("bt_1")
        nothing = await BacktestRepo(session).report_html("bt_none")
    assert (html, nothing) == ("<html>1</html>", None)
    assert row is not None
    assert row.status is BacktestStatus.DONE and row.status.final
    assert (row.progress_done, row.progress_total) == (100, 100)
    assert row.result == result and row.error is None and row.params == PARAMS
    assert row.created_by == "user:tom"
    assert (row.created_at, row.started_at) == (T0, T0 + timedelta(seconds=1))
    assert row.finished_at == T0 + timedelta(seconds=3)


async def test_cancel_and_failure_keep_the_reason_and_no_result(db: Database) -> None:
    async with db.session() as session:
        repo = BacktestRepo(session)
        await repo.add("bt_q", PARAMS, "apikey:bot")
        await repo.add("bt_r", PARAMS, "apikey:bot")
        await repo.start("bt_r")
        assert await repo.end("bt_q", BacktestStatus.CANCELLED, REASON)
        assert not await repo.start("bt_q")  # a cancelled run never starts
        assert await repo.end("bt_r", BacktestStatus.FAILED, REASON)
        assert not await repo.finish("bt_r", {"half": True}, "<html/>", done=1, total=2)
        with pytest.raises(ValueError, match="failed or cancelled"):
            await repo.end("bt_r", BacktestStatus.DONE, REASON)
        await session.commit()
    async with db.session() as session:
        repo = BacktestRepo(session)
        cancelled, failed = await repo.get("bt_q"), await repo.get("bt_r")
    assert cancelled is not None and failed is not None
    assert (cancelled.status, cancelled.error, cancelled.result) == ("cancelled", REASON, None)
    assert (failed.status, failed.error, failed.result) == ("failed", REASON, None)
    assert failed.finished_at is not None


async def test_list_is_newest_first_paginated_without_results(db: Database) -> None:
    clock = ManualClock(T0)
    async with db.session() as session:
        repo = BacktestRepo(session, clock=clock)
        for n in range(5):
            await repo.add(f"bt_{n}", PARAMS, "user:tom")
            clock.advance(60)
        await repo.start("bt_4")
        await repo.finish("bt_4", {"big": "x" * 100}, "<p>", done=1, total=1)
        await session.commit()
    async with db.session() as session:
        repo = BacktestRepo(session)
        first, second = await repo.page(limit=3), await repo.page(limit=3, offset=3)
        total = await repo.count()
        running = await repo.ids_in(BacktestStatus.QUEUED)
    assert [r.id for r in first] == ["bt_4", "bt_3", "bt_2"]
    assert [r.id for r in second] == ["bt_1", "bt_0"]
    assert all(r.result is None for r in first + second) and first[0].status == "done"
    assert total == 5 and running == ["bt_0", "bt_1", "bt_2", "bt_3"]


async def test_the_sweep_fails_only_unfinished_runs(db: Database) -> None:
    async with db.session() as session:
        repo = BacktestRepo(session)
        for name in ("queued", "running", "done"):
            await repo.add(f"bt_{name}", PARAMS, "user:tom")
        await repo.start("bt_running")
        await repo.start("bt_done")
        await repo.finish("bt_done", {"ok": 1}, "<p>", done=1, total=1)
        assert await repo.fail_unfinished(REASON) == 2
        await session.commit()
    async with db.session() as session:
        repo = BacktestRepo(session)
        states = {name: await repo.get(f"bt_{name}") for name in ("queued", "running", "done")}
    assert {n: (r.status if r else None) for n, r in states.items()} == {
        "queued": "failed",
        "running": "failed",
        "done": "done",
    }
    assert states["done"] is not None and states["done"].result == {"ok": 1}


async def test_migration_0008_marks_old_rows_and_reverts(empty_url: str) -> None:
    config = alembic_config(empty_url)
    await asyncio.to_thread(command.upgrade, config, "0007")
    async with Database(empty_url) as database, database.engine.begin() as connection:
        insert = text(
            "INSERT INTO backtests (id, created_at, params, result) VALUES (:id, :at, :p, :r)"
        )
        at = T0.replace(tzinfo=None) if database.dialect == "sqlite" else T0
        await connection.execute(insert, {"id": "old-done", "at": at, "p": "{}", "r": '{"a": 1}'})
        await connection.execute(insert, {"id": "old-none", "at": at, "p": "{}", "r": None})
    await asyncio.to_thread(command.upgrade, config, "0008")
    async with Database(empty_url) as database:
        async with database.session() as session:
            repo = BacktestRepo(session)
            done, none = await repo.get("old-done"), await repo.get("old-none")
        assert done is not None and none is not None
        assert (done.status, done.result, done.created_by) == ("done", {"a": 1}, "unknown")
        assert none.status == "failed" and none.error is not None
        assert none.error["code"] == "no_result"
    await asyncio.to_thread(command.downgrade, config, "0007")
    async with Database(empty_url) as database, database.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT id FROM backtests ORDER BY id"))).all()
    assert [r[0] for r in rows] == ["old-done", "old-none"]
