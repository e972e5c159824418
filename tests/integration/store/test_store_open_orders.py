"""What the decision pipeline reads as open orders (issue 13, item 11): orders not final,
with when the cloud first stored them, and trade commands without an answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aigupiao.domain.decisions import Command, CommandStatus, CommandType
from aigupiao.store import CommandRepo, Database, OrderRepo

T0 = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
DAY = datetime(2026, 1, 4, 16, 0, tzinfo=UTC)  # the day's start in Beijing


def _order(order_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": order_id, "account": "acct-1", "node_id": "pc-1", "command_id": None,
        "symbol": "sh600519", "side": "buy", "type": "limit", "quantity": 200,
        "price": Decimal("1488.01"), "status": "submitted", "filled_quantity": 0,
        "filled_amount": Decimal(0), "broker_order_id": None, "reason": "",
        "created_at": T0, "updated_at": T0, **changes,
    }  # fmt: skip


def _trade(command_id: str, *, kind: CommandType = CommandType.TRADE, at: datetime = T0) -> Command:
    return Command(
        id=command_id,
        type=kind,
        node_id="pc-1",
        issued_at=at,
        expires_at=at + timedelta(seconds=10),
        data={"action": "sell", "stock_code": "sz000001", "quantity": 300, "price": None},
        status=CommandStatus.SENT,
    )


async def test_open_orders_with_when_they_were_first_stored(db: Database) -> None:
    later = T0 + timedelta(minutes=5)
    async with db.session() as session:
        repo = OrderRepo(session)
        await repo.upsert(_order("open"))
        await repo.upsert(_order("open", status="partially_filled", filled_quantity=100,
                                 updated_at=later))  # fmt: skip
        await repo.upsert(_order("filled", status="filled", filled_quantity=200))
        await repo.upsert(_order("yesterday", created_at=T0 - timedelta(days=1)))
        await repo.upsert(_order("elsewhere", account="acct-2"))
        await session.commit()
    async with db.session() as session:
        (row,) = await OrderRepo(session).open_since("acct-1", DAY)
    assert (row["id"], row["status"], row["filled_quantity"]) == ("open", "partially_filled", 100)
    assert row["first_seen"] == T0 and row["first_seen"].utcoffset() == timedelta(0)


async def test_trade_commands_in_flight(db: Database) -> None:
    async with db.session() as session:
        repo = CommandRepo(session)
        for command_id in ("sent", "acked", "unknown", "done", "old"):
            at = T0 - timedelta(days=1) if command_id == "old" else T0
            await repo.create(_trade(command_id, at=at), account="acct-1")
        await repo.create(_trade("status", kind=CommandType.STATUS), account="acct-1")
        await repo.create(_trade("other"), account="acct-2")
        await repo.advance("acked", "ack", at=T0)
        await repo.advance("unknown", "unknown", at=T0)
        await repo.advance("done", "done", at=T0)
        await session.commit()
    async with db.session() as session:
        rows = await CommandRepo(session).trades_in_flight("acct-1", DAY)
    assert sorted(row["id"] for row in rows) == ["acked", "sent", "unknown"]
    assert rows[0]["data"]["quantity"] == 300
