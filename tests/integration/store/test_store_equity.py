"""The equity history (``account_snapshots``) on SQLite and PostgreSQL: throttling per
interval, the day's first row, today's start, retention in chunks."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aigupiao.cloud.services.equity import EquityHistory
from aigupiao.core.clock import ManualClock
from aigupiao.domain.account import Account
from aigupiao.domain.sessions import BEIJING
from aigupiao.store import Database
from aigupiao.store.repositories.trading import AccountSnapshotRepo

DAY = datetime(2026, 11, 24, 9, 30, tzinfo=BEIJING)  # a Tuesday
NEXT_DAY = datetime(2026, 11, 25, 9, 30, tzinfo=BEIJING)


def snapshot(cash: str, account: str = "acct-1") -> Account:
    return Account(id=account, cash=Decimal(cash), frozen_cash=Decimal("10.5"))


async def record(history: EquityHistory, db: Database, account: Account, ts: datetime) -> None:
    async with db.session() as session:
        await history.record(session, account, ts)
        await session.commit()


async def rows(db: Database, account: str = "acct-1") -> list[dict[str, Any]]:
    async with db.session() as session:
        return await AccountSnapshotRepo(session).list(account, limit=10_000)


async def test_one_row_per_interval_holding_its_last_snapshot(db: Database) -> None:
    clock = ManualClock(DAY)
    history = EquityHistory(db, clock, interval=60, retention_days=400)
    start = DAY  # 09:30:00, on a minute boundary
    await record(history, db, snapshot("1000"), start)  # the day's first: kept as is
    await record(history, db, snapshot("990"), start + timedelta(seconds=10))
    await record(history, db, snapshot("980"), start + timedelta(seconds=50))
    await record(history, db, snapshot("970"), start + timedelta(seconds=70))
    await record(history, db, snapshot("960"), start + timedelta(seconds=119))
    await record(history, db, snapshot("950"), start + timedelta(seconds=125))

    stored = await rows(db)
    assert [(r["ts"] - start).total_seconds() for r in stored] == [0, 50, 119, 125]
    assert [r["cash"] for r in stored] == [Decimal(c) for c in ("1000", "980", "960", "950")]
    first = stored[0]
    assert first["equity"] == Decimal("1010.5") and first["frozen_cash"] == Decimal("10.5")
    assert first["market_value"] == 0


async def test_the_first_snapshot_of_each_day_gets_its_own_row(db: Database) -> None:
    clock = ManualClock(DAY)
    # An interval longer than a day: only the day rule makes new rows.
    history = EquityHistory(db, clock, interval=3 * 86400, retention_days=400)
    await record(history, db, snapshot("1000"), DAY)
    await record(history, db, snapshot("1100"), DAY + timedelta(hours=5))
    await record(history, db, snapshot("1200"), DAY + timedelta(hours=5, seconds=1))
    await record(history, db, snapshot("1300"), NEXT_DAY)
    await record(history, db, snapshot("1400"), NEXT_DAY + timedelta(minutes=1))
    assert [r["cash"] for r in await rows(db)] == [
        Decimal(c) for c in ("1000", "1200", "1300", "1400")
    ]


async def test_a_restart_never_overwrites_the_stored_last_row(db: Database) -> None:
    clock = ManualClock(DAY)
    first = EquityHistory(db, clock, interval=60, retention_days=400)
    await record(first, db, snapshot("1000"), DAY)
    await record(first, db, snapshot("990"), DAY + timedelta(seconds=5))
    again = EquityHistory(db, clock, interval=60, retention_days=400)  # a new process
    await record(again, db, snapshot("980"), DAY + timedelta(seconds=10))
    await record(again, db, snapshot("970"), DAY + timedelta(seconds=20))
    assert [r["cash"] for r in await rows(db)] == [Decimal(c) for c in ("1000", "990", "970")]


async def test_accounts_are_throttled_separately(db: Database) -> None:
    history = EquityHistory(db, ManualClock(DAY), interval=60, retention_days=400)
    for second in range(0, 30, 10):
        for name in ("a", "b"):
            await record(
                history, db, snapshot(str(1000 + second), name), DAY + timedelta(seconds=second)
            )
    assert [r["cash"] for r in await rows(db, "a")] == [Decimal(1000), Decimal(1020)]
    assert [r["cash"] for r in await rows(db, "b")] == [Decimal(1000), Decimal(1020)]


async def test_day_start_is_the_last_before_09_15_else_todays_first(db: Database) -> None:
    clock = ManualClock(NEXT_DAY + timedelta(hours=1))
    history = EquityHistory(db, clock, interval=60, retention_days=400)

    async def day_start() -> Decimal | None:
        async with db.session() as session:
            start = await history.day_start(session, "acct-1")
        return None if start is None else start.equity

    assert await day_start() is None  # no history
    await record(history, db, snapshot("2000"), NEXT_DAY)
    assert await day_start() == Decimal("2010.5")  # first seen today
    await record(history, db, snapshot("1500"), DAY + timedelta(hours=5))  # yesterday's close
    assert await day_start() == Decimal("1510.5")
    await record(history, db, snapshot("1600"), NEXT_DAY.replace(hour=9, minute=14))  # pre-open
    assert await day_start() == Decimal("1610.5")
    clock.set(NEXT_DAY + timedelta(days=1))  # a day with no snapshot yet: yesterday's last
    assert await day_start() == Decimal("2010.5")


async def test_points_are_the_newest_in_range_oldest_first(db: Database) -> None:
    history = EquityHistory(db, ManualClock(DAY), interval=60, retention_days=400)
    for minute in range(5):
        await record(history, db, snapshot(str(1000 + minute)), DAY + timedelta(minutes=minute))
    points = await history.points("acct-1", limit=2)
    assert [p["cash"] for p in points] == [Decimal(1003), Decimal(1004)]
    assert set(points[0]) == {"ts", "equity", "cash"}
    ranged = await history.points(
        "acct-1", start=DAY + timedelta(minutes=1), end=DAY + timedelta(minutes=2)
    )
    assert [p["ts"] for p in ranged] == [DAY + timedelta(minutes=1), DAY + timedelta(minutes=2)]
    assert await history.points("acct-2") == []


async def test_retention_deletes_old_rows_in_chunks(db: Database) -> None:
    clock = ManualClock(DAY)
    history = EquityHistory(db, clock, interval=60, retention_days=400, delete_chunk=3)
    old = DAY - timedelta(days=401)
    for minute in range(7):
        await record(history, db, snapshot("1"), old + timedelta(minutes=minute))
    await record(history, db, snapshot("2"), DAY - timedelta(days=399))
    await record(history, db, snapshot("3"), DAY)
    assert len(await rows(db)) == 9
    assert await history.delete_old() == 7
    assert [r["cash"] for r in await rows(db)] == [Decimal(2), Decimal(3)]
    assert history.deleted == 7 and history.errors == 0
    assert await history.delete_old() == 0
    # The remembered newest row survived: the next snapshot in its interval overwrites
    # a later row, never a deleted one.
    await record(history, db, snapshot("4"), DAY + timedelta(seconds=1))
    await record(history, db, snapshot("5"), DAY + timedelta(seconds=2))
    assert [r["cash"] for r in await rows(db)] == [Decimal(c) for c in ("2", "3", "5")]
