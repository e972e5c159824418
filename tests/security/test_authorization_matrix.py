"""Every route of the cloud and of the node, called by every kind of caller, over real HTTP
and WebSockets, against ONE table of who may call what.

The table (:data:`CLOUD`) names the least role each route needs; the routes themselves come
from the app (its OpenAPI document and its WebSocket routes), so a new route without an
entry here fails the test until someone decides who may call it.

Expected: no or a wrong credential 401 (WebSocket close 4401); a role below the route's
403 (4403); an allowed caller anything but 401/403 (the bodies sent are minimal, so 404,
409 and 422 are fine: they mean the caller got past the door).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi.routing import iter_route_contexts
from starlette.routing import WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from aigupiao.domain.users import Role
from aigupiao.store import UserRepo

from ..integration.stack import Stack, running_stack

Public = Literal["public"]  # anyone, without credentials
Session = Literal["session"]  # a logged-in person (any role); keys and tokens are not people
NodeOnly = Literal["node"]  # only a node token (the node link)
Need = Role | Public | Session | NodeOnly

PUBLIC: Public = "public"
SESSION: Session = "session"
NODE: NodeOnly = "node"

# Who may call each cloud route: the least role it needs. ("WS", path) for WebSockets.
CLOUD: dict[tuple[str, str], Need] = {
    ("GET", "/api/health"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/logout"): PUBLIC,
    ("GET", "/api/auth/me"): SESSION,
    # administration
    ("GET", "/api/admin/users"): Role.ADMIN,
    ("POST", "/api/admin/users"): Role.ADMIN,
    ("PATCH", "/api/admin/users/{username}"): Role.ADMIN,
    ("DELETE", "/api/admin/users/{username}"): Role.ADMIN,
    ("GET", "/api/admin/apikeys"): Role.ADMIN,
    ("POST", "/api/admin/apikeys"): Role.ADMIN,
    ("DELETE", "/api/admin/apikeys/{name}"): Role.ADMIN,
    ("GET", "/api/admin/settings"): Role.ADMIN,
    ("PUT", "/api/admin/settings"): Role.ADMIN,
    ("GET", "/api/admin/audit"): Role.ADMIN,
    ("GET", "/api/nodes/tokens"): Role.ADMIN,
    ("POST", "/api/nodes/tokens"): Role.ADMIN,
    ("DELETE", "/api/nodes/tokens/{name}"): Role.ADMIN,
    # trading: orders, cancels, exports, the kill switch, limits, strategies, pushes
    ("POST", "/api/cloud-local-trading/execute-trade"): Role.TRADER,
    ("POST", "/api/cloud-local-trading/agent/buy"): Role.TRADER,
    ("POST", "/api/cloud-local-trading/agent/sell"): Role.TRADER,
    ("POST", "/api/cloud-local-trading/cancel-order"): Role.TRADER,
    ("POST", "/api/cloud-local-trading/export-data"): Role.TRADER,
    ("POST", "/api/cloud-local-trading/agent/export/{data_type}"): Role.TRADER,
    ("POST", "/api/cloud-local-trading/test-connection"): Role.TRADER,
    ("GET", "/api/reconcile"): Role.TRADER,  # sends the node an export
    ("GET", "/api/exports/{command_id}/{kind}"): Role.TRADER,  # the files of an export
    ("PUT", "/api/risk/state"): Role.TRADER,
    ("PUT", "/api/risk/limits"): Role.TRADER,
    ("PUT", "/api/agent/strategies/{name}"): Role.TRADER,
    ("POST", "/api/agent/reload"): Role.TRADER,
    ("POST", "/api/market/quotes"): Role.TRADER,
    ("POST", "/api/backtests"): Role.TRADER,
    ("POST", "/api/backtests/{backtest_id}/cancel"): Role.TRADER,
    ("WS", "/api/market/ws"): Role.TRADER,
    # reads
    ("GET", "/api/cloud-local-trading/local-status"): Role.VIEWER,
    ("GET", "/api/orders"): Role.VIEWER,
    ("GET", "/api/trades"): Role.VIEWER,
    ("GET", "/api/positions"): Role.VIEWER,
    ("GET", "/api/accounts"): Role.VIEWER,
    ("GET", "/api/accounts/{account}/equity"): Role.VIEWER,
    ("GET", "/api/commands"): Role.VIEWER,
    ("GET", "/api/commands/{command_id}"): Role.VIEWER,
    ("GET", "/api/quotes"): Role.VIEWER,
    ("GET", "/api/quotes/{code}"): Role.VIEWER,
    ("GET", "/api/bars/{code}"): Role.VIEWER,
    ("GET", "/api/market/stats"): Role.VIEWER,
    ("GET", "/api/nodes"): Role.VIEWER,
    ("GET", "/api/risk/state"): Role.VIEWER,
    ("GET", "/api/risk/limits"): Role.VIEWER,
    ("GET", "/api/agent/status"): Role.VIEWER,
    ("GET", "/api/agent/strategies"): Role.VIEWER,
    ("GET", "/api/decisions"): Role.VIEWER,
    ("GET", "/api/decisions/{decision_id}"): Role.VIEWER,
    ("GET", "/api/backtests"): Role.VIEWER,
    ("GET", "/api/backtests/options"): Role.VIEWER,
    ("GET", "/api/backtests/data"): Role.VIEWER,
    ("GET", "/api/backtests/replay"): Role.VIEWER,
    ("GET", "/api/backtests/{backtest_id}"): Role.VIEWER,
    ("GET", "/api/backtests/{backtest_id}/report.html"): Role.VIEWER,
    ("WS", "/api/stream"): Role.VIEWER,
    # the node link
    ("WS", "/api/cloud-local-trading/ws"): NODE,
}

# What node tokens may read besides their link (the paper broker's quotes).
NODE_READS = {
    ("GET", "/api/quotes"),
    ("GET", "/api/quotes/{code}"),
    ("GET", "/api/bars/{code}"),
}

# Path parameters that must look right to get past validation.
PATH_VALUES = {"code": "sh600519", "backtest_id": "bt_" + "0" * 20}

# A first message each WebSocket answers once the caller is in.
WS_PROBES = {
    "/api/stream": {"op": "subscribe", "codes": ["sh600519"]},
    "/api/market/ws": {"quotes": []},
    "/api/cloud-local-trading/ws": {"type": "heartbeat", "v": 1, "ts": "2026-11-24T09:30:00Z"},
}

# Seconds a test gives every request: a refusal is immediate, an allowed call fails fast
# (no node is connected).
TIMEOUT = 30


@dataclass(frozen=True)
class Caller:
    label: str
    kind: Literal["none", "wrong", "user", "apikey", "node"]
    role: Role | None = None
    secret: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"} if self.secret else {}


def expected(need: Need, route: tuple[str, str], caller: Caller) -> int | None:
    """The refusal ``caller`` gets on ``route`` (401 or 403), or None if allowed."""
    if need == PUBLIC:
        return None
    if caller.kind in ("none", "wrong"):
        return 401
    if need == SESSION:
        return None if caller.kind == "user" else 401
    if need == NODE:
        return None if caller.kind == "node" else 401
    assert isinstance(need, Role)
    if caller.kind == "node":
        return None if route in NODE_READS else 401
    assert caller.role is not None
    return None if caller.role.includes(need) else 403


def cloud_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document and every WebSocket route."""
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    # Routers' routes sit inside included routers: walk them as FastAPI's OpenAPI does.
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, WebSocketRoute):
            routes.add(("WS", context.path))
    return routes


