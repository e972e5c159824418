"""The trust boundary of the REST APIs: every number has a range, every name a charset,
and a body nested too deep is malformed JSON, on the cloud and on the node.

Each case used to be a 500 (``1e308`` overflowing ``Decimal.quantize``, a year-1 time
overflowing its conversion to UTC, a RecursionError in the JSON parser) or was taken
as something it is not (``"100"`` and ``true`` as quantities, U+202E in an id).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from aigupiao.domain.users import Role
from aigupiao.store import Database, UserRepo

from .stack import Stack, running_stack

EXECUTE = "/api/cloud-local-trading/execute-trade"
BUY = {"action": "buy", "stock_code": "600519", "quantity": 100, "price": None}
NODE_KEY = {"X-API-Key": "node-key"}
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "exe.txt" reads as "txt.exe"


def _refused(response: httpx.Response, field: str) -> None:
    """A 422 that names ``field`` (the cloud's and the node's error shape)."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["code"] == "invalid_request", detail
    assert field in detail["message"] and field in detail["message_en"], detail


def _raw(body: str) -> dict[str, Any]:
    """Keyword arguments posting ``body`` verbatim as JSON (``1e400`` is no Python float)."""
    return {"content": body.encode(), "headers": {"content-type": "application/json"}}


def _with(body: dict[str, Any], **raw_values: str) -> str:
    """``body`` as JSON text with ``raw_values`` written verbatim (``1e400`` as is)."""
    text = json.dumps({**body, **dict.fromkeys(raw_values, "@")})
    for name, value in raw_values.items():
        text = text.replace(f'"{name}": "@"', f'"{name}": {value}')
    return text


async def _no_trades(stack: Stack) -> None:
    async with stack.client() as client:
        assert (await client.get("/api/trades")).json() == []
        commands = (await client.get("/api/commands")).json()
        assert {c["type"] for c in commands} <= {"status"}  # only the link's own polls


