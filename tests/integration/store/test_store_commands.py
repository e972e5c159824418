"""Commands (lifecycle, idempotency) and decisions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from aigupiao.domain.decisions import Command, CommandType, Decision, Verdict
from aigupiao.domain.errors import IllegalTransition
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import parse_symbol
from aigupiao.store import CommandRepo, Database, DecisionRepo, DuplicateClientOrderId, NotFound

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=BEIJING)


def _command(command_id: str, *, node_id: str = "pc-1", at: datetime = T0) -> Command:
    return Command(
        id=command_id,
        type=CommandType.TRADE,
        node_id=node_id,
        data={
            "action": "buy",
            "stock_code": "sh600519",
            "quantity": 100,
            "price": Decimal("1488.01"),
        },
        issued_at=at,
        expires_at=at + timedelta(seconds=10),
    )


async def test_create_and_read_back(db: Database) -> None:
    async with db.session() as session:
        await CommandRepo(session).create(
            _command("c1"), account="acct-1", client_order_id="cid-1", decision_id="d1"
        )
        await session.commit()
    async with db.session() as session:
        row = await CommandRepo(session).get("c1")
        by_cid = await CommandRepo(session).by_client_order_id("cid-1")
    assert row is not None and row == by_cid
    assert row["status"] == "pending" and type(row["status"]) is str
    assert row["type"] == "trade"
    assert row["account"] == "acct-1" and row["decision_id"] == "d1"
    assert row["data"] == {
        "action": "buy",
        "stock_code": "sh600519",
        "quantity": 100,
        "price": "1488.01",
    }
    assert row["result"] is None
    assert row["issued_at"] == T0 and row["issued_at"].utcoffset() == timedelta(0)
    assert row["expires_at"] == T0 + timedelta(seconds=10)
    assert row["sent_at"] is row["acked_at"] is row["finished_at"] is None


async def test_valid_path_sets_timestamps_and_result(db: Database) -> None:
    async with db.session() as session:
        repo = CommandRepo(session)
        await repo.create(_command("c1"), account="acct-1")
        t1, t2, t3 = (T0 + timedelta(seconds=s) for s in (1, 2, 3))
        assert await repo.transition("c1", "send", at=t1) == "sent"
        assert await repo.transition("c1", "ack", at=t2) == "acked"
        assert await repo.transition("c1", "ack", at=t3) == "acked"  # duplicate ack
        result = {"order": {"id": "o1"}, "amount": Decimal("148801.00")}
        assert await repo.transition("c1", "done", result=result, at=t3) == "done"
        await session.commit()
    async with db.session() as session:
        row = await CommandRepo(session).get("c1")
    assert row is not None
    assert (row["sent_at"], row["acked_at"], row["finished_at"]) == (t1, t2, t3)
    assert row["updated_at"] == t3
    assert row["result"] == {"order": {"id": "o1"}, "amount": "148801.00"}


async def test_illegal_transition_raises_and_changes_nothing(db: Database) -> None:
    async with db.session() as session:
        repo = CommandRepo(session)
        await repo.create(_command("c1"), account="acct-1")
        for trigger in ("send", "ack", "done"):
            await repo.transition("c1", trigger, at=T0)
        await session.commit()
        before = await repo.get("c1")
        with pytest.raises(IllegalTransition):
            await repo.transition("c1", "send", result={"x": 1}, at=T0 + timedelta(hours=1))
        # The session is still usable and the row is unchanged.
        assert await repo.get("c1") == before
        await session.commit()
    async with db.session() as session:
        assert await CommandRepo(session).get("c1") == before
        with pytest.raises(NotFound):
            await CommandRepo(session).transition("missing", "send", at=T0)


async def test_duplicate_client_order_id_names_the_existing_command(db: Database) -> None:
    async with db.session() as session:
        await CommandRepo(session).create(_command("c1"), account="a", client_order_id="cid")
        await session.commit()
    async with db.session() as session:
        repo = CommandRepo(session)
        with pytest.raises(DuplicateClientOrderId) as caught:
            await repo.create(_command("c2"), account="a", client_order_id="cid")
        assert caught.value.command_id == "c1"
        assert isinstance(caught.value, ValueError)
        assert await repo.get("c2") is None
        # Commands without a client order id never collide.
        await repo.create(_command("c3"), account="a")
        await repo.create(_command("c4"), account="a")
        await session.commit()
        assert {row["id"] for row in await repo.list()} == {"c1", "c3", "c4"}


async def test_list_filters_and_pending_for_node(db: Database) -> None:
    async with db.session() as session:
        repo = CommandRepo(session)
        for i, (command_id, node) in enumerate(
            [("c1", "pc-1"), ("c2", "pc-1"), ("c3", "pc-2"), ("c4", "pc-1"), ("c5", "pc-1")]
        ):
            await repo.create(
                _command(command_id, node_id=node, at=T0 + timedelta(seconds=i)), account="a"
            )
        await repo.transition("c2", "send", at=T0)
        await repo.transition("c4", "send", at=T0)
        await repo.transition("c4", "ack", at=T0)
        await repo.transition("c5", "fail", at=T0)
        await session.commit()

        assert [r["id"] for r in await repo.list()] == ["c5", "c4", "c3", "c2", "c1"]
        assert [r["id"] for r in await repo.list(limit=2)] == ["c5", "c4"]
        assert [r["id"] for r in await repo.list(status="pending")] == ["c3", "c1"]
        assert [r["id"] for r in await repo.list(node_id="pc-2")] == ["c3"]
        assert [r["id"] for r in await repo.pending_for_node("pc-1")] == ["c1", "c2", "c4"]


def _decision(decision_id: str, ts: datetime, **changes: object) -> Decision:
    fields: dict[str, object] = {
        "id": decision_id,
        "strategy": "dip_buy",
        "account": "acct-1",
        "symbol": parse_symbol("600519"),
        "side": Side.BUY,
        "quantity": 100,
        "price": Decimal("1488.01"),
        "reason": "跌幅超过 3%",
        "inputs": {"last": Decimal("1488.01"), "change_pct": "-0.031"},
        "ts": ts,
        "verdict": Verdict.ACCEPTED,
    }
    fields.update(changes)
    return Decision(**fields)  # type: ignore[arg-type]


async def test_decisions_round_trip_and_filter(db: Database) -> None:
    async with db.session() as session:
        repo = DecisionRepo(session)
        await repo.add(_decision("d1", T0))
        await repo.add(
            _decision(
                "d2",
                T0 + timedelta(seconds=1),
                symbol=parse_symbol("510300"),
                price=Decimal("0.001"),
                verdict=Verdict.REJECTED,
                rule="cash",
                risk_message="资金不足 (insufficient cash)",
            )
        )
        await repo.add(_decision("d3", T0 + timedelta(seconds=2), price=None, verdict=None))
        await repo.set_command("d1", "c1")
        await session.commit()

        rows = await repo.list()
        assert [r["id"] for r in rows] == ["d3", "d2", "d1"]
        d3, d2, d1 = rows
        assert d1["symbol"] == "sh600519" and d1["side"] == "buy"
        assert d1["price"] == Decimal("1488.01") and d1["command_id"] == "c1"
        assert d1["inputs"] == {"last": "1488.01", "change_pct": "-0.031"}
        assert d1["ts"] == T0 and d1["ts"].tzinfo is not None
        assert d1["reason"] == "跌幅超过 3%" and d1["verdict"] == "accepted"
        assert d2["price"] == Decimal("0.001") and d2["symbol"] == "sh510300"
        assert (d2["verdict"], d2["rule"]) == ("rejected", "cash")
        assert d3["price"] is None and d3["verdict"] is None
        assert [r["id"] for r in await repo.list(verdict="rejected")] == ["d2"]
        assert [r["id"] for r in await repo.list(symbol="sh600519", limit=1)] == ["d3"]


async def test_times_come_back_in_utc(db: Database) -> None:
    async with db.session() as session:
        await CommandRepo(session).create(_command("c1"), account="a")
        await session.commit()
        row = await CommandRepo(session).get("c1")
    assert row is not None
    assert row["issued_at"].tzinfo == UTC
    assert row["issued_at"] == datetime(2026, 1, 5, 2, 0, 0, 123456, tzinfo=UTC)


async def test_concurrent_creates_with_one_client_order_id(db: Database) -> None:
    # Two requests retrying the same order at once: exactly one command is stored,
    # and the loser is told which one.
    async def create(command_id: str) -> str:
        async with db.session() as session:
            try:
                await CommandRepo(session).create(
                    _command(command_id), account="a", client_order_id="same"
                )
                await asyncio.sleep(0.05)  # hold the transaction open
                await session.commit()
                return command_id
            except DuplicateClientOrderId as exc:
                await session.rollback()
                return f"duplicate of {exc.command_id}"

    outcomes = sorted(await asyncio.gather(create("c1"), create("c2")))
    winner = next(o for o in outcomes if not o.startswith("duplicate"))
    assert outcomes == sorted([winner, f"duplicate of {winner}"])


async def test_concurrent_transitions_are_serialized(db: Database) -> None:
    # Two responses for one command at once: the second must see the first's result.
    async with db.session() as session:
        await CommandRepo(session).create(_command("c1"), account="a")
        await CommandRepo(session).transition("c1", "send", at=T0)
        await session.commit()

    async def answer(trigger: str) -> str:
        async with db.session() as session:
            try:
                status = await CommandRepo(session).transition("c1", trigger, at=T0)
                await asyncio.sleep(0.05)
                await session.commit()
                return status
            except IllegalTransition:
                await session.rollback()
                return "illegal"

    outcomes = sorted(await asyncio.gather(answer("done"), answer("failed")))
    assert outcomes in (["done", "illegal"], ["failed", "illegal"])
    async with db.session() as session:
        row = await CommandRepo(session).get("c1")
    assert row is not None and row["status"] in ("done", "failed")
