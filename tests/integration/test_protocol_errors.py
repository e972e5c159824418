"""Bad frames on the node socket: a clear error, the socket stays up, nothing runs, one log line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aigupiao.protocol import v1

from ..conftest import eventually
from .stack import Stack, running_stack

WS = "/api/cloud-local-trading/ws"


async def _registered(stack: Stack) -> ClientConnection:
    socket = await connect(
        f"ws://127.0.0.1:{stack.cloud_server.port}{WS}",
        additional_headers={"Authorization": f"Bearer {stack.node_token}"},
        compression=None,
        max_size=None,
    )
    register = v1.Register(node_id="local-1", account="paper-1", broker="paper",
                           capabilities=["buy"], last_seq=0)  # fmt: skip
    await socket.send(register.model_dump_json())
    assert isinstance(v1.parse_from_cloud(await socket.recv()), v1.RegisterAck)
    return socket


async def _next_error(socket: ClientConnection) -> dict[str, object]:
    while True:
        message = json.loads(await socket.recv())
        if message["type"] == "error":
            return message  # type: ignore[no-any-return]


BAD_FRAMES = [
    ("{not json", "invalid_json"),
    ("[1, 2]", "invalid_message"),
    ('{"type": "ack", "v": 2, "command_id": "x"}', "unsupported_version"),
    ('{"type": "launch_missiles", "v": 1}', "unknown_type"),
    ('{"type": "ack", "v": 1}', "invalid_message"),
    ('{"type": "response", "v": 1, "command_id": "c9", "seq": 0, "status": "done"}',
     "invalid_message"),
    ('{"type": "response", "v": 1, "command_id": "c9", "seq": 1, "status": "maybe"}',
     "invalid_message"),
    # Deep nesting once exhausted the recursion of the error path and dropped the socket.
    ('{"type": "event", "v": 1, "seq": 1, "kind": "trade", "data": ' + "[" * 100_000
     + "]" * 100_000 + "}", "invalid_json"),
    ("[" * 200_000, "invalid_json"),
    # Out-of-range numbers once killed the snapshot writer (seq 10**30: OverflowError).
    ('{"type": "event", "v": 1, "seq": ' + str(10**30) + ', "kind": "account", '
     '"data": {"id": "paper-1", "cash": "1"}}', "invalid_message"),
    ('{"type": "event", "v": 1, "seq": 1, "kind": "account", '
     '"data": {"id": "paper-1", "cash": "1e400"}}', "invalid_message"),
    ('{"type": "event", "v": 1, "seq": 1, "kind": "trade", "data": {"id": "t"}}',
     "invalid_message"),
    # A response's result is typed: a missing field or a bad decimal is refused here,
    # never a KeyError or InvalidOperation inside the cloud.
    ('{"type": "response", "v": 1, "command_id": "c9", "seq": 1, "status": "done", '
     '"result": {"kind": "trade", "order": {"id": "o"}}}', "invalid_message"),
    ('{"type": "response", "v": 1, "command_id": "c9", "seq": 1, "status": "done", '
     '"result": {"kind": "cancel", "order": {"price": "abc"}}}', "invalid_message"),
    ('{"type": "register", "v": 1, "node_id": "local-1", "account": "paper-1", '
     '"broker": "paper", "capabilities": [], "last_seq": ' + str(2**64) + "}",
     "invalid_message"),
]  # fmt: skip


async def test_each_bad_frame_gets_an_error_and_the_socket_stays_healthy(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        socket = await _registered(stack)
        try:
            for frame, code in BAD_FRAMES:
                await socket.send(frame)
                error = await _next_error(socket)
                assert error["code"] == code, (frame, error)
                assert error["message"]
            await socket.send(b"\x00\x01binary")
            assert (await _next_error(socket))["code"] == "invalid_json"
            # Still healthy: a heartbeat is answered and the node is still listed.
            heartbeat = v1.Heartbeat(ts="2026-11-24T10:00:00+08:00")  # type: ignore[arg-type]
            await socket.send(heartbeat.model_dump_json())
            assert json.loads(await socket.recv())["type"] == "heartbeat"
            assert "local-1" in stack.cloud.hub.links
            async with stack.client() as client:
                assert (await client.get("/api/trades")).json() == []
        finally:
            await socket.close()


async def test_the_error_names_the_command_it_refers_to(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        socket = await _registered(stack)
        try:
            await socket.send('{"type": "response", "v": 1, "command_id": "c42", "seq": -1}')
            error = await _next_error(socket)
            assert error["command_id"] == "c42" and error["code"] == "invalid_message"
        finally:
            await socket.close()


async def test_a_flood_of_bad_frames_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        socket = await _registered(stack)
        try:
            with caplog.at_level(logging.WARNING, logger="aigupiao.cloud.hub"):
                for _ in range(50):
                    await socket.send("{not json")
                    await _next_error(socket)
            lines = [r for r in caplog.records if "bad frame" in r.getMessage()]
            assert len(lines) == 1
        finally:
            await socket.close()


async def test_an_oversized_frame_closes_with_1009(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        socket = await _registered(stack)
        try:
            await socket.send("x" * (v1.MAX_FRAME_BYTES + 1))
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await socket.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009
        finally:
            await socket.close()
        await eventually(lambda: "local-1" not in stack.cloud.hub.links)


async def test_a_first_frame_that_is_not_register_is_refused(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        async with connect(
            f"ws://127.0.0.1:{stack.cloud_server.port}{WS}",
            additional_headers={"Authorization": f"Bearer {stack.node_token}"},
        ) as socket:
            await socket.send('{"type": "ack", "v": 1, "command_id": "x"}')
            error = json.loads(await socket.recv())
            assert error["type"] == "error" and error["code"] == "register_first"
            with pytest.raises(ConnectionClosed):
                await socket.recv()
