"""The local node's seed-compatible HTTP and WebSocket API, against a real linked node.

The stack's node listens on 127.0.0.1 with ``server.api_key = "node-key"`` and is
linked to a real cloud, so what the node trades on its own API must reach the cloud.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from aigupiao.protocol import v1

from ..conftest import eventually
from .stack import Stack, running_stack

NODE_KEY = "node-key"
BUY = {"action": "buy", "stock_code": "sh600519", "quantity": 100, "price": None}
KEY = {"X-API-Key": NODE_KEY}


def _node(stack: Stack, **headers: str | bytes) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.node_url, headers=headers, timeout=30)


def _ws_url(stack: Stack, query: str = f"?api_key={NODE_KEY}") -> str:
    assert stack.node_server is not None
    return f"ws://127.0.0.1:{stack.node_server.port}/ws{query}"


async def _cloud_trades(stack: Stack) -> list[dict[str, Any]]:
    async with stack.client() as client:
        response = await client.get("/api/trades")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def _unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    detail = response.json()["detail"]
    assert detail["code"] == "unauthorized"
    assert detail["message"] == "缺少或无效的本地 API 密钥"
    assert detail["message_en"] == "missing or invalid local API key"


def _filled(body: dict[str, Any]) -> dict[str, Any]:
    assert body["success"] is True and body["status"] == "done", body
    order = body["result"]["order"]
    assert order["status"] == "filled" and order["symbol"] == "sh600519"
    assert order["side"] == "buy" and order["type"] == "market"
    assert order["filled_quantity"] == 100 and order["account"] == "paper-1"
    assert [t["quantity"] for t in body["result"]["trades"]] == [100]
    return body


# -- open read endpoints --------------------------------------------------------------


async def test_index_names_the_node_broker_and_cloud_state(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, _node(stack) as node:
        response = await node.get("/")
        assert response.status_code == 200
        body = response.json()
        assert body["node_id"] == "local-1"
        assert body["account"] == "paper-1"
        assert body["broker"] == "paper"
        assert body["cloud"] == "online"
        assert body["service"] == "aigupiao local node"


async def test_health_is_ok_while_the_link_runs(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, _node(stack) as node:
        response = await node.get("/health")
        assert response.status_code == 200
        body = response.json()
        running = {"state": "running", "restarts": 0, "last_error": None}
        assert body == {
            "status": "ok",
            "tasks": {"cloud-link": "running", "broker-events": "running"},
            "task_details": {"cloud-link": running, "broker-events": running},
        }


async def test_status_before_any_trade_shows_the_untouched_paper_account(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, _node(stack, **KEY) as node:
        status = (await node.get("/status")).json()
        assert status["node_id"] == "local-1" and status["account"] == "paper-1"
        assert status["broker"] == "paper"
        assert status["cloud"]["state"] == "online"
        assert status["cloud"]["last_error"] is None
        cash = status["balance"]["cash"]
        assert isinstance(cash, str) and Decimal(cash) == Decimal(1_000_000)
        assert Decimal(status["balance"]["frozen_cash"]) == 0
        assert status["balance"]["paper"] is True
        assert status["positions"] == []
        assert status["trades"] == []
        assert status["orders"] == []


# -- POST /trade: auth -----------------------------------------------------------------


async def test_trade_without_or_with_a_wrong_key_is_refused(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        attempts = [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}]
        attempts.append({"Authorization": NODE_KEY})  # the key without the Bearer scheme
        for headers in attempts:
            async with _node(stack, **headers) as node:
                _unauthorized(await node.post("/trade", json=BUY))
                _unauthorized(await node.post("/export", json={"data_type": "all"}))
        async with _node(stack, **KEY) as node:
            status = (await node.get("/status")).json()
        assert status["orders"] == [] and Decimal(status["balance"]["cash"]) == 1_000_000


ACCOUNT_PART = {"balance", "positions", "trades", "orders", "last_result"}


async def test_status_shows_the_account_only_with_the_key(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        async with _node(stack, **KEY) as node:
            assert (await node.post("/trade", json=BUY)).json()["status"] == "done"
        async with _node(stack) as anyone:
            public = (await anyone.get("/status")).json()
        # The link and the broker are open; the account is not.
        assert public["node_id"] == "local-1" and public["broker"] == "paper"
        assert public["cloud"]["state"] == "online"
        assert not ACCOUNT_PART & set(public) and "API" in public["account_data"]
        assert "sh600519" not in json.dumps(public)
        for headers in ({"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
            async with _node(stack, **headers) as intruder:
                _unauthorized(await intruder.get("/status"))
        async with _node(stack, Authorization=f"Bearer {NODE_KEY}") as owner:
            full = (await owner.get("/status")).json()
        assert ACCOUNT_PART <= set(full) and full["positions"][0]["symbol"] == "sh600519"


async def test_a_non_ascii_key_is_refused_not_a_server_error(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        async with _node(stack, **{"X-API-Key": "clé".encode("latin-1")}) as node:
            _unauthorized(await node.post("/trade", json=BUY))


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": NODE_KEY}, {"Authorization": f"Bearer {NODE_KEY}"}],
    ids=["x-api-key", "bearer"],
)
async def test_trade_with_the_key_fills_and_reaches_the_cloud(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    async with running_stack(tmp_path) as stack, _node(stack, **headers) as node:
        response = await node.post("/trade", json=BUY)
        assert response.status_code == 200, response.text
        body = _filled(response.json())
        (trade,) = body["result"]["trades"]
        assert body["command_id"].startswith("local-")
        assert Decimal(body["result"]["account"]["cash"]) < Decimal(1_000_000)

        status = (await node.get("/status")).json()
        assert [t["id"] for t in status["trades"]] == [trade["id"]]
        assert [(p["symbol"], p["total"], p["available"]) for p in status["positions"]] == [
            ("sh600519", 100, 0)  # T+1: bought today, sellable tomorrow
        ]
        assert status["last_result"]["command_id"] == body["command_id"]

        # The node reports its own trades to the cloud over the link.
        cloud_trades = await eventually(lambda: _cloud_trades(stack), timeout=15)
        assert [t["id"] for t in cloud_trades] == [trade["id"]]
        assert cloud_trades[0]["symbol"] == "sh600519"
        assert cloud_trades[0]["quantity"] == 100
        assert Decimal(str(cloud_trades[0]["price"])) == Decimal(trade["price"])


async def test_same_client_order_id_twice_trades_once(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, _node(stack, **KEY) as node:
        order = {**BUY, "client_order_id": "node-retry-1"}
        first = _filled((await node.post("/trade", json=order)).json())
        again = (await node.post("/trade", json=order)).json()
        assert again["command_id"] == first["command_id"] == "node-retry-1"
        assert again["status"] == "done"
        assert again["result"]["order"]["id"] == first["result"]["order"]["id"]

        exported = (await node.post("/export", json={"data_type": "all"})).json()
        assert len(exported["orders"]) == 1 and len(exported["trades"]) == 1
        assert exported["orders"][0]["client_order_id"] == "node-retry-1"
        (trade,) = first["result"]["trades"]
        cloud_trades = await eventually(lambda: _cloud_trades(stack), timeout=15)
        assert [t["id"] for t in cloud_trades] == [trade["id"]]


# -- POST /trade: bad requests ---------------------------------------------------------


async def test_odd_lot_buy_is_rejected_by_the_broker_with_code_lot(tmp_path: Path) -> None:
    """150 shares passes request validation (quantity > 0); the lot rule rejects it."""
    async with running_stack(tmp_path) as stack, _node(stack, **KEY) as node:
        response = await node.post("/trade", json={**BUY, "quantity": 150})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is False and body["status"] == "rejected"
        assert body["result"]["code"] == "lot"
        assert "150" in body["result"]["message"] and "100" in body["result"]["message"]
        assert Decimal(body["result"]["account"]["cash"]) == 1_000_000
        assert (await node.post("/export", json={"data_type": "orders"})).json()["orders"] == []


async def test_unknown_stock_code_is_rejected_with_invalid_symbol(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, _node(stack, **KEY) as node:
        response = await node.post("/trade", json={**BUY, "stock_code": "abc"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is False and body["status"] == "rejected"
        assert body["result"]["code"] == "invalid_symbol"
        assert "abc" in body["result"]["message_en"]
        assert (await node.post("/export", json={"data_type": "orders"})).json()["orders"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"action": "hold"}, "action"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "many"}, "quantity"),
        ({"surprise": 1}, "surprise"),
        ({"client_order_id": ""}, "client_order_id"),
    ],
    ids=["unknown-action", "zero-quantity", "text-quantity", "unknown-field", "empty-id"],
)
async def test_invalid_trade_body_is_a_422_naming_the_field(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    async with running_stack(tmp_path) as stack, _node(stack, **KEY) as node:
        response = await node.post("/trade", json={**BUY, **change})
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert detail["code"] == "invalid_request"
        assert detail["message"].startswith("请求参数无效")
        assert field in detail["message"] and field in detail["message_en"]


@pytest.mark.parametrize("price", ["-1", "0"])
async def test_non_positive_price_is_a_422_not_a_server_error(tmp_path: Path, price: str) -> None:
    async with running_stack(tmp_path) as stack, _node(stack, **KEY) as node:
        response = await node.post("/trade", json={**BUY, "price": price})
        assert response.status_code == 422, response.text
        assert response.json()["detail"]["code"] == "invalid_request"


# -- POST /export ----------------------------------------------------------------------


async def test_export_returns_the_asked_data(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, _node(stack, **KEY) as node:
        body = _filled((await node.post("/trade", json=BUY)).json())
        order_id = body["result"]["order"]["id"]
        (trade,) = body["result"]["trades"]
        expected = {
            "positions": {"kind", "data_type", "account", "positions"},
            "trades": {"kind", "data_type", "account", "trades"},
            "orders": {"kind", "data_type", "account", "orders"},
            "all": {"kind", "data_type", "account", "positions", "trades", "orders"},
        }
        for data_type, keys in expected.items():
            response = await node.post("/export", json={"data_type": data_type})
            assert response.status_code == 200, response.text
            exported = response.json()
            assert set(exported) == keys | {"files"}, data_type  # files: test_local_export.py
            assert exported["data_type"] == data_type
            assert exported["account"]["id"] == "paper-1"
            if "positions" in keys:
                assert [p["symbol"] for p in exported["positions"]] == ["sh600519"]
            if "trades" in keys:
                assert [t["id"] for t in exported["trades"]] == [trade["id"]]
            if "orders" in keys:
                assert [o["id"] for o in exported["orders"]] == [order_id]
        # No body at all means "all", as in the seed.
        assert set((await node.post("/export")).json()) == expected["all"] | {"files"}


async def test_export_of_an_unknown_data_type_is_a_422(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, _node(stack, **KEY) as node:
        response = await node.post("/export", json={"data_type": "balances"})
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert detail["code"] == "invalid_request" and "data_type" in detail["message_en"]


# -- WS /ws ----------------------------------------------------------------------------


def _command(kind: type[v1.StatusCommand] | type[v1.TradeCommand], **fields: Any) -> str:
    now = datetime.now(UTC)
    expires = fields.pop("expires_in", 10.0)
    message = kind(issued_at=now, expires_at=now + timedelta(seconds=expires), **fields)
    return message.model_dump_json()


async def test_ws_answers_heartbeat_status_and_garbage(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, connect(_ws_url(stack)) as ws:
        sent = datetime.now(UTC)
        await ws.send(v1.Heartbeat(ts=sent).model_dump_json())
        heartbeat = v1.parse_from_cloud(await ws.recv())
        assert isinstance(heartbeat, v1.Heartbeat) and heartbeat.ts >= sent

        await ws.send(_command(v1.StatusCommand, id="ws-status-1"))
        response = json.loads(await ws.recv())
        assert response["type"] == "response" and response["v"] == 1
        assert response["command_id"] == "ws-status-1"
        assert response["status"] == "done" and response["success"] is True
        assert response["result"]["broker"] == "paper"
        assert Decimal(response["result"]["account"]["cash"]) == 1_000_000
        assert response["result"]["trades_today"] == 0

        garbage = {
            "not json": "invalid_json",
            "[" * 10_000 + "]" * 10_000: "invalid_json",  # a RecursionError once dropped it
            json.dumps({"type": "status", "v": 1}): "bad_message",
        }
        for frame, code in garbage.items():
            await ws.send(frame)
            error = json.loads(await ws.recv())
            assert error["type"] == "error" and error["code"] == code
            assert error["command_id"] is None and error["message"]
        # The socket survives bad frames.
        await ws.send(v1.Heartbeat(ts=datetime.now(UTC)).model_dump_json())
        assert json.loads(await ws.recv())["type"] == "heartbeat"


async def test_ws_trade_fills_once_and_an_expired_one_never_trades(tmp_path: Path) -> None:
    headers = {"X-API-Key": NODE_KEY}  # the header works as well as the query parameter
    async with (
        running_stack(tmp_path) as stack,
        connect(_ws_url(stack, ""), additional_headers=headers) as ws,
    ):
        data = v1.TradeData(action="buy", stock_code="600519", quantity=100)
        for _ in range(2):  # a re-delivery of the same id returns the stored result
            await ws.send(_command(v1.TradeCommand, id="ws-trade-1", data=data))
            response = json.loads(await ws.recv())
            assert response["command_id"] == "ws-trade-1"
            _filled(response)
        await ws.send(_command(v1.TradeCommand, id="ws-late-1", data=data, expires_in=-1))
        late = json.loads(await ws.recv())
        assert late["status"] == "expired" and late["result"]["code"] == "expired"
        async with _node(stack, **KEY) as node:
            exported = (await node.post("/export", json={"data_type": "orders"})).json()
        assert [o["client_order_id"] for o in exported["orders"]] == ["ws-trade-1"]


@pytest.mark.parametrize("query", ["", "?api_key=wrong"], ids=["no-key", "wrong-key"])
async def test_ws_without_the_key_closes_with_4401(tmp_path: Path, query: str) -> None:
    async with running_stack(tmp_path) as stack, connect(_ws_url(stack, query)) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4401


@pytest.mark.parametrize("query", ["", "?api_key=wrong"], ids=["no-key", "wrong-key"])
async def test_ws_without_the_key_is_refused(tmp_path: Path, query: str) -> None:
    """Whatever the close mechanism, an unauthenticated socket never gets to talk."""
    async with running_stack(tmp_path) as stack:
        with pytest.raises((InvalidStatus, ConnectionClosed)):
            async with connect(_ws_url(stack, query)) as ws:
                await ws.send(_command(v1.StatusCommand, id="sneaky-1"))
                await ws.recv()
        assert stack.node is not None
        assert await stack.node.journal.get("sneaky-1") is None


async def test_ws_binary_frame_is_answered_with_bad_message(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, connect(_ws_url(stack)) as ws:
        await ws.send(b"\x00\x01")
        error = json.loads(await ws.recv())
        assert error["type"] == "error" and error["code"] == "bad_message"
