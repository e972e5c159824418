"""A hostile node, holding only its own valid token, against a running cloud and a real node.

The real node ``local-1`` trades account ``paper-1`` on the paper broker. The attacker has
a token of its own (node ``evil``, account ``acct-b``) and speaks the link protocol over a
raw WebSocket. Every forgery the review found is tried: answering another node's command,
events and snapshots for another account, registering as another node, out-of-range
numbers and deep nesting. Each is refused with its code, nothing is stored, the real node
stays online, and the trade the risk gate refused stays refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aigupiao.domain.decisions import CommandType
from aigupiao.protocol import v1
from aigupiao.store import Database, NodeTokenRepo

from ..conftest import eventually
from ..integration.stack import Stack, running_stack

WS = "/api/cloud-local-trading/ws"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC).isoformat()
# The usual test trade, 100 sh600519 (about 150,000 CNY), is 15% of the 1,000,000 paper
# account: above a 10% max_position_size, so the gate refuses it.
GATE = {"enabled": False, "max_position_size": "0.1"}
BUY = {"action": "buy", "stock_code": "600519", "quantity": 100, "price": None}


async def _evil_token(stack: Stack) -> str:
    db = Database(stack.cloud.settings.database_url)
    try:
        async with db.session() as session:
            token = await NodeTokenRepo(session).add("evil", "acct-b")
            await session.commit()
    finally:
        await db.dispose()
    return token


@asynccontextmanager
async def _socket(stack: Stack, token: str) -> AsyncIterator[ClientConnection]:
    async with connect(
        f"ws://127.0.0.1:{stack.cloud_server.port}{WS}",
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        max_size=None,
    ) as socket:
        yield socket


async def _register(socket: ClientConnection, node_id: str, account: str) -> dict[str, Any]:
    register = v1.Register(node_id=node_id, account=account, broker="paper",
                           capabilities=["buy", "sell", "cancel", "export", "status"],
                           last_seq=0)  # fmt: skip
    await socket.send(v1.dump(register))
    return json.loads(await socket.recv())  # type: ignore[no-any-return]


async def _next(socket: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of type ``kind`` (commands and heartbeats in between are skipped)."""
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]


def _order(order_id: str, account: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "account": account,
        "symbol": "sh600519",
        "side": "buy",
        "type": "limit",
        "quantity": 100_000,
        "price": "0.01",
        "status": "filled",
        "filled_quantity": 100_000,
        "filled_amount": "1000.00",
        "created_at": NOW,
        **changes,
    }


def _fill(account: str) -> dict[str, Any]:
    return {
        "id": "T-forged-1",
        "order_id": "O-forged-1",
        "account": account,
        "symbol": "sh600519",
        "side": "buy",
        "quantity": 100_000,
        "price": "0.01",
        "amount": "1000.00",
        "commission": "0",
        "stamp_duty": "0",
        "transfer_fee": "0",
        "ts": NOW,
    }


RICH = {"id": "paper-1", "cash": "999999999", "equity": "999999999", "positions": []}


