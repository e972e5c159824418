"""Poison commands: a command the node never acks is re-sent ``retry_attempts`` times, then
given up as ``unknown`` (``undelivered``); an acked one is re-sent on every reconnect.

The node is hand-written on a real WebSocket against a real cloud, so it can receive a
command and, like a node that crashes on it, never ack it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from aigupiao.domain.account import Account
from aigupiao.protocol import v1

from ..conftest import eventually
from .stack import Stack, running_stack

WS = "/api/cloud-local-trading/ws"
TRADE = {"action": "buy", "stock_code": "600519", "quantity": 100}

T = TypeVar("T")


@contextlib.asynccontextmanager
async def _node(stack: Stack) -> AsyncIterator[ClientConnection]:
    """One connection of node ``local-1``, registered; the cloud sees it offline afterwards."""
    url = f"ws://127.0.0.1:{stack.cloud_server.port}{WS}"
    headers = {"Authorization": f"Bearer {stack.node_token}"}
    async with connect(url, additional_headers=headers, compression=None) as socket:
        register = v1.Register(
            node_id="local-1",
            account="paper-1",
            broker="paper",
            capabilities=["buy", "sell", "cancel", "export", "status"],
            last_seq=0,
        )
        await socket.send(v1.dump(register))
        assert isinstance(v1.parse_from_cloud(await socket.recv()), v1.RegisterAck)
        yield socket
    await eventually(lambda: "local-1" not in stack.cloud.hub.links)


async def _commands_until_the_new_status(
    socket: ClientConnection, seen: set[str]
) -> list[v1.Command]:
    """The commands of one (re)connect: the re-sends, up to the status command the cloud
    sends last on every register (the first one whose id is not in ``seen``)."""
    received: list[v1.Command] = []

    async def read() -> None:
        while True:
            message = v1.parse_from_cloud(await socket.recv())
            if isinstance(message, v1.Command):
                received.append(message)
                fresh = message.id not in seen
                seen.add(message.id)
                if isinstance(message, v1.StatusCommand) and fresh:
                    return

    await asyncio.wait_for(read(), 10)
    return received


def _trade_ids(received: list[v1.Command]) -> list[str]:
    return [c.id for c in received if isinstance(c, v1.TradeCommand)]


async def _next(socket: ClientConnection, kind: type[T]) -> T:
    """The next message of type ``kind`` from the cloud (others are skipped)."""

    async def read() -> T:
        while True:
            message = v1.parse_from_cloud(await socket.recv())
            if isinstance(message, kind):
                return message

    return await asyncio.wait_for(read(), 10)


async def _row(stack: Stack, command_id: str) -> dict[str, Any]:
    row = await stack.cloud.commands.get(command_id)
    assert row is not None
    return row


@contextlib.asynccontextmanager
async def _trade_call(
    stack: Stack, client: httpx.AsyncClient
) -> AsyncIterator[asyncio.Task[httpx.Response]]:
    """An execute-trade call, waiting for its command's answer; cancelled if left over."""
    # The hand-written node never reports its account, which the risk gate needs.
    stack.cloud.ledger.update(Account(id="paper-1", cash=Decimal(1_000_000)))
    call = asyncio.create_task(
        client.post("/api/cloud-local-trading/execute-trade", json=TRADE), name="execute-trade"
    )
    try:
        yield call
    finally:
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call


@pytest.mark.parametrize("retry_attempts", [0, 2])
async def test_a_command_never_acked_is_given_up_after_its_re_sends(
    tmp_path: Path, retry_attempts: int
) -> None:
    overrides = {"retry_attempts": retry_attempts, "api_timeout": 30}
    async with (
        running_stack(tmp_path, with_node=False, local_trading=overrides) as stack,
        stack.client() as client,
        contextlib.AsyncExitStack() as calls,
    ):
        seen: set[str] = set()
        async with _node(stack) as socket:
            await _commands_until_the_new_status(socket, seen)
            call = await calls.enter_async_context(_trade_call(stack, client))
            command = await _next(socket, v1.TradeCommand)
            seen.add(command.id)  # and never acked: the node "crashes" on it
        deliveries = 1
        for _ in range(retry_attempts):
            async with _node(stack) as socket:
                received = await _commands_until_the_new_status(socket, seen)
            assert _trade_ids(received) == [command.id]
            deliveries += 1
            assert (await _row(stack, command.id))["status"] == "sent"
        assert (await _row(stack, command.id))["attempts"] == deliveries == 1 + retry_attempts
        assert not call.done()

        # One more reconnect: it is not sent again but given up, and the caller is told.
        async with _node(stack) as socket:
            received = await _commands_until_the_new_status(socket, seen)
            assert _trade_ids(received) == []
            response = await asyncio.wait_for(call, 10)
            assert response.status_code == 200
            answer = response.json()
            assert (answer["command_id"], answer["status"]) == (command.id, "unknown")
            assert answer["success"] is False
            result = answer["result"]
            assert result["code"] == "undelivered"
            assert f"{deliveries} 次" in result["message"]
            assert f"sent {deliveries} times" in result["message_en"]
        row = await _row(stack, command.id)
        assert (row["status"], row["attempts"]) == ("unknown", deliveries)

        # Later reconnects leave it alone; a late answer from the node still resolves it.
        async with _node(stack) as socket:
            received = await _commands_until_the_new_status(socket, seen)
            assert _trade_ids(received) == []
            late = v1.Response.model_validate(
                {
                    "command_id": command.id,
                    "seq": 1,
                    "status": "done",
                    "result": {"kind": "error", "code": "late", "message": "迟到 (late)"},
                }
            )
            await socket.send(v1.dump(late))
            assert (await _next(socket, v1.Received)).seq == 1
        row = await _row(stack, command.id)
        assert (row["status"], row["result"]["code"]) == ("done", "late")


async def test_an_acked_command_is_re_sent_on_every_reconnect(tmp_path: Path) -> None:
    overrides = {"retry_attempts": 0, "api_timeout": 30}
    async with (
        running_stack(tmp_path, with_node=False, local_trading=overrides) as stack,
        stack.client() as client,
        contextlib.AsyncExitStack() as calls,
    ):
        seen: set[str] = set()
        async with _node(stack) as socket:
            await _commands_until_the_new_status(socket, seen)
            call = await calls.enter_async_context(_trade_call(stack, client))
            command = await _next(socket, v1.TradeCommand)
            seen.add(command.id)
            await socket.send(v1.dump(v1.Ack(command_id=command.id)))

            async def acked() -> bool:
                return bool((await _row(stack, command.id))["status"] == "acked")

            await eventually(acked)
        # Journaled by the node: re-sent every time, however often, until it is answered.
        for _ in range(3):
            async with _node(stack) as socket:
                received = await _commands_until_the_new_status(socket, seen)
            assert _trade_ids(received) == [command.id]
            assert (await _row(stack, command.id))["status"] == "acked"
        assert not call.done()
        async with _node(stack) as socket:
            await _commands_until_the_new_status(socket, seen)
            answer = v1.Response(command_id=command.id, seq=1, status="done")
            await socket.send(v1.dump(answer))
            response = await asyncio.wait_for(call, 10)
        assert response.json()["status"] == "done"
        assert (await _row(stack, command.id))["attempts"] == 1
