"""Orders and their events, trades, positions and accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aigupiao.domain.orders import OrderStatus, Side
from aigupiao.store import AccountRepo, Database, OrderRepo, PositionRepo, TradeRepo

T0 = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)


def _order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "o1",
        "account": "acct-1",
        "node_id": "pc-1",
        "command_id": "c1",
        "symbol": "sh600519",
        "side": "buy",
        "type": "limit",
        "quantity": 200,
        "price": Decimal("1488.01"),
        "status": "submitted",
        "filled_quantity": 0,
        "filled_amount": Decimal("0"),
        "broker_order_id": "B-1",
        "reason": "",
        "created_at": T0,
        "updated_at": T0,
    }
    order.update(changes)
    return order


async def test_order_upsert_logs_events_only_on_change(db: Database) -> None:
    async with db.session() as session:
        repo = OrderRepo(session)
        await repo.upsert(_order())
        await repo.upsert(_order(updated_at=T0 + timedelta(seconds=1)))  # same state
        await repo.upsert(
            _order(
                status=OrderStatus.PARTIALLY_FILLED,
                filled_quantity=100,
                filled_amount=Decimal("148801.00"),
                updated_at=T0 + timedelta(seconds=2),
            )
        )
        # A later event without command or broker id does not erase them.
        await repo.upsert(
            _order(
                status="filled",
                filled_quantity=200,
                filled_amount=Decimal("297602.00"),
                command_id=None,
                broker_order_id=None,
                created_at=T0 + timedelta(hours=1),
                updated_at=T0 + timedelta(seconds=3),
            )
        )
        await repo.upsert(
            _order(
                status="filled",
                filled_quantity=200,
                filled_amount=Decimal("297602.00"),
                updated_at=T0 + timedelta(seconds=4),
            )
        )
        await session.commit()

        row = await repo.get("o1")
        events = await repo.events("o1", "acct-1")
    assert row is not None
    assert row["status"] == "filled" and row["filled_quantity"] == 200
    assert row["filled_amount"] == Decimal("297602.00")
    assert row["price"] == Decimal("1488.01")
    assert (row["command_id"], row["broker_order_id"]) == ("c1", "B-1")
    assert row["created_at"] == T0 and row["updated_at"] == T0 + timedelta(seconds=4)
    assert [(e["status"], e["filled_quantity"]) for e in events] == [
        ("submitted", 0),
        ("partially_filled", 100),
        ("filled", 200),
    ]
    assert events[1]["ts"] == T0 + timedelta(seconds=2)
    assert events[1]["data"]["filled_amount"] == "148801.00"


async def test_order_list_newest_first(db: Database) -> None:
    async with db.session() as session:
        repo = OrderRepo(session)
        await repo.upsert(_order(id="o1"))
        await repo.upsert(_order(id="o2", account="acct-2", created_at=T0 + timedelta(1)))
        await repo.upsert(_order(id="o3", type="market", price=None, created_at=T0 + timedelta(2)))
        await session.commit()
        assert [o["id"] for o in await repo.list()] == ["o3", "o2", "o1"]
        assert [o["id"] for o in await repo.list(account="acct-1")] == ["o3", "o1"]
        assert [o["id"] for o in await repo.list(limit=1)] == ["o3"]
        assert (await repo.get("o3") or {})["price"] is None
        assert await repo.get("nope") is None


def _trade(trade_id: str, **changes: Any) -> dict[str, Any]:
    trade: dict[str, Any] = {
        "id": trade_id,
        "order_id": "o1",
        "account": "acct-1",
        "node_id": "pc-1",
        "symbol": "sh600519",
        "side": Side.BUY,
        "quantity": 100,
        "price": Decimal("1488.01"),
        "amount": Decimal("148801.00"),
        "commission": Decimal("44.64"),
        "stamp_duty": Decimal("0"),
        "transfer_fee": Decimal("0.001"),
        "ts": T0,
    }
    trade.update(changes)
    return trade


async def test_trade_add_is_idempotent(db: Database) -> None:
    async with db.session() as session:
        repo = TradeRepo(session)
        assert await repo.add(_trade("t1")) is True
        assert await repo.add(_trade("t1", quantity=999, price=Decimal("1"))) is False
        assert await repo.add(_trade("t2", symbol="sz000001", ts=T0 + timedelta(1))) is True
        await session.commit()
    async with db.session() as session:
        repo = TradeRepo(session)
        rows = await repo.list()
        assert [t["id"] for t in rows] == ["t2", "t1"]
        t1 = rows[1]
        assert t1["quantity"] == 100 and t1["price"] == Decimal("1488.01")
        assert t1["transfer_fee"] == Decimal("0.001") and t1["side"] == "buy"
        assert t1["ts"] == T0
        assert [t["id"] for t in await repo.list(symbol="sh600519")] == ["t1"]
        assert [t["id"] for t in await repo.list(account="other")] == []
        assert [t["id"] for t in await repo.list(limit=1)] == ["t2"]


async def test_orders_and_trades_are_keyed_per_account(db: Database) -> None:
    """Brokers number orders and fills per account: the same id in another account is
    another order, and a report for one account never touches the other's row."""
    async with db.session() as session:
        orders, trades = OrderRepo(session), TradeRepo(session)
        await orders.upsert(_order(id="20261207-1001", account="acct-1"))
        await orders.upsert(
            _order(id="20261207-1001", account="acct-2", status="cancelled", reason="forged")
        )
        assert await trades.add(_trade("t1", account="acct-1")) is True
        assert await trades.add(_trade("t1", account="acct-2", quantity=100_000)) is True
        await session.commit()
    async with db.session() as session:
        orders, trades = OrderRepo(session), TradeRepo(session)
        mine = await orders.get("20261207-1001", "acct-1")
        assert mine is not None and mine["status"] != "cancelled" and mine["reason"] == ""
        assert [e["account"] for e in await orders.events("20261207-1001", "acct-1")] == ["acct-1"]
        assert [t["quantity"] for t in await trades.list(account="acct-1")] == [100]


