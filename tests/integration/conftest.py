"""Database fixtures for every integration test: SQLite and PostgreSQL.

``empty_url`` (and ``db``, migrated) run each test that asks for them on both
backends. PostgreSQL is the server on 127.0.0.1:5432 (trust auth, user ``postgres``);
each test gets its own database, dropped afterwards. If the server is unreachable the
PostgreSQL cases are skipped, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from aigupiao.store import Database

PG_ADMIN_URL = os.environ.get(
    "AIGUPIAO_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _unreachable(reason: str) -> None:
    message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(message)


class PostgresDatabases:
    """Creates and drops uniquely named throwaway databases on the test server."""

    def __init__(self) -> None:
        self._admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    async def create(self) -> str:
        name = f"aigupiao_t_{uuid.uuid4().hex[:16]}"
        try:
            async with self._admin.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
        except (OSError, ConnectionError) as exc:
            await self._admin.dispose()
            _unreachable(repr(exc))
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    async def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        async with self._admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def close(self) -> None:
        await self._admin.dispose()


@pytest_asyncio.fixture
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database of the backend in ``request.param``."""
    if request.param == "sqlite":
        # A directory that does not exist yet: Database must create it.
        yield f"sqlite+aiosqlite:///{tmp_path}/var/test.db"
        return
    databases = PostgresDatabases()
    url = await databases.create()
    try:
        yield url
    finally:
        await databases.drop(url)
        await databases.close()


@pytest_asyncio.fixture
async def db(empty_url: str) -> AsyncIterator[Database]:
    """A migrated database; parametrize ``empty_url`` to pick the backend."""
    database = Database(empty_url)
    try:
        await database.upgrade()
        yield database
    finally:
        await database.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that uses ``db`` or ``empty_url`` runs on both backends.
    if "empty_url" in metafunc.fixturenames:
        metafunc.parametrize("empty_url", BACKENDS, indirect=True)
