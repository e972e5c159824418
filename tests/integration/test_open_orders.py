"""Open orders on a real stack (issue 13, items 11 and 12): the gate counts resting orders
the node reported, commands still on their way and the agent's own accepted decisions;
the agent and manual orders take one pipeline, and an accepted decision always has its
command."""

from __future__ import annotations

import asyncio
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any

import httpx

from aigupiao.brokers.paper.store import PaperStore, SavedHolding
from aigupiao.domain.rules import day_limits

from ..conftest import eventually
from .stack import SIM_DAY, Stack, running_stack

EXECUTE = "/api/cloud-local-trading/execute-trade"
CAP = {"limits": {"max_position_size": "0.1"}}  # the default, which the stack raises
EQUITY = Decimal(1_000_000)  # the paper account's starting cash


async def _json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _nine_percent(stack: Stack, code: str, price: Decimal | None = None) -> int:
    quote = stack.sim.latest(code)
    assert quote is not None
    shares = EQUITY * Decimal("0.09") / (price or quote.last)
    return int(shares) // 100 * 100


def _resting_price(stack: Stack, code: str) -> Decimal:
    """A buy price 4% under the market (never under limit down): the order rests."""
    quote = stack.sim.latest(code)
    assert quote is not None
    _, down = day_limits(quote, SIM_DAY)
    price = (quote.last * Decimal("0.96")).quantize(Decimal("0.01"), rounding=ROUND_UP)
    return max(price, down) if down is not None else price


async def test_five_resting_buys_do_not_add_up_past_the_position_cap(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        await _json(await client.put("/api/risk/limits", json=CAP))
        price = _resting_price(stack, "sz000001")
        quantity = _nine_percent(stack, "sz000001", price)
        body = {"action": "buy", "stock_code": "000001", "quantity": quantity,
                "price": str(price)}  # fmt: skip
        answers = [
            await client.post(EXECUTE, json={**body, "client_order_id": f"rest-{n}"})
            for n in range(5)
        ]
        assert [a.status_code for a in answers] == [200, 422, 422, 422, 422], answers[1].text
        resting = answers[0].json()["result"]["order"]
        assert resting["status"] == "submitted" and resting["filled_quantity"] == 0
        detail = answers[1].json()["detail"]
        assert detail["code"] == "max_position_size"
        assert Decimal(detail["values"]["open_buy_value"]) == price * quantity
        assert "not filled yet" in detail["message_en"]
        assert stack.node is not None and len(await stack.node.broker.get_orders()) == 1


async def test_two_quick_buys_see_each_other(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack, stack.client() as client:
        await stack.start_node(latency=1.0)  # the first buy is still on its way
        await stack.wait_online()
        await _json(await client.put("/api/risk/limits", json=CAP))
        body = {"action": "buy", "stock_code": "000001", "price": None,
                "quantity": _nine_percent(stack, "sz000001")}  # fmt: skip
        first, second = await asyncio.gather(
            client.post(EXECUTE, json={**body, "client_order_id": "quick-1"}),
            client.post(EXECUTE, json={**body, "client_order_id": "quick-2"}),
        )
        codes = sorted([first.status_code, second.status_code])
        assert codes == [200, 422], (first.text, second.text)
        refused = first if first.status_code == 422 else second
        detail = refused.json()["detail"]
        assert detail["code"] == "max_position_size" and "open_buy_value" in detail["values"]
        assert stack.node is not None and len(await stack.node.broker.get_orders()) == 1


async def test_a_sell_on_its_way_holds_its_shares(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack, stack.client() as client:
        store = _holding(tmp_path / "paper.db", stack, shares=1000)
        try:
            await stack.start_node(paper_store=store, latency=1.0)
            await stack.wait_online()
            body = {"action": "sell", "stock_code": "000001", "quantity": 600, "price": None}
            first, second = await asyncio.gather(
                client.post(EXECUTE, json={**body, "client_order_id": "sell-1"}),
                client.post(EXECUTE, json={**body, "client_order_id": "sell-2"}),
            )
            refused = first if first.status_code == 422 else second
            assert sorted([first.status_code, second.status_code]) == [200, 422], refused.text
            detail = refused.json()["detail"]
            assert detail["code"] == "available"
            assert detail["values"]["available"] == 400
            assert detail["values"]["open_sell_quantity"] == 600
            assert len(await stack.node.broker.get_orders()) == 1  # type: ignore[union-attr]
        finally:
            await stack.stop_node()
            store.close()


async def test_the_agent_counts_its_own_open_buys_toward_max_positions(tmp_path: Path) -> None:
    # Every stock below its previous close is a dip: many buys in the first rounds.
    agent = {"dip_threshold": "-0.00001", "max_positions": 2}
    async with running_stack(tmp_path, agent=agent) as stack, stack.client() as client:

        async def dip_decisions() -> list[dict[str, Any]] | None:
            rows = await _json(await client.get("/api/decisions", params={"limit": 500}))
            dips = [d for d in rows if d["strategy"] == "dip_buy"]
            refused = [d for d in dips if d["rule"] == "max_positions"]
            return dips if len(refused) >= 2 else None

        decisions = await eventually(dip_decisions, timeout=30)
        accepted = [d for d in decisions if d["verdict"] == "accepted"]
        assert 1 <= len(accepted) <= 2
        assert all(d["command_id"] for d in accepted)
        refused = [d for d in decisions if d["rule"] == "max_positions"]
        values = refused[-1]["inputs"]["risk_values"]  # the oldest: before any fill
        assert values["max_positions"] == 2 and values["positions"] == 2


async def test_an_agent_decision_with_no_node_to_send_it_to_is_not_left_accepted(
    tmp_path: Path,
) -> None:
    agent = {"enabled": False, "account": "paper-1", "dip_threshold": "-0.00001"}
    async with running_stack(tmp_path, agent=agent) as stack, stack.client() as client:
        await eventually(lambda: stack.cloud.ledger.get("paper-1"), timeout=10)
        await stack.stop_node()  # the cloud still has the account's last snapshot
        await eventually(lambda: not stack.cloud.hub.links, timeout=10)
        runner = stack.cloud.agent

        async def decided() -> list[Any]:
            return await runner.tick()  # the agent task is off: rounds by hand

        decisions = await eventually(decided, timeout=20)
        assert {(d.verdict.value, d.rule) for d in decisions} == {("rejected", "node_offline")}  # type: ignore[union-attr]
        assert all(d.command_id is None for d in decisions)
        stored = await _json(await client.get("/api/decisions", params={"verdict": "accepted"}))
        assert stored == []


def _holding(path: Path, stack: Stack, *, shares: int) -> PaperStore:
    """A paper account that already holds ``shares`` sz000001, all sellable today."""
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
        holdings=[SavedHolding("sz000001", shares, shares, quote.last * shares)],
    )
    return store