async def test_cloud_trades_take_only_bounded_numbers_and_clean_ids(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        agent_buy = {key: value for key, value in BUY.items() if key != "action"}
        for path, body in ((EXECUTE, BUY), ("/api/cloud-local-trading/agent/buy", agent_buy)):
            _refused(await client.post(path, json={**body, "price": 1e308}), "price")
            _refused(await client.post(path, **_raw(_with(body, price="1e400"))), "price")
            _refused(await client.post(path, **_raw(_with(body, price='"1e400"'))), "price")
        _refused(await client.post(EXECUTE, json={**BUY, "price": "NaN"}), "price")
        _refused(await client.post(EXECUTE, json={**BUY, "price": "-1"}), "price")
        _refused(await client.post(EXECUTE, json={**BUY, "price": "1466.0000001"}), "price")
        _refused(await client.post(EXECUTE, json={**BUY, "quantity": "100"}), "quantity")
        _refused(await client.post(EXECUTE, json={**BUY, "quantity": True}), "quantity")
        _refused(await client.post(EXECUTE, json={**BUY, "quantity": 100.0}), "quantity")
        _refused(await client.post(EXECUTE, json={**BUY, "quantity": 10**30}), "quantity")
        _refused(await client.post(EXECUTE, json={**BUY, "stock_code": "6005" + RLO}), "stock_code")
        bidi = {**BUY, "client_order_id": f"order-1{RLO}gpj.exe"}
        _refused(await client.post(EXECUTE, json=bidi), "client_order_id")
        _refused(await client.post(EXECUTE, json={**BUY, "agent_id": "a\nb"}), "agent_id")
        _refused(await client.post(EXECUTE, json={**BUY, "account": "x" * 65}), "account")
        cancel = {"order_id": f"P-1{RLO}", "account": "paper-1"}
        _refused(
            await client.post("/api/cloud-local-trading/cancel-order", json=cancel), "order_id"
        )
        await _no_trades(stack)


async def test_cloud_queries_and_other_bodies_are_bounded(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        _refused(await client.get("/api/reconcile?cost_tolerance=1e308"), "cost_tolerance")
        _refused(await client.get("/api/reconcile?cost_tolerance=-1"), "cost_tolerance")
        _refused(await client.get("/api/reconcile", params={"account": f"a{RLO}"}), "account")
        halt = {"state": "halted", "account": f"paper-1{RLO}"}
        _refused(await client.put("/api/risk/state", json=halt), "account")
        _refused(await client.put("/api/risk/state", json={"state": "halted", "reason": "\x1b[2J"}),
                 "reason")  # fmt: skip
        _refused(await client.get("/api/risk/state", params={"account": "a b"}), "account")
        _refused(await client.get("/api/risk/limits", params={"account": RLO}), "account")
        for path, name in (("/api/decisions", "since"), ("/api/decisions", "until")):
            _refused(await client.get(path, params={name: "0001-01-01T00:00:00"}), name)
        equity = "/api/accounts/paper-1/equity"
        _refused(await client.get(equity, params={"end": "9999-12-31T23:59:59"}), "end")
        bars = await client.get("/api/bars/sh600519", params={"end": "9999-12-31"})
        assert bars.status_code == 422 and bars.json()["detail"]["code"] == "invalid_range"
        _refused(await client.get("/api/trades", params={"code": f"600519{RLO}"}), "code")
        _refused(await client.get("/api/quotes", params={"offset": 10**30}), "offset")
        # The state did not change.
        assert (await client.get("/api/risk/state")).json()["global"]["state"] == "active"


async def test_node_trades_take_only_bounded_numbers(tmp_path: Path) -> None:
    body = {"action": "buy", "stock_code": "sh600519", "quantity": 100, "price": None}
    async with (
        running_stack(tmp_path) as stack,
        httpx.AsyncClient(base_url=stack.node_url, headers=NODE_KEY) as node,
    ):
        _refused(await node.post("/trade", **_raw(_with(body, price='"1e400"'))), "price")
        _refused(await node.post("/trade", **_raw(_with(body, price="1e400"))), "price")
        _refused(await node.post("/trade", json={**body, "price": 1e308}), "price")
        _refused(await node.post("/trade", json={**body, "quantity": "100"}), "quantity")
        _refused(await node.post("/trade", json={**body, "quantity": True}), "quantity")
        _refused(await node.post("/trade", json={**body, "client_order_id": f"a{RLO}"}),
                 "client_order_id")  # fmt: skip
        assert await stack.node.broker.get_trades() == []  # type: ignore[union-attr]


async def test_deep_json_is_malformed_over_http_and_sockets_stay_open(tmp_path: Path) -> None:
    deep = "[" * 20_000 + "]" * 20_000  # RecursionError in json.loads; under the body caps
    too_deep = json.dumps({**BUY, "agent_id": None, "extra": [[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]})
    too_deep = too_deep.replace("[0]", "[" * 20 + "0" + "]" * 20)  # 36 levels: parses fine
    async with running_stack(tmp_path) as stack, stack.client() as client:
        for path in ("/api/market/quotes", EXECUTE, "/api/risk/limits", "/api/admin/settings"):
            for body in (deep, too_deep):
                answer = await (
                    client.put(path, **_raw(body))
                    if path.endswith(("limits", "settings"))
                    else client.post(path, **_raw(body))
                )
                assert answer.status_code == 400, (path, answer.text)
                assert answer.json()["detail"]["code"] == "malformed_json"
        async with httpx.AsyncClient(base_url=stack.node_url, headers=NODE_KEY) as node:
            answer = await node.post("/trade", **_raw(deep))
            assert answer.status_code == 400, answer.text
            assert answer.json()["detail"]["code"] == "malformed_json"

        market = f"ws://127.0.0.1:{stack.cloud_server.port}/api/market/ws?api_key={stack.api_key}"
        async with connect(market) as socket:
            await socket.send(deep)
            error = json.loads(await socket.recv())
            assert error["type"] == "error" and error["code"] == "invalid_json"
            await socket.send(json.dumps({"id": 7, "quotes": []}))
            assert json.loads(await socket.recv())["id"] == 7  # still open
        assert stack.node_server is not None
        async with connect(f"ws://127.0.0.1:{stack.node_server.port}/ws?api_key=node-key") as ws:
            await ws.send(deep)
            error = json.loads(await ws.recv())
            assert error["type"] == "error" and error["code"] == "invalid_json"
            await ws.send(json.dumps({"type": "heartbeat", "v": 1, "ts": "2026-11-24T01:30:00Z"}))
            assert json.loads(await ws.recv())["type"] == "heartbeat"  # still open
        health = (await client.get("/api/health")).json()
        assert health["status"] == "ok", health


async def test_settings_refuse_null_values_and_unprintable_keys(tmp_path: Path) -> None:
    # Found by tests/security/test_fuzz_api.py: a null value hit the NOT NULL column (500).
    async with running_stack(tmp_path) as stack:
        db = Database(stack.cloud.settings.database_url)
        try:
            async with db.session() as session:
                await UserRepo(session).add("root", "root-password", Role.ADMIN)
                await session.commit()
        finally:
            await db.dispose()
        async with httpx.AsyncClient(base_url=stack.cloud_url) as client:
            login = {"username": "root", "password": "root-password"}
            token = (await client.post("/api/auth/login", json=login)).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            for body in ({"dashboard.theme": None}, {f"dash{RLO}board": 1}, {"a\x00b": 1}):
                answer = await client.put("/api/admin/settings", json=body)
                assert answer.status_code == 422, answer.text
                assert answer.json()["detail"]["message_en"].startswith(("setting", "invalid"))
            stored = await client.put("/api/admin/settings", json={"dashboard.theme": "dark"})
            assert stored.status_code == 200 and stored.json()["dashboard.theme"] == "dark"
