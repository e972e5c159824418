"""Raw snapshots (quotes_raw): appended in batches, read back exactly, deleted by age;
and the 0003 migration's downgrade. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from alembic import command
from sqlalchemy import inspect

from aigupiao.domain.market import Level, Quote
from aigupiao.domain.symbols import parse_symbol
from aigupiao.store import Database, alembic_config
from aigupiao.store.repositories.market import RawQuoteRepo

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 Beijing
RECEIVED = T0 + timedelta(seconds=1)

QUOTE = Quote(
    symbol=parse_symbol("sh600519"),
    name="贵州茅台",
    ts=T0,
    last=Decimal("1488.01"),
    previous_close=Decimal("1480.00"),
    open=Decimal("1481"),
    high=Decimal("1490.5"),
    low=Decimal("1479.99"),
    volume=12_345_600,
    amount=Decimal("18345678901.23"),
    bids=(Level(Decimal("1488.00"), 300),),
    asks=(Level(Decimal("1488.01"), 200),),
    limit_up=Decimal("1628.00"),
)


def at(seconds: float, volume: int = 12_345_600, code: str = "sh600519") -> Quote:
    return dataclasses.replace(
        QUOTE, ts=T0 + timedelta(seconds=seconds), volume=volume, symbol=parse_symbol(code)
    )


async def test_append_read_and_delete_by_age(db: Database) -> None:
    rows = [("sina", at(i * 3, 100 + i), RECEIVED) for i in range(10)]
    rows.append(("push:ci", at(5, 7, "sz000001"), RECEIVED))
    async with db.session() as session:
        repo = RawQuoteRepo(session)
        assert await repo.add_many(rows) == 11
        assert await repo.add_many([]) == 0
        await session.commit()
        assert await repo.count() == 11
        stored = await repo.list("sh600519")
        window = await repo.list(
            "sh600519", start=T0 + timedelta(seconds=6), end=T0 + timedelta(seconds=12), limit=2
        )
    assert [r["volume"] for r in stored] == list(range(100, 110))
    first = stored[0]
    assert first["source"] == "sina" and first["ts"] == T0 and first["received_at"] == RECEIVED
    assert first["last"] == Decimal("1488.01") and first["amount"] == Decimal("18345678901.23")
    assert first["bids"] == [["1488.00", 300]] and first["asks"] == [["1488.01", 200]]
    assert first["limit_up"] == Decimal("1628.00") and first["limit_down"] is None
    assert [r["ts"] for r in window] == [T0 + timedelta(seconds=6), T0 + timedelta(seconds=9)]

    async with db.session() as session:
        repo = RawQuoteRepo(session)
        # Older than T0 + 10 s: ts 0, 3, 5 (sz000001), 6, 9 -> five rows, in chunks of two.
        deleted = []
        while True:
            count = await repo.delete_before(T0 + timedelta(seconds=10), limit=2)
            await session.commit()
            deleted.append(count)
            if count < 2:
                break
        assert sum(deleted) == 5 and deleted[0] == 2
        remaining = await repo.list("sh600519")
        assert await repo.count() == 6
    assert min(r["ts"] for r in remaining) == T0 + timedelta(seconds=12)


def _tables(connection) -> set[str]:  # type: ignore[no-untyped-def]
    return set(inspect(connection).get_table_names())


async def test_0003_downgrades_and_upgrades_again(db: Database) -> None:
    config = alembic_config(db.url)
    await asyncio.to_thread(command.downgrade, config, "0002")
    async with db.engine.connect() as connection:
        assert "quotes_raw" not in await connection.run_sync(_tables)
    await db.upgrade()
    async with db.engine.connect() as connection:
        assert "quotes_raw" in await connection.run_sync(_tables)
