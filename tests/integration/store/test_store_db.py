"""Database: URLs, SQLite set-up, migrations, and that the migration matches the models."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from aigupiao.store import DEFAULT_SQLITE_URL, Database, SettingRepo, alembic_config
from aigupiao.store.db import MIGRATIONS_DIR
from aigupiao.store.models import Base

TABLES = {
    "symbols",
    "quotes_latest",
    "quotes_raw",
    "bars",
    "decisions",
    "commands",
    "orders",
    "order_events",
    "trades",
    "positions",
    "accounts",
    "account_snapshots",
    "nodes",
    "node_tokens",
    "users",
    "user_sessions",
    "api_keys",
    "settings",
    "backtests",
    "audit_log",
    "agent_rounds",
}


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migration_creates_exactly_the_models(db: Database) -> None:
    async with db.engine.connect() as connection:
        diff = await connection.run_sync(_schema_diff)
        tables = await connection.run_sync(_table_names)
    assert diff == []
    assert tables == TABLES | {"alembic_version"}
    assert set(Base.metadata.tables) == TABLES


async def test_upgrade_twice_is_a_no_op(db: Database) -> None:
    async with db.session() as session:
        await SettingRepo(session).set("kept", 1)
        await session.commit()
    await db.upgrade()
    async with db.session() as session:
        versions = (await session.execute(text("SELECT version_num FROM alembic_version"))).all()
        kept = await session.scalar(text("SELECT count(*) FROM settings"))
    assert [v[0] for v in versions] == ["0009"]
    assert kept == 1


async def test_env_runs_from_a_url_alone(db: Database) -> None:
    # The standalone path of env.py (its own engine, as `alembic` tooling uses it)
    # runs in a thread because it starts its own event loop.
    config = alembic_config(db.url)
    await asyncio.to_thread(command.upgrade, config, "head")
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_schema_diff) == []


async def test_a_fresh_sqlite_file_migrates_from_a_url(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh/new.db"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    async with Database(url) as database, database.engine.connect() as connection:
        assert TABLES <= await connection.run_sync(_table_names)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1/test",
        "postgresql+psycopg://postgres@127.0.0.1/test",
        "sqlite:///var/x.db",
        "mysql+aiomysql://u:secret@h/db",
        "not a url",
    ],
)
def test_unsupported_urls_are_refused_in_both_languages(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        Database(url)
    message = str(caught.value)
    assert "数据库地址" in message and "database URL" in message
    assert "secret" not in message


async def test_default_url_is_relative_to_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with Database(DEFAULT_SQLITE_URL) as database:
        assert database.dialect == "sqlite"
        await database.upgrade()
    assert (tmp_path / "var" / "aigupiao.db").is_file()


async def test_sqlite_connections_are_configured(db: Database) -> None:
    if db.dialect != "sqlite":
        assert db.dialect == "postgresql"
        return
    async with db.engine.connect() as connection:
        pragmas = {
            name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 0,  # lock waits yield to the event loop instead (sqlite_inline)
    }


def test_migrations_ship_inside_the_package() -> None:
    # hatchling packages everything under src/aigupiao that git does not ignore,
    # so these files are in the wheel; alembic finds them by path, not via the cwd.
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()


async def test_0006_keeps_the_data_of_an_older_database(empty_url: str) -> None:
    """Orders, their events, fills, keys and tokens made before 0006 come through it:
    keys become ``trade``, tokens are for the node they are named after, and orders and
    fills are keyed by account."""
    config = alembic_config(empty_url)
    await asyncio.to_thread(command.upgrade, config, "0005")
    async with Database(empty_url) as database:
        async with database.engine.begin() as connection:
            now = "2026-12-01 02:00:00"
            for statement in (
                "INSERT INTO api_keys (name, key_hash, prefix, created_at) "
                f"VALUES ('old', 'h1', 'agp_x', '{now}')",
                "INSERT INTO node_tokens (name, account, token_hash, prefix, created_at) "
                f"VALUES ('pc-1', 'acct-1', 'h2', 'agn_x', '{now}')",
                "INSERT INTO orders (id, account, symbol, side, type, quantity, status, "
                "filled_quantity, filled_amount, reason, created_at, updated_at) VALUES "
                f"('o1', 'acct-1', 'sh600519', 'buy', 'limit', 100, 'filled', 100, '1.0000', '',"
                f" '{now}', '{now}')",
                "INSERT INTO order_events (order_id, ts, status, filled_quantity, data) "
                f"VALUES ('o1', '{now}', 'filled', 100, '{{}}')",
                "INSERT INTO trades (id, order_id, account, symbol, side, quantity, price, amount,"
                " commission, stamp_duty, transfer_fee, ts) VALUES ('t1', 'o1', 'acct-1', "
                f"'sh600519', 'buy', 100, '1.0000', '100.0000', '0', '0', '0', '{now}')",
            ):
                await connection.execute(text(statement))
        await database.upgrade()
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_schema_diff) == []
            scope = await connection.scalar(text("SELECT scope FROM api_keys"))
            node = await connection.scalar(text("SELECT node_id FROM node_tokens"))
            event = (
                await connection.execute(text("SELECT account, order_id FROM order_events"))
            ).one()
        assert (scope, node, tuple(event)) == ("trade", "pc-1", ("acct-1", "o1"))
        async with database.session() as session:
            # The same ids in another account are other rows now.
            await session.execute(
                text(
                    "INSERT INTO trades (id, order_id, account, symbol, side, quantity, price, "
                    "amount, commission, stamp_duty, transfer_fee, ts) SELECT id, order_id, "
                    "'acct-2', symbol, side, quantity, price, amount, commission, stamp_duty, "
                    "transfer_fee, ts FROM trades"
                )
            )
            await session.commit()
            assert await session.scalar(text("SELECT count(*) FROM trades")) == 2
