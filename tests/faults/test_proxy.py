"""LinkProxy against a real websockets echo server and client, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosedError, InvalidMessage

from ..conftest import eventually
from .proxy import LinkProxy, ProxyError


@dataclass
class Echo:
    """Echoes every message back; ``{"fragment": true}`` messages come back in two frames."""

    port: int = 0
    received: list[Any] = field(default_factory=list)
    dropped: int = 0  # connections that ended without a close frame

    async def handler(self, ws: ServerConnection) -> None:
        try:
            async for raw in ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = raw
                self.received.append(message)
                if isinstance(message, dict) and message.get("fragment"):
                    assert isinstance(raw, str)
                    await ws.send([raw[:7], raw[7:]])
                else:
                    await ws.send(raw)
        except ConnectionClosedError:
            self.dropped += 1


@pytest.fixture
async def echo() -> AsyncIterator[Echo]:
    state = Echo()
    async with serve(state.handler, "127.0.0.1", 0, compression=None) as server:
        state.port = server.sockets[0].getsockname()[1]
        yield state


@pytest.fixture
async def proxy(echo: Echo) -> AsyncIterator[LinkProxy]:
    proxy = await LinkProxy.start("127.0.0.1", echo.port)
    yield proxy
    await proxy.close()


def client(proxy: LinkProxy) -> connect:
    return connect(f"ws://127.0.0.1:{proxy.port}", compression=None, open_timeout=5)


async def send(ws: ClientConnection, **message: Any) -> None:
    await ws.send(json.dumps(message))


async def recv(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def assert_dropped(ws: ClientConnection) -> None:
    with pytest.raises(ConnectionClosedError) as info:
        await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is None  # no close frame: the TCP connection just went away


def is_type(kind: str) -> Any:
    return lambda m: m.get("type") == kind


async def test_forwards_everything_both_ways(echo: Echo, proxy: LinkProxy) -> None:
    medium, large = "m" * 1_000, "L" * 200_000  # 16-bit and 64-bit payload lengths
    async with client(proxy) as ws:
        assert proxy.connections == 1
        for message in ({"type": "trade"}, {"type": "ack", "pad": medium}, {"pad": large}):
            await ws.send(json.dumps(message))
            assert await recv(ws) == message
        await ws.send(['{"type": "fragm', 'ented", "fragment"', ": true}"])  # fragmented up
        assert await recv(ws) == {"type": "fragmented", "fragment": True}  # fragmented down
        await ws.send("not json")
        assert await asyncio.wait_for(ws.recv(), 5) == "not json"
        await ws.send(b"\x00\xff")
        assert await asyncio.wait_for(ws.recv(), 5) == b"\x00\xff"
        await asyncio.wait_for(await ws.ping(), 5)  # control frames pass through
    await eventually(lambda: proxy.connections == 0)
    assert echo.dropped == 0
    seen = [(d, m.get("type"), len(m.get("pad", ""))) for d, m in proxy.log]
    assert seen == [
        ("up", "trade", 0),
        ("down", "trade", 0),
        ("up", "ack", 1_000),
        ("down", "ack", 1_000),
        ("up", None, 200_000),
        ("down", None, 200_000),
        ("up", "fragmented", 0),
        ("down", "fragmented", 0),
    ]


@pytest.mark.parametrize("direction", ["up", "down"])
async def test_drop_connection_before(echo: Echo, proxy: LinkProxy, direction: str) -> None:
    rule = proxy.add_rule(direction, is_type("trade"), "drop_connection_before")
    async with client(proxy) as ws:
        await send(ws, type="register")
        assert await recv(ws) == {"type": "register"}
        await send(ws, type="trade")
        await assert_dropped(ws)
    expected = [{"type": "register"}] + ([{"type": "trade"}] if direction == "down" else [])
    assert echo.received == expected
    await eventually(lambda: echo.dropped == 1 and proxy.connections == 0)
    assert rule.fired == 1 and rule.done.is_set()


@pytest.mark.parametrize("direction", ["up", "down"])
async def test_drop_connection_after(echo: Echo, proxy: LinkProxy, direction: str) -> None:
    rule = proxy.add_rule(direction, is_type("trade"), "drop_connection_after")
    async with client(proxy) as ws:
        await send(ws, type="trade")
        if direction == "down":
            assert await recv(ws) == {"type": "trade"}
        await assert_dropped(ws)
    assert echo.received == [{"type": "trade"}]
    await eventually(lambda: echo.dropped == 1 and proxy.connections == 0)
    assert rule.fired == 1 and rule.done.is_set()


@pytest.mark.parametrize("direction", ["up", "down"])
async def test_discard(echo: Echo, proxy: LinkProxy, direction: str) -> None:
    rule = proxy.add_rule(direction, is_type("trade"), "discard")
    async with client(proxy) as ws:
        await send(ws, type="trade")
        await send(ws, type="heartbeat")
        assert await recv(ws) == {"type": "heartbeat"}
        assert proxy.connections == 1
    trade = [{"type": "trade"}] if direction == "down" else []
    assert echo.received == [*trade, {"type": "heartbeat"}]
    assert echo.dropped == 0
    assert rule.fired == 1 and rule.done.is_set()


@pytest.mark.parametrize("direction", ["up", "down"])
async def test_duplicate(echo: Echo, proxy: LinkProxy, direction: str) -> None:
    rule = proxy.add_rule(direction, is_type("trade"), "duplicate")
    async with client(proxy) as ws:
        await send(ws, type="trade", fragment=True)  # fragmented on the way down
        await send(ws, type="heartbeat")
        got = [await recv(ws) for _ in range(3)]
    trade = {"type": "trade", "fragment": True}
    assert got == [trade, trade, {"type": "heartbeat"}]
    assert echo.received == [trade] * (2 if direction == "up" else 1) + [{"type": "heartbeat"}]
    assert rule.fired == 1 and rule.done.is_set()


@pytest.mark.parametrize("direction", ["up", "down"])
async def test_delay_keeps_order(echo: Echo, proxy: LinkProxy, direction: str) -> None:
    rule = proxy.add_rule(direction, is_type("trade"), "delay", delay=0.3)
    async with client(proxy) as ws:
        started = time.monotonic()
        await send(ws, type="trade")
        await send(ws, type="heartbeat")
        assert await recv(ws) == {"type": "trade"}
        assert await recv(ws) == {"type": "heartbeat"}
        assert time.monotonic() - started >= 0.3
    assert echo.received == [{"type": "trade"}, {"type": "heartbeat"}]
    assert rule.fired == 1 and rule.done.is_set()


async def test_rules_disarm_after_times(echo: Echo, proxy: LinkProxy) -> None:
    twice = proxy.add_rule("up", is_type("trade"), "discard", times=2)
    later = proxy.add_rule("up", lambda m: m["n"] >= 1, "duplicate")  # raises on "heartbeat"
    async with client(proxy) as ws:
        for n in range(4):
            await send(ws, type="trade", n=n)
        await send(ws, type="heartbeat")
        got = [await recv(ws) for _ in range(4)]
    assert [m.get("n") for m in got] == [2, 2, 3, None]  # 0, 1 discarded; 2 duplicated once
    assert (twice.fired, later.fired) == (2, 1)
    assert twice.done.is_set() and later.done.is_set()


async def test_cut_drops_every_connection(echo: Echo, proxy: LinkProxy) -> None:
    async with client(proxy) as first, client(proxy) as second:
        await eventually(lambda: proxy.connections == 2)
        proxy.cut()
        assert proxy.connections == 0
        await assert_dropped(first)
        await assert_dropped(second)
    await eventually(lambda: echo.dropped == 2 and proxy.connections == 0)
    async with client(proxy) as again:  # the proxy itself keeps listening
        await send(again, type="register")
        assert await recv(again) == {"type": "register"}


async def test_cut_while_a_message_is_held(echo: Echo, proxy: LinkProxy) -> None:
    rule = proxy.add_rule("up", is_type("trade"), "delay", delay=60)
    async with client(proxy) as ws:
        await send(ws, type="trade")
        await eventually(lambda: rule.fired == 1)
        proxy.cut()
        await assert_dropped(ws)
    await eventually(lambda: echo.dropped == 1 and proxy.connections == 0)
    assert echo.received == [] and not rule.done.is_set()


async def test_pause_refuses_new_connections_until_resume(echo: Echo, proxy: LinkProxy) -> None:
    proxy.pause()
    with pytest.raises((InvalidMessage, OSError)):
        async with client(proxy):
            pass
    assert proxy.connections == 0 and echo.received == []
    proxy.resume()
    async with client(proxy) as ws:
        await send(ws, type="register")
        assert await recv(ws) == {"type": "register"}


async def test_negotiated_compression_is_flagged(echo: Echo) -> None:
    async with serve(echo.handler, "127.0.0.1", 0) as deflating:  # default: permessage-deflate
        proxy = await LinkProxy.start("127.0.0.1", deflating.sockets[0].getsockname()[1])
        with pytest.raises((InvalidMessage, OSError)):
            async with connect(f"ws://127.0.0.1:{proxy.port}", open_timeout=5):
                pass
        with pytest.raises(ProxyError, match="permessage-deflate"):
            await proxy.close()
