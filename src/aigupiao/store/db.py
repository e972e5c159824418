"""The database handle: engine, sessions and migrations.

One :class:`Database` per process, built from a URL:

- ``sqlite+aiosqlite:///var/aigupiao.db`` (the embedded default; relative to the cwd)
- ``postgresql+asyncpg://user:password@host:5432/name`` (production, Supabase)

Usage::

    db = Database(url)
    await db.upgrade()
    async with db.session() as session:
        await CommandRepo(session).create(...)
        await session.commit()
    await db.dispose()
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from aigupiao.core.files import private_sqlite

from .sqlite_inline import InlineSQLiteDBAPI

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///var/aigupiao.db"
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any constant works; it only has to be the same for every replica running migrations.
_MIGRATION_LOCK_KEY = 0x616770  # "agp"

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",  # readers do not block the writer
    "PRAGMA synchronous=NORMAL",  # safe with WAL; fsync at checkpoints only
    "PRAGMA foreign_keys=ON",
)


class Database:
    """An async engine and a session factory for one database URL.

    On SQLite every transaction starts with ``BEGIN IMMEDIATE``, which takes the
    (single) write lock up front: read-then-write sequences such as a command
    transition can then never interleave with another writer, and never fail
    half-way with ``SQLITE_BUSY``. The price is that transactions queue behind
    each other (up to five seconds), so keep sessions short and never hold one
    open while waiting on the network or on another session.

    SQLite statements run on the event loop's thread (``sqlite_inline``): they take
    microseconds, far less than a hop to a worker thread. A long query blocks the
    loop for its duration, so page large reads.

    Raises:
        ValueError: the URL is not ``sqlite+aiosqlite`` or ``postgresql+asyncpg``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = _parse_url(url)
        options: dict[str, Any] = {"json_serializer": json_dumps}
        if parsed.get_backend_name() == "sqlite":
            _create_private_file(parsed)
            options["module"] = InlineSQLiteDBAPI()  # no thread hop per statement
        else:
            options["pool_pre_ping"] = True  # survive server restarts and idle cut-offs
        self._engine = create_async_engine(url, **options)
        if self.dialect == "sqlite":
            _install_sqlite_hooks(self._engine)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def session(self) -> AsyncSession:
        """A new session (``async with db.session() as s:``); the caller commits."""
        return self._sessions()

    async def upgrade(self) -> None:
        """Migrate the schema to the newest revision; a no-op when already there.

        Safe to call from several replicas at once: on PostgreSQL the migration
        runs under an advisory lock, on SQLite under the write lock.
        """
        config = alembic_config(self.url)
        async with self._engine.begin() as connection:
            if self.dialect == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            await connection.run_sync(_upgrade_head, config)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config built in code: no ``alembic.ini``, works from any cwd.

    ``migrations/env.py`` reads the URL from ``config.attributes["url"]`` (attributes,
    not ini options, so a ``%`` in a password needs no escaping), or uses the
    connection in ``config.attributes["connection"]`` when one is given.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        _parse_url(url)
        config.attributes["url"] = url
    return config


def _upgrade_head(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def json_dumps(value: Any) -> str:
    """JSON for JSON columns: Decimals become strings (exact), datetimes ISO 8601."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"无法解析数据库地址 {url!r} (cannot parse database URL {url!r})") from exc
    if parsed.drivername not in SUPPORTED_DRIVERS:
        shown = parsed.render_as_string(hide_password=True)
        raise ValueError(
            f"不支持的数据库地址 {shown}：请使用 sqlite+aiosqlite:///路径 或 "
            f"postgresql+asyncpg://用户:密码@主机/库名 "
            f"(unsupported database URL {shown}: use sqlite+aiosqlite:///path or "
            f"postgresql+asyncpg://user:password@host/name)"
        )
    return parsed


def _create_private_file(url: URL) -> None:
    """The SQLite file (and its folder) made owner-only before SQLite opens it."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    private_sqlite(Path(database).expanduser())


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    # The sqlite3 driver's own transaction handling skips BEGIN for SELECT and
    # SAVEPOINT; SQLAlchemy takes over instead (see the SQLAlchemy SQLite docs,
    # "Enabling Non-Legacy SQLite Transactional Modes").
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
