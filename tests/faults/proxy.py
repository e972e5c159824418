"""A TCP proxy that injects faults into a WebSocket link (the node <-> cloud link in tests).

Usage::

    proxy = await LinkProxy.start("127.0.0.1", cloud_port)
    # point the node at ws://127.0.0.1:{proxy.port}/... instead of at the cloud
    rule = proxy.add_rule("up", lambda m: m.get("type") == "trade", "drop_connection_before")
    ...
    await asyncio.wait_for(rule.done.wait(), 5)
    assert ("up", {"type": "register", ...}) in proxy.log
    await proxy.close()

Every accepted connection is forwarded to the upstream byte for byte. The HTTP upgrade passes
through untouched; after a ``101`` both directions are read as RFC 6455 frames. Client->server
payloads are unmasked in a copy for inspection only: the original bytes are what is forwarded.
Fragmented messages are held until complete, then inspected and forwarded (or not) as a whole;
control frames (ping/pong/close) pass straight through, even between fragments.

"up" is client->server (node->cloud), "down" is server->client (cloud->node). Complete text
messages that decode to a JSON object are appended to ``proxy.log`` as ``(direction, message)``
and offered to the armed rules of that direction in the order they were added; the first rule
whose ``match`` returns true fires (a ``match`` that raises counts as no match). Actions:

- ``drop_connection_before``: abort both TCP sockets without forwarding the message;
- ``drop_connection_after``: forward the message, then abort both sockets;
- ``discard``: swallow the message, keep the connection;
- ``duplicate``: forward the message twice;
- ``delay``: hold the message ``delay`` seconds; later messages in that direction wait behind it.

A rule fires ``times`` times, then is disarmed. ``rule.fired`` counts its firings and
``rule.done`` (an ``asyncio.Event``) is set once the last firing's action has been carried out.
Aborting means ``transport.abort()``: no WebSocket close frame, both peers see a dropped link.

``cut()`` aborts every live connection; ``pause()`` makes the proxy accept and immediately abort
new connections (live ones are kept: ``cut()`` them too to keep a node offline) until ``resume()``.

Compression is not supported: payloads are inspected as sent, so the peers must not negotiate
``permessage-deflate`` (websockets client: ``connect(..., compression=None)``; uvicorn server:
``Config(..., ws_per_message_deflate=False)``). If a handshake negotiates it anyway, or a frame
has an RSV bit set, the proxy aborts that connection and records a :class:`ProxyError` in
``proxy.errors``; ``close()`` raises the first recorded error, so a test cannot pass unnoticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Direction = Literal["up", "down"]
Action = Literal["drop_connection_before", "drop_connection_after", "discard", "duplicate", "delay"]
Message = dict[str, Any]
_NETWORK_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError)


class ProxyError(Exception):
    """The proxy cannot inspect this link faithfully (e.g. compression was negotiated)."""


@dataclass(eq=False)
class Rule:
    direction: Direction
    match: Callable[[Message], bool]
    action: Action
    times: int = 1
    delay: float = 0.0
    fired: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, direction: Direction, message: Message) -> bool:
        if direction != self.direction or self.fired >= self.times:
            return False
        try:
            return bool(self.match(message))
        except Exception:
            return False


@dataclass(eq=False)
class _Link:
    client_r: asyncio.StreamReader
    client_w: asyncio.StreamWriter
    server_r: asyncio.StreamReader
    server_w: asyncio.StreamWriter
    upgraded: asyncio.Future[bool] = field(default_factory=asyncio.Future)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    dead: bool = False

    def abort(self) -> None:
        """Drop both TCP connections at once and stop the other pump."""
        self.dead = True
        self.client_w.transport.abort()
        self.server_w.transport.abort()
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()


class LinkProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.log: list[tuple[Direction, Message]] = []
        self.errors: list[Exception] = []
        self.rules: list[Rule] = []
        self.paused = False
        self._closed = False
        self._links: set[_Link] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None

    @classmethod
    async def start(cls, upstream_host: str, upstream_port: int) -> LinkProxy:
        proxy = cls(upstream_host, upstream_port)
        proxy._server = await asyncio.start_server(proxy._handle, "127.0.0.1", 0)
        proxy.port = proxy._server.sockets[0].getsockname()[1]
        return proxy

    @property
    def connections(self) -> int:
        return len(self._links)

    def add_rule(
        self,
        direction: Direction,
        match: Callable[[Message], bool],
        action: Action,
        times: int = 1,
        delay: float = 0.0,
    ) -> Rule:
        if direction not in get_args(Direction) or action not in get_args(Action) or times < 1:
            raise ValueError(f"bad rule: {direction!r} {action!r} times={times}")
        rule = Rule(direction, match, action, times, delay)
        self.rules.append(rule)
        return rule

    def cut(self) -> None:
        for link in self._links:
            link.abort()
        self._links.clear()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    async def close(self) -> None:
        self._closed = True
        if self._server is not None:
            self._server.close()
            self.cut()
            await self._server.wait_closed()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self.errors:
            raise self.errors[0]

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            if self.paused or self._closed:
                client_w.transport.abort()
                return
            try:
                server_r, server_w = await asyncio.open_connection(*self.upstream)
            except OSError:
                client_w.transport.abort()
                return
            link = _Link(client_r, client_w, server_r, server_w)
            for writer in (client_w, server_w):  # drain() then means "all handed to the kernel"
                writer.transport.set_write_buffer_limits(high=0)
            self._links.add(link)
            link.tasks = [asyncio.create_task(self._pump(link, d)) for d in ("up", "down")]
            if self._closed:  # closed while connecting upstream
                link.abort()
            await asyncio.gather(*link.tasks, return_exceptions=True)
            self._links.discard(link)
            link.abort()  # both sides reached EOF (or one failed): release the sockets
        finally:
            self._handlers.discard(task)

    async def _pump(self, link: _Link, direction: Direction) -> None:
        src, dst = (
            (link.client_r, link.server_w) if direction == "up" else (link.server_r, link.client_w)
        )
        try:
            head = await src.readuntil(b"\r\n\r\n")
            if direction == "down":  # check before forwarding: the client never sees a bad 101
                link.upgraded.set_result(_is_upgrade(head))
            await _send(dst, head)
            if await link.upgraded:
                await self._frames(link, direction, src, dst)
            else:  # plain HTTP (e.g. a refused upgrade): just copy bytes
                while data := await src.read(65536):
                    await _send(dst, data)
            if not link.dead and dst.can_write_eof():
                dst.write_eof()  # pass the half-close on
        except _NETWORK_ERRORS:
            link.abort()
        except Exception as exc:  # a ProxyError, or a bug in the proxy: never silent
            self.errors.append(exc)
            link.abort()

    async def _frames(
        self,
        link: _Link,
        direction: Direction,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
    ) -> None:
        held: list[bytes] = []  # raw frames of the current (possibly fragmented) data message
        payloads: list[bytes] = []  # their unmasked payloads
        opcode = 0
        while not link.dead:
            try:
                head = await src.readexactly(2)
            except asyncio.IncompleteReadError as exc:
                if exc.partial or held:
                    raise
                return  # clean EOF between messages
            if head[0] & 0x70:
                raise ProxyError("RSV bit set: compressed frame? connect with compression=None")
            raw = bytearray(head)
            length = head[1] & 0x7F
            if length >= 126:
                ext = await src.readexactly(2 if length == 126 else 8)
                raw += ext
                length = int.from_bytes(ext, "big")
            key = await src.readexactly(4) if head[1] & 0x80 else b""
            payload = await src.readexactly(length)
            raw += key + payload
            if head[0] & 0x08:  # control frame: never fragmented, never inspected
                await _send(dst, raw)
                continue
            opcode = head[0] & 0x0F or opcode  # 0 = continuation of the message's opcode
            held.append(bytes(raw))
            payloads.append(_unmask(payload, key) if key else payload)
            if head[0] & 0x80:  # FIN: the message is complete
                message = _parse(b"".join(payloads)) if opcode == 1 else None
                await self._deliver(link, direction, dst, b"".join(held), message)
                held, payloads = [], []

    async def _deliver(
        self,
        link: _Link,
        direction: Direction,
        dst: asyncio.StreamWriter,
        frames: bytes,
        message: Message | None,
    ) -> None:
        rule = None
        if message is not None:
            self.log.append((direction, message))
            rule = next((r for r in self.rules if r.wants(direction, message)), None)
        if rule is None:
            await _send(dst, frames)
            return
        rule.fired += 1
        if rule.action == "delay":
            await asyncio.sleep(rule.delay)
        if rule.action not in ("drop_connection_before", "discard"):
            await _send(dst, frames)
        if rule.action == "duplicate":
            await _send(dst, frames)
        if rule.action.startswith("drop_connection"):
            link.abort()
        if rule.fired >= rule.times:
            rule.done.set()


async def _send(writer: asyncio.StreamWriter, data: bytes | bytearray) -> None:
    writer.write(data)
    await writer.drain()


def _unmask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    mask = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")


def _parse(data: bytes) -> Message | None:
    with contextlib.suppress(ValueError):
        message = json.loads(data)
        if isinstance(message, dict):
            return message
    return None


def _is_upgrade(response_head: bytes) -> bool:
    """Whether the server switched to WebSocket; refuse a compressed link outright."""
    status, *headers = response_head.decode("latin-1").split("\r\n")
    if status.split(" ")[1:2] != ["101"]:
        return False
    for line in headers:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-extensions" and "deflate" in value.lower():
            raise ProxyError(
                f"the handshake negotiated {value.strip()!r}: the proxy cannot inspect "
                "compressed frames; connect with compression=None"
            )
    return True
