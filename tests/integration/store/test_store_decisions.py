"""The decision log's queries on SQLite and PostgreSQL: filters, paging, one decision with
its command, orders, order events and fills; the daily bars the agent loads at start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aigupiao.domain.decisions import Command, CommandType, Decision, Verdict
from aigupiao.domain.market import Bar
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import parse_symbol
from aigupiao.store import BarRepo, CommandRepo, Database, DecisionRepo, OrderRepo, TradeRepo

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def _decision(decision_id: str, seconds: float, **changes: Any) -> Decision:
    fields: dict[str, Any] = {
        "id": decision_id,
        "strategy": "dip_buy",
        "account": "acct-1",
        "symbol": parse_symbol("600519"),
        "side": Side.BUY,
        "quantity": 100,
        "price": None,
        "reason": "跌幅 (dip)",
        "inputs": {"confidence": 0.5},
        "ts": T0 + timedelta(seconds=seconds),
        "verdict": Verdict.ACCEPTED,
    }
    fields.update(changes)
    return Decision(**fields)


async def test_filters_and_paging(db: Database) -> None:
    async with db.session() as session:
        repo = DecisionRepo(session)
        await repo.add(_decision("a", 0))
        await repo.add(_decision("b", 1, account="acct-2", strategy="momentum"))
        await repo.add(_decision("c", 1, symbol=parse_symbol("000001")))  # same ts as b
        await repo.add(_decision("d", 2, verdict=Verdict.REJECTED, rule="cash"))
        await session.commit()

        async def ids(**filters: Any) -> list[str]:
            return [row["id"] for row in await repo.list(**filters)]

        assert await ids() == ["d", "c", "b", "a"]
        assert await ids(account="acct-2") == ["b"]
        assert await ids(strategy="dip_buy", verdict="accepted") == ["c", "a"]
        assert await ids(symbol="sz000001") == ["c"]
        assert await ids(since=T0 + timedelta(seconds=1)) == ["d", "c", "b"]
        assert await ids(until=T0 + timedelta(seconds=1)) == ["a"]
        # Paging on: the same order, ties on ts broken by id.
        assert await ids(limit=2) == ["d", "c"]
        assert await ids(limit=2, before_id="c") == ["b", "a"]
        assert await ids(before_id="b") == ["a"]
        assert await ids(before_id="a") == []
        assert await ids(before_id="unknown") == []

        got = await repo.get("c")
        assert (
            got is not None and got["symbol"] == "sz000001" and got["inputs"]["confidence"] == 0.5
        )
        assert await repo.get("nope") is None
        proposed = await repo.proposed_since(T0 + timedelta(seconds=1))
        assert sorted((r["account"], r["strategy"], r["symbol"]) for r in proposed) == [
            ("acct-1", "dip_buy", "sh600519"),
            ("acct-1", "dip_buy", "sz000001"),
            ("acct-2", "momentum", "sh600519"),
        ]


async def test_a_decision_with_its_command_orders_and_fills(db: Database) -> None:
    command = Command(
        id="c1", type=CommandType.TRADE, node_id="pc-1",
        data={"action": "buy", "stock_code": "sh600519", "quantity": 200},
        issued_at=T0, expires_at=T0 + timedelta(seconds=10),
    )  # fmt: skip
    order: dict[str, Any] = {
        "id": "o1", "account": "acct-1", "node_id": "pc-1", "command_id": "c1",
        "symbol": "sh600519", "side": "buy", "type": "market", "quantity": 200,
        "status": "submitted", "created_at": T0, "updated_at": T0,
    }  # fmt: skip
    async with db.session() as session:
        await DecisionRepo(session).add(_decision("d1", 0, command_id="c1"))
        await CommandRepo(session).create(command, account="acct-1", decision_id="d1")
        orders = OrderRepo(session)
        await orders.upsert(order)
        later = T0 + timedelta(seconds=1)
        filled = {**order, "status": "filled", "filled_quantity": 200,
                  "filled_amount": Decimal("297600.00"), "updated_at": later}  # fmt: skip
        await orders.upsert(filled)
        await TradeRepo(session).add(
            {"id": "t1", "order_id": "o1", "account": "acct-1", "node_id": "pc-1",
             "symbol": "sh600519", "side": "buy", "quantity": 200, "price": Decimal("1488.00"),
             "amount": Decimal("297600.00"), "commission": Decimal("5"),
             "stamp_duty": Decimal("0"), "transfer_fee": Decimal("0"),
             "ts": T0 + timedelta(seconds=1)}
        )  # fmt: skip
        await session.commit()

        repo = DecisionRepo(session)
        assert list(await repo.commands(["c1", "c9"])) == ["c1"]
        assert await repo.commands([]) == {}
        by_command = await repo.orders_of(["c1"])
        assert [o["id"] for o in by_command["c1"]] == ["o1"]
        assert by_command["c1"][0]["filled_amount"] == Decimal("297600.00")
        events, fills = await repo.order_history([("acct-1", "o1")])
        assert [(e["status"], e["filled_quantity"]) for e in events] == [
            ("submitted", 0),
            ("filled", 200),
        ]
        assert [f["id"] for f in fills] == ["t1"]
        assert await repo.order_history([]) == ([], [])


async def test_daily_bars_since(db: Database) -> None:
    def bar(code: str, day: int, freq: str = "1d") -> Bar:
        price = Decimal("10.00") + day
        end = datetime(2026, 1, day, 7, 0, tzinfo=UTC)
        return Bar(parse_symbol(code), freq, end, price, price, price, price, 1000, price * 1000)

    async with db.session() as session:
        repo = BarRepo(session)
        await repo.upsert_many([bar("600519", 6), bar("600519", 5), bar("000001", 5),
                                bar("600519", 2), bar("600519", 6, "1m")])  # fmt: skip
        await session.commit()
        rows = await repo.since("1d", datetime(2026, 1, 3, tzinfo=UTC))
    assert [(r["symbol"], r["end"].day) for r in rows] == [
        ("sh600519", 5),
        ("sh600519", 6),
        ("sz000001", 5),
    ]