async def test_positions_replace_the_whole_snapshot(db: Database) -> None:
    async with db.session() as session:
        repo = PositionRepo(session)
        await repo.replace(
            "acct-1",
            [
                {
                    "symbol": "sh600519",
                    "total": 200,
                    "available": 100,
                    "cost_price": Decimal("1488.01"),
                    "last_price": Decimal("1490.5"),
                },
                {
                    "symbol": "sh510300",
                    "total": 1000,
                    "available": 1000,
                    "cost_price": Decimal("0.001"),
                    "last_price": None,
                },
            ],
        )
        await repo.replace(
            "acct-2",
            [
                {
                    "symbol": "sz000001",
                    "total": 100,
                    "available": 0,
                    "cost_price": Decimal("10.5"),
                    "last_price": None,
                }
            ],
        )
        await repo.replace(
            "acct-1",
            [
                {
                    "symbol": "sh600519",
                    "total": 100,
                    "available": 100,
                    "cost_price": Decimal("1488.01"),
                    "last_price": None,
                }
            ],
        )
        await session.commit()
        rows = await repo.list()
        assert [(p["account"], p["symbol"], p["total"]) for p in rows] == [
            ("acct-1", "sh600519", 100),
            ("acct-2", "sz000001", 100),
        ]
        [mine] = await repo.list("acct-1")
        assert mine["cost_price"] == Decimal("1488.01") and mine["last_price"] is None
        assert mine["updated_at"].tzinfo is not None
        await repo.replace("acct-1", [])
        assert [p["account"] for p in await repo.list()] == ["acct-2"]


async def test_accounts_upsert(db: Database) -> None:
    async with db.session() as session:
        repo = AccountRepo(session)
        await repo.upsert(
            "paper-1",
            node_id="pc-1",
            paper=True,
            cash=Decimal("1000000"),
            frozen_cash=Decimal("0"),
            equity=Decimal("1000000"),
        )
        await repo.upsert(
            "paper-1",
            node_id="pc-1",
            paper=True,
            cash=Decimal("851198.99"),
            frozen_cash=Decimal("0.001"),
            equity=Decimal("1000000.00"),
        )
        await repo.upsert(
            "live-1",
            node_id=None,
            paper=False,
            cash=Decimal("1"),
            frozen_cash=Decimal("0"),
            equity=Decimal("1"),
        )
        await session.commit()
        rows = await repo.list()
    assert [(a["id"], a["paper"]) for a in rows] == [("live-1", False), ("paper-1", True)]
    paper = rows[1]
    assert paper["cash"] == Decimal("851198.99") and paper["frozen_cash"] == Decimal("0.001")
    assert paper["node_id"] == "pc-1" and paper["updated_at"].tzinfo is not None
