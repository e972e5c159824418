"""The seed's cloud endpoints against a real node over a real WebSocket."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from ..conftest import eventually
from .stack import running_stack

SEED_TRADE = {
    "action": "buy",
    "stock_code": "600519",
    "quantity": 100,
    "price": None,
    "agent_id": "test",
}
EXECUTE = "/api/cloud-local-trading/execute-trade"


async def test_seed_trade_fills_and_is_stored_everywhere(tmp_path: Path, empty_url: str) -> None:
    async with running_stack(tmp_path, db_url=empty_url) as stack, stack.client() as client:
        response = await client.post(EXECUTE, json=SEED_TRADE)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and body["status"] == "done"
        order, (trade,) = body["result"]["order"], body["result"]["trades"]
        assert order["status"] == "filled" and order["symbol"] == "sh600519"
        quote = stack.sim.latest("sh600519")
        assert quote is not None
        price = Decimal(trade["price"])
        assert trade["quantity"] == 100 and Decimal(trade["amount"]) == price * 100
        # commission max(0.025%, 5) and transfer fee 0.001%, rounded to the cent
        assert Decimal(trade["commission"]) == max(
            (price * 100 * Decimal("0.00025")).quantize(Decimal("0.01")), Decimal("5.00")
        )
        assert Decimal(trade["stamp_duty"]) == 0

        trades = (await client.get("/api/trades")).json()
        assert [t["id"] for t in trades] == [trade["id"]]
        orders = (await client.get("/api/orders")).json()
        assert orders[0]["status"] == "filled"
        positions = (await client.get("/api/positions")).json()
        assert positions == [{**positions[0], "symbol": "sh600519", "total": 100, "available": 0}]
        command = (await client.get(body["status_url"])).json()
        assert command["status"] == "done" and command["result"]["order"]["id"] == order["id"]

        node_key = {"X-API-Key": "node-key"}  # the account part of /status needs the key
        async with httpx.AsyncClient(base_url=stack.node_url, headers=node_key) as node:
            status = (await node.get("/status")).json()
        assert trade["id"] in [t["id"] for t in status["trades"]]
        assert status["cloud"]["state"] == "online"
        assert Decimal(status["balance"]["cash"]) < Decimal(1_000_000)


async def test_retried_client_order_id_never_trades_twice(tmp_path: Path, empty_url: str) -> None:
    async with running_stack(tmp_path, db_url=empty_url) as stack, stack.client() as client:
        body = {**SEED_TRADE, "client_order_id": "retry-1"}
        first = (await client.post(EXECUTE, json=body)).json()
        second = (await client.post(EXECUTE, json=body)).json()
        assert first["command_id"] == second["command_id"]
        assert len((await client.get("/api/trades")).json()) == 1
        assert len(await stack.node.broker.get_trades()) == 1  # type: ignore[union-attr]


async def test_sell_today_is_rejected_by_t_plus_1_with_the_rule(tmp_path: Path) -> None:
    # The risk gate refuses it before it reaches the node (it used to be the broker's
    # rejection, answered 200 with status rejected).
    async with running_stack(tmp_path) as stack, stack.client() as client:
        bought = await client.post(EXECUTE, json=SEED_TRADE)
        assert bought.json()["status"] == "done", bought.text
        sell = {**SEED_TRADE, "action": "sell"}
        response = await client.post(EXECUTE, json=sell)
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert detail["code"] == "available" and "T+1" in detail["message_en"]
        assert detail["values"]["available"] == 0 and detail["values"]["quantity"] == 100
        decisions = (await client.get("/api/decisions?verdict=rejected")).json()
        assert [d["id"] for d in decisions] == [detail["decision_id"]]
        assert len(await stack.node.broker.get_orders()) == 1  # type: ignore[union-attr]


async def test_agent_endpoints_and_exports(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        buy = await client.post(
            "/api/cloud-local-trading/agent/buy", json={"stock_code": "sz000001", "quantity": 200}
        )
        assert buy.json()["status"] == "done", buy.text
        export = await client.post("/api/cloud-local-trading/agent/export/positions")
        assert export.status_code == 200
        positions = export.json()["result"]["positions"]
        assert [(p["symbol"], p["total"]) for p in positions] == [("sz000001", 200)]
        every = await client.post("/api/cloud-local-trading/export-data", json={"data_type": "all"})
        result = every.json()["result"]
        assert {"positions", "trades", "orders", "account"} <= result.keys()
        status = (await client.get("/api/cloud-local-trading/local-status")).json()
        assert status["connected"] and status["default_node"] == "local-1"
        ping = (await client.post("/api/cloud-local-trading/test-connection")).json()
        assert ping["status"] == "done" and ping["round_trip_ms"] >= 0
        quote = (await client.get("/api/quotes/000001")).json()
        assert quote["code"] == "sz000001" and Decimal(quote["last"]) > 0


async def test_agent_dip_buys_become_fills(tmp_path: Path, empty_url: str) -> None:
    async with (
        running_stack(tmp_path, db_url=empty_url, agent=True) as stack,
        stack.client() as client,
    ):

        async def filled_decision() -> list[dict[str, object]]:
            decisions = (await client.get("/api/decisions?verdict=accepted")).json()
            return [d for d in decisions if d["command_id"]]

        decisions = await eventually(filled_decision, timeout=20)
        trades = await eventually(lambda: _trades(client), timeout=20)
        decided = {d["symbol"] for d in decisions}
        assert decided & {t["symbol"] for t in trades}
        for decision in decisions:
            assert Decimal(decision["inputs"]["change_pct"]) < -5
            assert "fell" in decision["reason"]


async def _trades(client: httpx.AsyncClient) -> list[dict[str, object]]:
    return (await client.get("/api/trades")).json()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**SEED_TRADE, "stock_code": "12345"}, 422, "invalid_symbol"),
        ({**SEED_TRADE, "stock_code": "600999"}, 422, "unknown_symbol"),
        ({**SEED_TRADE, "quantity": 150}, 422, "lot"),
        ({**SEED_TRADE, "quantity": 0}, 422, "invalid_request"),
        ({**SEED_TRADE, "price": "-1"}, 422, "invalid_request"),  # prices are positive
        ({**SEED_TRADE, "price": "1500.005"}, 422, "tick"),
        ({**SEED_TRADE, "action": "short"}, 422, "invalid_request"),
        ({**SEED_TRADE, "surprise": 1}, 422, "invalid_request"),
        # market-order kinds: only for market orders, and only those the exchange takes
        ({**SEED_TRADE, "price": "1466.80", "market_kind": "best5_ioc"}, 422, "market_kind"),
        ({**SEED_TRADE, "market_kind": "fok"}, 422, "market_kind"),  # SSE has no FOK
        ({**SEED_TRADE, "market_kind": "all_or_maybe"}, 422, "invalid_request"),
    ],
)
async def test_bad_trades_get_a_reason_and_write_nothing(
    tmp_path: Path, body: dict[str, object], status: int, code: str
) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        response = await client.post(EXECUTE, json=body)
        assert response.status_code == status, response.text
        detail = response.json()["detail"]
        assert detail["code"] == code and detail["message"] and detail["message_en"]
        commands = (await client.get("/api/commands")).json()
        assert {c["type"] for c in commands} <= {"status"}  # only the link's own status poll
        assert (await client.get("/api/trades")).json() == []


async def test_malformed_json_unknown_export_and_missing_key(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        response = await client.post(
            EXECUTE, content=b'{"action": "buy", ', headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["detail"]["code"] == "malformed_json"
        response = await client.post("/api/cloud-local-trading/agent/export/holdings")
        assert response.status_code == 422
        response = await client.post(
            "/api/cloud-local-trading/export-data", json={"data_type": "holdings"}
        )
        assert response.status_code == 422
        async with httpx.AsyncClient(base_url=stack.cloud_url) as anonymous:
            assert (await anonymous.post(EXECUTE, json=SEED_TRADE)).status_code == 401
            assert (await anonymous.get("/api/trades")).status_code == 401
            wrong = {"X-API-Key": "agp_wrong"}
            assert (await anonymous.get("/api/trades", headers=wrong)).status_code == 401
            assert (await anonymous.get("/api/health")).status_code == 200


async def test_no_node_connected_is_a_clear_409(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack, stack.client() as client:
        response = await client.post(EXECUTE, json=SEED_TRADE)
        assert response.status_code == 409
        assert response.json()["detail"]["code"] == "node_not_connected"
        response = await client.post(EXECUTE, json={**SEED_TRADE, "node_id": "nope"})
        assert response.status_code == 409
        assert (await client.get("/api/commands")).json() == []
