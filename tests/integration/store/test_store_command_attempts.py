"""``commands.attempts``: every delivery counted, and the migration that added it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Connection, inspect

from aigupiao.domain.decisions import Command, CommandStatus, CommandType
from aigupiao.store import CommandRepo, Database, alembic_config
from aigupiao.store.models import CommandRow
from aigupiao.store.repositories._base import table

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def _command(command_id: str, status: CommandStatus = CommandStatus.PENDING) -> Command:
    return Command(
        id=command_id,
        type=CommandType.STATUS,
        node_id="pc-1",
        data={},
        issued_at=T0,
        expires_at=T0 + timedelta(seconds=10),
        status=status,
    )


async def _attempts(db: Database, command_id: str) -> int:
    async with db.session() as session:
        row = await CommandRepo(session).get(command_id)
    assert row is not None
    return int(row["attempts"])


async def test_attempts_count_the_create_and_every_send(db: Database) -> None:
    async with db.session() as session:
        repo = CommandRepo(session)
        pending = await repo.create(_command("p1"), account="a")
        sent = await repo.create(_command("s1", CommandStatus.SENT), account="a")
        assert (pending["attempts"], sent["attempts"]) == (0, 1)
        for n in range(1, 4):  # pending -> sent, then re-sends (sent -> sent)
            row = await repo.advance("p1", "send", at=T0 + timedelta(seconds=n))
            assert (row["status"], row["attempts"]) == ("sent", n)
        row = await repo.advance("s1", "send", at=T0)
        assert row["attempts"] == 2
        await session.commit()
    assert await _attempts(db, "p1") == 3
    assert await _attempts(db, "s1") == 2


async def test_only_sends_count(db: Database) -> None:
    async with db.session() as session:
        repo = CommandRepo(session)
        await repo.create(_command("c1", CommandStatus.SENT), account="a")
        await repo.advance("c1", "ack", at=T0)
        await repo.advance("c1", "ack", at=T0)
        row = await repo.advance("c1", "done", result={}, at=T0)
        assert (row["status"], row["attempts"]) == ("done", 1)
        await session.commit()
    assert await _attempts(db, "c1") == 1


def _columns(connection: Connection) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("commands")}


async def test_migration_0002_adds_attempts_to_existing_rows_and_reverts(empty_url: str) -> None:
    config = alembic_config(empty_url)
    await asyncio.to_thread(command.upgrade, config, "0001")
    async with Database(empty_url) as database:
        columns = {
            "id": "old-1",
            "type": "trade",
            "node_id": "pc-1",
            "account": "a",
            "status": "sent",
            "data": {"x": 1},
            "issued_at": T0,
            "expires_at": T0,
            "updated_at": T0,
        }
        async with database.session() as session:
            await session.execute(table(CommandRow).insert().values(columns))
            await session.commit()

        await asyncio.to_thread(command.upgrade, config, "head")
        assert await _attempts(database, "old-1") == 0
        async with database.session() as session:
            row = await CommandRepo(session).advance("old-1", "send", at=T0)
            await session.commit()
        assert row["attempts"] == 1

        await asyncio.to_thread(command.downgrade, config, "0001")
        async with database.engine.connect() as connection:
            assert "attempts" not in await connection.run_sync(_columns)
            ids = (await connection.exec_driver_sql("SELECT id FROM commands")).scalars().all()
        assert ids == ["old-1"]
