"""``POST /api/cloud-local-trading/cancel-order`` over real HTTP, with a real node on the
paper broker: a resting limit order is cancelled at the broker and stored ``cancelled``."""

from __future__ import annotations

from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any

import httpx

from aigupiao.store import AuditRepo

from ..conftest import eventually
from .stack import running_stack

EXECUTE = "/api/cloud-local-trading/execute-trade"
CANCEL = "/api/cloud-local-trading/cancel-order"


async def _resting_buy(client: httpx.AsyncClient, last: Decimal) -> dict[str, Any]:
    """A limit buy 7% under the market: inside the price limits, far from filling."""
    price = (last * Decimal("0.93")).quantize(Decimal("0.01"), rounding=ROUND_UP)
    body = {"action": "buy", "stock_code": "000001", "quantity": 100, "price": str(price)}
    response = await client.post(EXECUTE, json=body)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()["result"]["order"]
    assert order["status"] == "submitted" and order["filled_quantity"] == 0, order
    return order


async def _stored(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    orders = (await client.get("/api/orders")).json()
    (order,) = [o for o in orders if o["id"] == order_id]
    return order  # type: ignore[no-any-return]


async def test_cancel_a_resting_order_even_when_halted(tmp_path: Path, empty_url: str) -> None:
    async with running_stack(tmp_path, db_url=empty_url) as stack, stack.client() as client:
        quote = stack.sim.latest("sz000001")
        assert quote is not None
        order = await _resting_buy(client, quote.last)
        assert (await _stored(client, order["id"]))["status"] == "submitted"

        # The kill switch stops new orders, never cancels: they only reduce exposure.
        halted = await client.put("/api/risk/state", json={"state": "halted", "reason": "test"})
        assert halted.status_code == 200, halted.text

        response = await client.post(CANCEL, json={"order_id": order["id"], "account": "paper-1"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and body["status"] == "done"
        assert body["result"]["order"]["id"] == order["id"]
        assert body["result"]["order"]["status"] == "cancelled"

        stored = await _stored(client, order["id"])
        assert stored["status"] == "cancelled" and stored["filled_quantity"] == 0
        command = (await client.get(body["status_url"])).json()
        assert command["type"] == "cancel" and command["data"] == {"order_id": order["id"]}
        (at_broker,) = [
            o
            for o in await stack.node.broker.get_orders()  # type: ignore[union-attr]
            if o.id == order["id"]
        ]
        assert at_broker.status.value == "cancelled"

        # The frozen cash is back: the account shows no open buy any more.
        async def cash_released() -> bool:
            accounts = (await client.get("/api/accounts")).json()
            return any(Decimal(a["frozen_cash"]) == 0 for a in accounts)

        await eventually(cash_released, timeout=10)

        async with stack.cloud.db.session() as session:
            audit = await AuditRepo(session).list()
        (entry,) = [a for a in audit if a["action"] == "order.cancel"]
        assert entry["target"] == order["id"] and entry["actor"] == "apikey:test"
        assert entry["detail"]["command_id"] == body["command_id"]

        # A second cancel of the now final order is refused before it reaches the node.
        again = await client.post(CANCEL, json={"order_id": order["id"]})
        assert again.status_code == 409, again.text
        detail = again.json()["detail"]
        assert detail["code"] == "order_final" and "已撤" in detail["message"]
        assert "cancelled" in detail["message_en"]


async def test_unknown_order_and_wrong_account_are_refused(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        unknown = await client.post(CANCEL, json={"order_id": "no-such-order"})
        assert unknown.status_code == 404, unknown.text
        detail = unknown.json()["detail"]
        assert detail["code"] == "unknown_order" and "no-such-order" in detail["message"]
        assert detail["message_en"] == "no order no-such-order"

        quote = stack.sim.latest("sz000001")
        assert quote is not None
        order = await _resting_buy(client, quote.last)
        other = await client.post(CANCEL, json={"order_id": order["id"], "account": "paper-2"})
        assert other.status_code == 404, other.text
        assert other.json()["detail"]["code"] == "unknown_order"
        assert (await _stored(client, order["id"]))["status"] == "submitted"

        missing = await client.post(CANCEL, json={})
        assert missing.status_code == 422
        assert missing.json()["detail"]["code"] == "invalid_request"
        commands = (await client.get("/api/commands")).json()
        assert not [c for c in commands if c["type"] == "cancel"]


async def test_cancel_refused_by_the_broker_is_reported(tmp_path: Path) -> None:
    """The cloud's view can be behind the broker's (the order filled meanwhile): the
    broker's refusal comes back as a ``rejected`` command with its reason."""
    async with running_stack(tmp_path) as stack, stack.client() as client:
        quote = stack.sim.latest("sz000001")
        assert quote is not None
        order = await _resting_buy(client, quote.last)
        broker = stack.node.broker  # type: ignore[union-attr]
        await broker.cancel_order(order["id"])  # behind the cloud's back
        response = await client.post(CANCEL, json={"order_id": order["id"]})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is False and body["status"] == "rejected"
        assert body["result"]["code"] == "order_final"
        assert "cannot be cancelled" in body["result"]["message_en"]
