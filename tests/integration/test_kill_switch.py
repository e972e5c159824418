"""The kill switch and the risk gate on a real running stack (cloud + node + paper broker):
manual orders and the agent obey the trading state at once, from the API and the CLI."""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from aigupiao.brokers.paper.store import PaperStore, SavedHolding
from aigupiao.cloud.services.risk import RiskService
from aigupiao.risk import RiskLimits, TradingState
from aigupiao.store import AuditRepo, Database

from ..conftest import ROOT, eventually
from .stack import SIM_DAY, Stack, running_stack

EXECUTE = "/api/cloud-local-trading/execute-trade"
BUY = {"action": "buy", "stock_code": "000001", "quantity": 100, "price": None}
SELL = {**BUY, "action": "sell"}


async def _decisions(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/api/decisions", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _trade_commands(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    commands = (await client.get("/api/commands")).json()
    return [c for c in commands if c["type"] == "trade"]


async def _halt_before_start(url: str) -> None:
    """Halt through the service on the stack's database, as an earlier run would have."""
    db = Database(url)
    try:
        await db.upgrade()
        service = RiskService(db, RiskLimits())
        await service.load()
        await service.set_state(
            TradingState.HALTED, account=None, reason="盘前检查 pre-open check", actor="ops",
            source="cli",
        )  # fmt: skip
    finally:
        await db.dispose()


async def test_halted_refuses_manual_orders_and_the_agent_makes_none(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
    await _halt_before_start(url)  # and the restart keeps it
    async with (
        running_stack(tmp_path, db_url=url, agent=True) as stack,
        stack.client() as client,
    ):
        state = (await client.get("/api/risk/state")).json()
        assert state["global"]["state"] == "halted" and state["global"]["actor"] == "ops"

        refused = await client.post(EXECUTE, json=BUY)
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"]
        assert detail["code"] == "trading_state"
        assert "交易已暂停" in detail["message"] and "halted" in detail["message_en"]
        assert "pre-open check" in detail["message_en"]
        assert detail["values"]["state"] == "halted" and detail["values"]["scope"] == "global"
        (decision,) = await _decisions(client, verdict="rejected", code="000001")
        assert decision["id"] == detail["decision_id"] and decision["strategy"] == "manual"
        assert decision["rule"] == "trading_state" and decision["command_id"] is None
        assert decision["inputs"]["risk_values"]["state"] == "halted"

        async def agent_refused() -> list[dict[str, Any]]:
            rejected = await _decisions(client, verdict="rejected")
            return [d for d in rejected if d["strategy"] == "dip_buy"]

        agent_decisions = await eventually(agent_refused, timeout=30)
        assert {d["rule"] for d in agent_decisions} == {"trading_state"}
        assert await _decisions(client, verdict="accepted") == []
        assert await _trade_commands(client) == []
        assert stack.node is not None and await stack.node.broker.get_orders() == []

        # Resumed: at once for manual orders, and the decision links to its command.
        resumed = await client.put("/api/risk/state", json={"state": "active", "reason": "ok"})
        assert resumed.status_code == 200 and resumed.json()["global"]["state"] == "active"
        done = await client.post(EXECUTE, json=BUY)
        assert done.status_code == 200 and done.json()["status"] == "done", done.text
        accepted = await _decisions(client, verdict="accepted")
        manual = [d for d in accepted if d["strategy"] == "manual"]
        assert [d["command_id"] for d in manual] == [done.json()["command_id"]]


def _seed_position(path: Path, stack: Stack, cost_factor: str = "1") -> PaperStore:
    """A paper account that already holds 1,000 sz000001, all sellable today, bought at
    ``cost_factor`` times the current price."""
    quote = stack.sim.latest("sz000001")
    assert quote is not None
    store = PaperStore(path)
    store.save(
        {
            "id": "paper-1",
            "cash": Decimal(900_000),
            "frozen_cash": Decimal(0),
            "day": SIM_DAY,
            "order_seq": 0,
            "trade_seq": 0,
            "run": "seed01",
        },
        holdings=[SavedHolding("sz000001", 1000, 1000, quote.last * 1000 * Decimal(cost_factor))],
    )
    return store


async def test_reducing_allows_sells_and_refuses_buys(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack, stack.client() as client:
        store = _seed_position(tmp_path / "paper.db", stack)
        try:
            await stack.start_node(paper_store=store)
            await stack.wait_online()
            body = {"state": "reducing", "account": "paper-1", "reason": "only exits today"}
            changed = await client.put("/api/risk/state", json=body)
            assert changed.status_code == 200, changed.text
            assert changed.json()["effective"]["state"] == "reducing"

            buy = await client.post(EXECUTE, json=BUY)
            assert buy.status_code == 422, buy.text
            detail = buy.json()["detail"]
            assert detail["code"] == "trading_state" and "exits only" in detail["message_en"]
            assert detail["values"]["scope"] == "account"
            agent_buy = await client.post(
                "/api/cloud-local-trading/agent/buy",
                json={"stock_code": "600036", "quantity": 100, "agent_id": "bot-7"},
            )
            assert agent_buy.json()["detail"]["code"] == "trading_state"

            sell = await client.post(EXECUTE, json={**SELL, "quantity": 500})
            assert sell.status_code == 200, sell.text
            assert sell.json()["status"] == "done"
            assert sell.json()["result"]["order"]["filled_quantity"] == 500
            agent_sell = await client.post(
                "/api/cloud-local-trading/agent/sell",
                json={"stock_code": "000001", "quantity": 200, "agent_id": "bot-7"},
            )
            assert agent_sell.status_code == 200 and agent_sell.json()["status"] == "done"

            decisions = await _decisions(client)
            summary = sorted(
                (d["strategy"], d["side"], d["verdict"], d["rule"] or "") for d in decisions
            )
            assert summary == [
                ("bot-7", "buy", "rejected", "trading_state"),
                ("bot-7", "sell", "accepted", ""),
                ("manual", "buy", "rejected", "trading_state"),
                ("manual", "sell", "accepted", ""),
            ]
            linked = {d["command_id"] for d in decisions if d["verdict"] == "accepted"}
            assert linked == {sell.json()["command_id"], agent_sell.json()["command_id"]}

            async with stack.cloud.db.session() as session:
                (entry,) = await AuditRepo(session).list(action="risk.*")
                placed = await AuditRepo(session).list(action="order.place")
            assert (entry["actor"], entry["target"]) == ("apikey:test", "account:paper-1")
            # Orders are audited too: the two sells that went through, not the refusals.
            assert {row["target"] for row in placed} == linked
            assert entry["detail"]["source"] == "api"
            assert entry["detail"]["reason"] == "only exits today"
        finally:
            await stack.stop_node()
            store.close()


async def _cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aigupiao.cli", *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_halt_and_resume_from_the_cli(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        credentials = tmp_path / "credentials.json"
        credentials.write_text(json.dumps({"api_key": stack.api_key}))
        where = ["--url", stack.cloud_url, "--credentials", str(credentials)]

        code, output = await _cli("halt", "--account", "paper-1", "--reason", "急停 test", *where)
        assert code == 0, output
        assert "暂停交易" in output and "halted" in output
        refused = await client.post(EXECUTE, json=BUY)
        assert refused.status_code == 422 and refused.json()["detail"]["code"] == "trading_state"
        state = (await client.get("/api/risk/state", params={"account": "paper-1"})).json()
        record = state["accounts"]["paper-1"]
        # The command line calls the API with a key: the server records "api" (a body
        # cannot choose the source).
        assert (record["state"], record["source"], record["actor"]) == (
            "halted",
            "api",
            "apikey:test",
        )
        assert record["reason"] == "急停 test" and state["global"]["state"] == "active"

        code, output = await _cli("halt", "--reducing", *where)  # all accounts, exits only
        assert code == 0 and "仅允许减仓" in output, output
        code, output = await _cli("resume", "--account", "paper-1", *where)
        assert code == 0 and "正常交易" in output, output
        assert "reducing" in output  # the stricter global state still applies
        refused = await client.post(EXECUTE, json=BUY)
        assert refused.json()["detail"]["values"]["scope"] == "global"

        code, output = await _cli("resume", *where)
        assert code == 0, output
        done = await client.post(EXECUTE, json=BUY)
        assert done.status_code == 200 and done.json()["status"] == "done", done.text

        async with stack.cloud.db.session() as session:
            entries = list(reversed(await AuditRepo(session).list(action="risk.state")))
        assert [(e["target"], e["detail"]["to"], e["detail"]["source"]) for e in entries] == [
            ("account:paper-1", "halted", "api"),
            ("global", "reducing", "api"),
            ("account:paper-1", "active", "api"),
            ("global", "active", "api"),
        ]

        code, output = await _cli("halt", "--url", stack.cloud_url, "--api-key", "agp_wrong")
        assert code == 2 and "API 密钥" in output and "401" in output, output
        assert (await client.get("/api/risk/state")).json()["global"]["state"] == "active"


async def test_limits_from_the_api_apply_at_once(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        before = (await client.get("/api/risk/limits", params={"account": "paper-1"})).json()
        assert before["limits"]["max_position_size"] == "0.2"  # the stack's config
        assert before["limits"]["max_orders_per_minute"] == 30 and before["changes"] == {}

        bad = await client.put(
            "/api/risk/limits",
            json={"account": "paper-1", "limits": {"max_position_size": "1.5", "nope": 1}},
        )
        assert bad.status_code == 422
        detail = bad.json()["detail"]
        assert detail["code"] == "invalid_limits" and detail["message"] and detail["message_en"]
        assert {e["field"] for e in detail["errors"]} == {"max_position_size", "nope"}
        extra = await client.put("/api/risk/limits", json={"limits": {}, "surprise": 1})
        assert extra.status_code == 422 and extra.json()["detail"]["code"] == "invalid_request"

        body = {"account": "paper-1", "limits": {"max_orders_per_minute": 1, "duplicate_window": 0}}
        changed = await client.put("/api/risk/limits", json=body)
        assert changed.status_code == 200, changed.text
        assert changed.json()["limits"]["max_orders_per_minute"] == 1

        first = await client.post(EXECUTE, json=BUY)
        assert first.status_code == 200, first.text
        second = await client.post(EXECUTE, json={**BUY, "quantity": 200})
        assert second.status_code == 422
        detail = second.json()["detail"]
        assert detail["code"] == "order_rate"
        assert detail["values"] == {"orders_last_minute": 1, "max_orders_per_minute": 1}

        # Back to the defaults: the duplicate window refuses the same order again.
        reset = {"account": "paper-1", "limits": {}, "reset": True}
        assert (await client.put("/api/risk/limits", json=reset)).status_code == 200
        again = await client.post(EXECUTE, json=BUY)
        assert again.status_code == 422 and again.json()["detail"]["code"] == "duplicate"
        assert len(await _trade_commands(client)) == 1


async def test_the_default_position_cap_refuses_an_order_it_would_break(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        cap = {"limits": {"max_position_size": "0.1"}}  # the default, which the stack raised
        assert (await client.put("/api/risk/limits", json=cap)).status_code == 200
        moutai = {**BUY, "stock_code": "600519"}  # about 147,000 of 1,000,000
        refused = await client.post(EXECUTE, json=moutai)
        assert refused.status_code == 422
        detail = refused.json()["detail"]
        assert detail["code"] == "max_position_size"
        assert detail["values"]["cap"] == "100000.00" and detail["values"]["equity"] == "1000000.00"
        assert Decimal(detail["values"]["position_value"]) > Decimal(100_000)
        assert await _trade_commands(client) == []


async def test_the_agent_sells_a_position_past_its_stop_loss(tmp_path: Path) -> None:
    async with (
        running_stack(tmp_path, with_node=False, agent=True) as stack,
        stack.client() as client,
    ):
        store = _seed_position(tmp_path / "paper.db", stack, cost_factor="1.2")  # -16.7%
        try:
            await stack.start_node(paper_store=store)

            async def stop_loss_sent() -> list[dict[str, Any]]:
                accepted = await _decisions(client, verdict="accepted", code="000001")
                return [d for d in accepted if d["strategy"] == "stop_loss" and d["command_id"]]

            (decision,) = await eventually(stop_loss_sent, timeout=30)
            assert decision["side"] == "sell" and decision["quantity"] == 1000
            assert decision["inputs"]["risk_threshold"] == "0.08"
            assert Decimal(decision["inputs"]["loss_pct"]) < -8
            assert "止损" in decision["reason"] and "stop-loss" in decision["reason"]

            async def sold() -> list[dict[str, Any]]:
                trades = (await client.get("/api/trades")).json()
                return [t for t in trades if t["symbol"] == "sz000001" and t["side"] == "sell"]

            fills = await eventually(sold, timeout=20)
            assert sum(t["quantity"] for t in fills) == 1000
        finally:
            await stack.stop_node()
            store.close()