def concrete(app: Any, method: str, path: str) -> str:
    """``path`` with each parameter filled: the first value of an enum, else a name that
    exists nowhere (so that deletes find nothing to delete)."""
    if method == "WS":
        return path
    operation = app.openapi()["paths"][path][method.lower()]
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        name = parameter["name"]
        enum = _enum(parameter.get("schema", {}))
        value = PATH_VALUES.get(name) or (enum[0] if enum else "nobody")
        path = path.replace("{" + name + "}", str(value))
    return path


def _enum(schema: dict[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        found = _enum(option)
        if found:
            return found
    return None


async def http_outcome(client: httpx.AsyncClient, method: str, path: str, caller: Caller) -> int:
    body = {} if method in ("POST", "PUT", "PATCH") else None
    response = await client.request(method, path, json=body, headers=caller.headers)
    return response.status_code


async def ws_outcome(base: str, path: str, caller: Caller) -> int | str:
    """The close code a socket is refused with, or ``"in"`` if it answered the probe."""
    async with connect(base + path, additional_headers=caller.headers, open_timeout=10) as ws:
        try:
            await ws.send(json.dumps(WS_PROBES[path]))
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006
    return "in"


async def _callers(stack: Stack) -> list[Caller]:
    async with stack.cloud.db.session() as session:
        for name, role in (("vera", Role.VIEWER), ("tom", Role.TRADER), ("ada", Role.ADMIN)):
            await UserRepo(session).add(name, f"{name}-password", role)
        await session.commit()
    callers = [Caller("no credentials", "none"), Caller("a wrong key", "wrong", secret="agp_nope")]
    async with httpx.AsyncClient(base_url=stack.cloud_url, timeout=TIMEOUT) as client:
        for name, role in (("vera", Role.VIEWER), ("tom", Role.TRADER), ("ada", Role.ADMIN)):
            login = {"username": name, "password": f"{name}-password"}
            answer = await client.post("/api/auth/login", json=login)
            assert answer.status_code == 200, answer.text
            token = answer.json()["token"]
            callers.append(Caller(f"{role.value} session", "user", role, token))
    callers += [
        Caller("read key", "apikey", Role.VIEWER, await stack.add_api_key("ro", "read")),
        Caller("trade key", "apikey", Role.TRADER, stack.api_key),
        Caller("admin key", "apikey", Role.ADMIN, await stack.add_api_key("ops", "admin")),
        Caller("node token", "node", None, stack.node_token),
    ]
    return callers


async def test_every_cloud_route_with_every_kind_of_caller(tmp_path: Path) -> None:
    # Many wrong credentials on the node socket: keep its throttle out of the way.
    async with running_stack(
        tmp_path, with_node=False, local_trading={"auth_failures_per_minute": 10_000}
    ) as stack:
        app = stack.cloud_app
        routes = cloud_routes(app)
        assert routes - CLOUD.keys() == set(), "routes without an entry in CLOUD: decide who may"
        assert CLOUD.keys() - routes == set(), "entries in CLOUD for routes that are gone"
        callers = await _callers(stack)
        ws_base = f"ws://127.0.0.1:{stack.cloud_server.port}"
        # Logging out ends the session it is called with: last, after everything else.
        last = ("POST", "/api/auth/logout")
        limit = asyncio.Semaphore(16)

        async def check(route: tuple[str, str], caller: Caller) -> str | None:
            method, template = route
            path = concrete(app, method, template)
            async with limit:
                if method == "WS":
                    outcome: int | str = await ws_outcome(ws_base, path, caller)
                    refused = (
                        {4401: 401, 4403: 403}.get(outcome) if isinstance(outcome, int) else None
                    )
                    if isinstance(outcome, int) and refused is None:
                        return f"{method} {path} as {caller.label}: closed {outcome}"
                else:
                    outcome = await http_outcome(client, method, path, caller)
                    refused = outcome if outcome in (401, 403) else None
            want = expected(CLOUD[route], route, caller)
            if refused != want:
                shown = "allowed" if want is None else str(want)
                return f"{method} {path} as {caller.label}: {outcome}, expected {shown}"
            return None

        async with httpx.AsyncClient(base_url=stack.cloud_url, timeout=TIMEOUT) as client:
            problems = await asyncio.gather(
                *(check(route, caller) for route in sorted(CLOUD) if route != last
                  for caller in callers)
            )  # fmt: skip
            problems += [await check(last, caller) for caller in callers]
        wrong = [problem for problem in problems if problem]
        assert wrong == [], "\n".join(wrong)


# -- the node's own API ------------------------------------------------------------------

NodeNeed = Literal["public", "key", "public+key"]  # public+key: open, more with the key

NODE_ROUTES: dict[tuple[str, str], NodeNeed] = {
    ("GET", "/"): "public",
    ("GET", "/health"): "public",
    ("GET", "/status"): "public+key",  # link and broker open; the account needs the key
    ("POST", "/trade"): "key",
    ("POST", "/export"): "key",
    ("WS", "/ws"): "key",
}
ACCOUNT_PART = {"balance", "positions", "trades", "orders", "last_result"}


def node_refuses(need: NodeNeed, presented: str) -> bool:
    """Whether the node answers 401: a wrong key wherever a key is checked, no key where
    one is required."""
    if need == "public":
        return False
    if need == "public+key":
        return presented == "wrong"
    return presented != "key"


async def test_every_node_route_without_a_wrong_and_with_the_key(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        await stack.start_node(api_key="node-key")
        assert stack.node_server is not None
        app = stack.node_server.server.config.app
        routes = cloud_routes(app)
        assert routes == NODE_ROUTES.keys(), "decide who may call the node's new routes"
        keys = {"none": {}, "wrong": {"X-API-Key": "wrong"}, "key": {"X-API-Key": "node-key"}}
        ws_base = f"ws://127.0.0.1:{stack.node_server.port}"
        wrong: list[str] = []
        async with httpx.AsyncClient(base_url=stack.node_url, timeout=TIMEOUT) as client:
            for (method, path), need in NODE_ROUTES.items():
                for label, headers in keys.items():
                    if method == "WS":
                        query = f"?api_key={headers['X-API-Key']}" if headers else ""
                        heartbeat = {
                            "type": "heartbeat",
                            "v": 1,
                            "ts": datetime.now(UTC).isoformat(),
                        }
                        async with connect(ws_base + path + query) as ws:
                            try:
                                await ws.send(json.dumps(heartbeat))
                                await ws.recv()
                                status = 200
                            except ConnectionClosed as closed:
                                status = 401 if closed.rcvd and closed.rcvd.code == 4401 else 0
                    else:
                        body = {} if method == "POST" else None
                        response = await client.request(method, path, json=body, headers=headers)
                        status = response.status_code
                    refused = status == 401
                    if refused != node_refuses(need, label):
                        wrong.append(f"{method} {path} with {label}: {status}")
                    if path == "/status" and not refused:
                        shown = ACCOUNT_PART & set(response.json())
                        if (label == "key") != (shown == ACCOUNT_PART):
                            wrong.append(f"/status with {label} shows {sorted(shown)}")
        assert wrong == [], "\n".join(wrong)
