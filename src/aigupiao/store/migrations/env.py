"""Alembic environment, configured in code by :func:`aigupiao.store.db.alembic_config`.

Two ways in:

- ``config.attributes["connection"]``: a sync connection already in a transaction
  (how :meth:`aigupiao.store.db.Database.upgrade` runs it, inside ``run_sync``);
- ``config.attributes["url"]``: an async URL; an engine is created for the run and
  disposed afterwards.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from aigupiao.store.db import Database
from aigupiao.store.models import Base

config = context.config
target_metadata = Base.metadata


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    # Database applies the same SQLite pragmas and transaction handling as the app.
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await database.dispose()


def run_migrations_offline(url: str) -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        if not url:
            raise RuntimeError("no database URL: set config.attributes['url']")
        run_migrations_offline(url)
    elif connection is not None:
        do_run_migrations(connection)
    elif url:
        asyncio.run(run_async_migrations(url))
    else:
        raise RuntimeError(
            "no database: set config.attributes['connection'] or config.attributes['url']"
        )


main()
