"""The agent's round log on a real database: each account's snapshot in full when it is
new (and at each day's first round), ``"same"`` otherwise; a failed write loses only those
rounds and the next one stands on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aigupiao.cloud.services.rounds import SAME, RoundLog
from aigupiao.domain.account import Account
from aigupiao.store import Database
from aigupiao.store.repositories.rounds import AgentRoundRepo

TEN = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 Beijing


async def _rows(db: Database) -> list[dict[str, object]]:
    async with db.session() as session:
        return await AgentRoundRepo(session).between(
            TEN - timedelta(days=2), TEN + timedelta(days=2)
        )


async def test_snapshots_are_written_when_new(db: Database) -> None:
    log = RoundLog(db)
    first, second = Account(id="a", cash=Decimal(100)), Account(id="a", cash=Decimal(90))
    log.record(TEN, "interval", {"a": first})
    log.record(TEN + timedelta(seconds=3), "bar_close", {"a": first})
    log.record(TEN + timedelta(seconds=6), "interval", {})  # the node offline
    log.record(TEN + timedelta(seconds=9), "interval", {"a": second})
    log.record(TEN + timedelta(days=1), "interval", {"a": second})  # the next day
    assert await log.flush() == 5
    rows = await _rows(db)
    accounts = [row["accounts"] for row in rows]
    assert accounts[0]["a"]["cash"] == "100" and accounts[1] == {"a": SAME}
    assert accounts[2] == {} and accounts[3]["a"]["cash"] == "90"
    assert accounts[4]["a"]["cash"] == "90"  # in full again: each day stands on its own
    assert [row["trigger"] for row in rows][:2] == ["interval", "bar_close"]
    assert len({row["run"] for row in rows}) == 1 and all(row["wall_at"] for row in rows)


async def test_a_failed_write_is_counted_and_the_next_round_is_whole(tmp_path: Path) -> None:
    unmigrated = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no tables
    try:
        log = RoundLog(unmigrated)
        snapshot = Account(id="a", cash=Decimal(100))
        log.record(TEN, "interval", {"a": snapshot})
        log.record(TEN + timedelta(seconds=3), "interval", {"a": snapshot})
        assert await log.flush() == 0
        assert log.errors == 1 and log.dropped == 2
        log.record(TEN + timedelta(seconds=6), "interval", {"a": snapshot})
        assert log.status()["pending"] == 1
        assert log._pending[0]["accounts"]["a"] != SAME
    finally:
        await unmigrated.dispose()