async def _refused(socket: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    await socket.send(json.dumps(frame))
    return await _next(socket, "error")


async def _stored(stack: Stack) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    async with stack.client() as client:
        trades = (await client.get("/api/trades", params={"account": "paper-1"})).json()
        orders = (await client.get("/api/orders", params={"account": "paper-1"})).json()
    return trades, orders


async def test_a_token_registers_only_as_its_own_node(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        token = await _evil_token(stack)
        real = stack.cloud.hub.links["local-1"]
        async with _socket(stack, token) as socket:
            # As the real node (whose account it does not even claim): refused, 4403.
            error = await _register(socket, "local-1", "acct-b")
            assert (error["type"], error["code"]) == ("error", "node_mismatch")
            with pytest.raises(ConnectionClosed) as closed:
                await socket.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        async with _socket(stack, token) as socket:
            error = await _register(socket, "local-1", "paper-1")
            assert error["code"] == "account_mismatch"
        # The real node was never kicked off, and it still gets the default-routed trades.
        assert stack.cloud.hub.links["local-1"] is real
        async with stack.client() as client:
            response = await client.post(
                "/api/cloud-local-trading/execute-trade", json={**BUY, "account": "paper-1"}
            )
        assert response.json()["node_id"] == "local-1"


async def test_a_hostile_node_cannot_answer_another_nodes_command(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        await stack.start_node(latency=1.5)  # the real node answers trades after 1.5 s
        await stack.wait_online()
        token = await _evil_token(stack)
        async with _socket(stack, token) as socket:
            assert (await _register(socket, "evil", "acct-b"))["type"] == "register_ack"
            caller = asyncio.create_task(
                stack.cloud.commands.submit(
                    CommandType.TRADE,
                    {"action": "buy", "stock_code": "sh600519", "quantity": 100, "price": None},
                    node_id="local-1",
                )
            )
            command_id = await eventually(
                lambda: next(iter(stack.cloud.commands._waiters), None), timeout=5
            )
            # A forged answer, with the attacker's own account: not its command.
            forged = {
                "type": "response", "v": 1, "command_id": command_id, "seq": 1,
                "status": "done",
                "result": {"kind": "trade", "order": _order("O-1", "acct-b"), "trades": []},
            }  # fmt: skip
            error = await _refused(socket, forged)
            assert (error["code"], error["command_id"]) == ("not_yours", command_id)
            # Naming the real account does not help either.
            forged["result"]["order"] = _order("O-1", "paper-1")  # type: ignore[index]
            assert (await _refused(socket, forged))["code"] == "not_yours"
            # An ack of someone else's command is refused as well.
            await socket.send(v1.dump(v1.Ack(command_id=command_id)))
            assert (await _next(socket, "error"))["code"] == "not_yours"
            outcome = await asyncio.wait_for(caller, 15)
        # The caller got the real node's answer, not the forgery.
        assert outcome.command["status"] == "done"
        assert outcome.command["result"]["order"]["account"] == "paper-1"
        assert outcome.command["result"]["order"]["quantity"] == 100
        assert stack.cloud.stats.refused_not_yours == 3
        trades, _ = await _stored(stack)
        assert all(t["quantity"] == 100 for t in trades)


async def test_a_forged_export_answer_never_reaches_the_http_caller(tmp_path: Path) -> None:
    """The finding as found: a node answered another node's pending ``export`` and the
    HTTP caller got the forgery. Here the real node is a raw socket that answers only when
    told to, so the forgery surely comes first."""
    async with running_stack(tmp_path, with_node=False) as stack, stack.client() as client:
        evil_token = await _evil_token(stack)
        async with _socket(stack, stack.node_token) as real, _socket(stack, evil_token) as evil:
            assert (await _register(real, "local-1", "paper-1"))["type"] == "register_ack"
            assert (await _register(evil, "evil", "acct-b"))["type"] == "register_ack"
            caller = asyncio.create_task(
                client.post(
                    "/api/cloud-local-trading/export-data",
                    json={"data_type": "positions", "node_id": "local-1"},
                )
            )
            command = await _next(real, "export")
            forged = {
                "type": "response", "v": 1, "command_id": command["id"], "seq": 1,
                "status": "done",
                "result": {"kind": "export", "data_type": "positions",
                           "account": {**RICH, "id": "acct-b"}},
            }  # fmt: skip
            assert (await _refused(evil, forged))["code"] == "not_yours"
            assert not caller.done()
            stored = await stack.cloud.commands.get(command["id"])
            assert stored is not None and stored["status"] in ("sent", "acked")
            genuine = {
                "type": "response", "v": 1, "command_id": command["id"], "seq": 1,
                "status": "done",
                "result": {"kind": "export", "data_type": "positions",
                           "account": {"id": "paper-1", "cash": "1000000.00"}},
            }  # fmt: skip
            await real.send(json.dumps(genuine))
            answer = (await asyncio.wait_for(caller, 10)).json()
        assert answer["status"] == "done"
        assert answer["result"]["account"]["id"] == "paper-1"
        assert answer["result"]["account"]["cash"] == "1000000.00"


async def test_events_and_snapshots_for_another_account_are_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aigupiao.cloud.services.commands")
    async with running_stack(tmp_path, agent=GATE) as stack:
        async with stack.client() as client:
            # The gate refuses this buy on the real account (15% > 10%).
            refused = await client.post("/api/cloud-local-trading/execute-trade", json=BUY)
            assert refused.status_code == 422, refused.text
            assert refused.json()["detail"]["code"] == "max_position_size"
            # A real order to try to rewrite: a limit buy far below the market rests.
            resting = await client.post(
                "/api/cloud-local-trading/execute-trade",
                json={**BUY, "quantity": 100, "stock_code": "600000", "price": "9.00"},
            )
        assert resting.status_code == 200, resting.text
        real_order = resting.json()["result"]["order"]
        trades_before, orders_before = await _stored(stack)
        ledger_before = stack.cloud.ledger.get("paper-1")

        token = await _evil_token(stack)
        async with _socket(stack, token) as socket:
            assert (await _register(socket, "evil", "acct-b"))["type"] == "register_ack"
            forgeries = [
                {"kind": "trade", "data": _fill("paper-1")},
                {"kind": "order_update",
                 "data": {**_order(real_order["id"], "paper-1"), "status": "cancelled",
                          "filled_quantity": 0, "filled_amount": "0"}},
                {"kind": "account", "data": RICH},
            ]  # fmt: skip
            for seq, forgery in enumerate(forgeries, start=1):
                error = await _refused(socket, {"type": "event", "v": 1, "seq": seq, **forgery})
                assert error["code"] == "not_yours", forgery["kind"]
            # A response of its own (a command it ran itself) naming the real account.
            own = {
                "type": "response", "v": 1, "command_id": "evil-own-1", "seq": 9,
                "status": "done",
                "result": {"kind": "trade", "order": _order("O-2", "paper-1"),
                           "trades": [_fill("paper-1")], "account": RICH},
            }  # fmt: skip
            assert (await _refused(socket, own))["code"] == "not_yours"
            # Its own account's order with the real order's id lands in its own account.
            mine = {"type": "event", "v": 1, "seq": 10, "kind": "order_update",
                    "data": _order(real_order["id"], "acct-b", status="cancelled",
                                   filled_quantity=0, filled_amount="0")}  # fmt: skip
            await socket.send(json.dumps(mine))
            assert (await _next(socket, "received"))["seq"] == 10

        # Nothing of it was stored for paper-1, and the risk gate still sees the truth.
        assert await _stored(stack) == (trades_before, orders_before)
        assert stack.cloud.ledger.get("paper-1") == ledger_before
        async with stack.client() as client:
            again = await client.post("/api/cloud-local-trading/execute-trade", json=BUY)
            assert (
                again.status_code == 422 and again.json()["detail"]["code"] == "max_position_size"
            )
            theirs = (await client.get("/api/orders", params={"account": "acct-b"})).json()
            assert [(o["id"], o["status"]) for o in theirs] == [(real_order["id"], "cancelled")]
            health = (await client.get("/api/health")).json()
        assert health["stats"]["node_messages_refused"] == 4
        assert "local-1" in stack.cloud.hub.links
        # Counted every time, logged once.
        logged = [r for r in caplog.records if "not_yours" in r.getMessage()]
        assert len(logged) == 1 and "evil" in logged[0].getMessage()


async def test_bad_numbers_and_deep_nesting_kill_nothing(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        token = await _evil_token(stack)
        async with _socket(stack, token) as socket:
            assert (await _register(socket, "evil", "acct-b"))["type"] == "register_ack"
            frames = [
                ('{"type": "event", "v": 1, "seq": ' + str(10**30) + ', "kind": "account", '
                 '"data": {"id": "acct-b", "cash": "1"}}', "invalid_message"),
                ('{"type": "event", "v": 1, "seq": 1, "kind": "account", '
                 '"data": {"id": "acct-b", "cash": "1e30"}}', "invalid_message"),
                ('{"type": "event", "v": 1, "seq": 1, "kind": "trade", "data": '
                 + json.dumps({**_fill("acct-b"), "quantity": 10**30}) + "}", "invalid_message"),
                ('{"type": "response", "v": 1, "command_id": "x", "seq": 1, "status": "done", '
                 '"result": {"kind": "trade", "order": {"id": "o"}}}', "invalid_message"),
                ('{"type": "event", "v": 1, "seq": 1, "kind": "trade", "data": '
                 + "[" * 50_000 + "]" * 50_000 + "}", "invalid_json"),
            ]  # fmt: skip
            for frame, code in frames:
                await socket.send(frame)
                assert (await _next(socket, "error"))["code"] == code, frame[:80]
            # Still up: a heartbeat is answered.
            await socket.send(v1.dump(v1.Heartbeat(ts=datetime.now(UTC))))
            assert (await _next(socket, "heartbeat"))["type"] == "heartbeat"
        await stack.cloud.results.flush()
        health = stack.cloud.tasks.health()
        assert health["snapshot-writer"] == "running" and health["quote-store"] == "running"
        async with stack.client() as client:
            assert (await client.get("/api/positions")).status_code == 200
        assert "local-1" in stack.cloud.hub.links
        assert Decimal(0) == Decimal(stack.cloud.stats.refused_not_yours)
