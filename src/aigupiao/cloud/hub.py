"""The node hub: one WebSocket per connected local node.

The hub authenticates the socket (a bad or revoked token closes it with 4401),
tracks each node's link, forwards typed messages to a :class:`LinkHandler`
(the command service), and drops nodes that miss three heartbeats.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError

from aigupiao.core.logging import QuietLog
from aigupiao.protocol import v1

from .errors import NodeNotConnected

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_THROTTLED = 4429
CLOSE_REPLACED = 4409
CLOSE_TIMEOUT = 4408


class NodeCredentials(Protocol):
    """What a valid node token is for."""

    @property
    def name(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def node_id(self) -> str: ...


class TokenVerifier(Protocol):
    async def __call__(self, token: str) -> NodeCredentials | None:
        """Who a valid token is for, else None."""
        ...


class LinkHandler(Protocol):
    async def on_register(self, link: NodeLink, message: v1.Register) -> int: ...
    async def on_ack(self, link: NodeLink, message: v1.Ack) -> None: ...
    async def on_response(self, link: NodeLink, message: v1.Response) -> None: ...
    async def on_event(self, link: NodeLink, message: v1.Event) -> None: ...
    async def on_disconnect(self, link: NodeLink) -> None: ...
    async def after_register(self, link: NodeLink) -> None: ...


@dataclass(eq=False)
class NodeLink:
    node_id: str
    account: str
    broker: str
    token_name: str
    connection_id: str
    socket: WebSocket
    connected_at: datetime
    last_seen: datetime
    capabilities: list[str] = field(default_factory=list)
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, message: BaseModel) -> None:
        async with self._send_lock:
            await self.socket.send_text(message.model_dump_json())

    def state(self, heartbeat_s: float) -> str:
        """``online``, or ``degraded`` when the node has been silent past 1.5 heartbeats."""
        silent = (datetime.now(UTC) - self.last_seen).total_seconds()
        return "online" if silent <= 1.5 * heartbeat_s else "degraded"

    def describe(self, heartbeat_s: float) -> dict[str, object]:
        return {
            "node_id": self.node_id,
            "account": self.account,
            "broker": self.broker,
            "status": self.state(heartbeat_s),
            "connection_id": self.connection_id,
            "connected_at": self.connected_at.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "capabilities": self.capabilities,
        }


class AuthThrottle:
    """Refuses a client address for a while after too many failed token checks."""

    def __init__(self, max_failures: int, window_s: float = 60.0) -> None:
        self.max_failures, self.window_s = max_failures, window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, host: str) -> deque[float]:
        failures = self._failures.setdefault(host, deque())
        cutoff = time.monotonic() - self.window_s
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def blocked(self, host: str) -> bool:
        return len(self._recent(host)) >= self.max_failures

    def failed(self, host: str) -> None:
        failures = self._recent(host)
        failures.append(time.monotonic())
        if len(failures) == self.max_failures:
            log.warning("%d failed node logins from %s; refusing it for %.0fs",
                        self.max_failures, host, self.window_s)  # fmt: skip


class NodeHub:
    def __init__(
        self, verify_token: TokenVerifier, heartbeat_s: float, *, max_auth_failures: int = 10
    ) -> None:
        self._verify = verify_token
        self.heartbeat_s = heartbeat_s
        self.handler: LinkHandler | None = None
        self.links: dict[str, NodeLink] = {}
        self.throttle = AuthThrottle(max_auth_failures)
        self._quiet = QuietLog(log)

    def pick(self, *, node_id: str | None = None, account: str | None = None) -> NodeLink:
        """The node to send a command to: by id, by account, or the only one connected.

        Raises:
            NodeNotConnected: no such node is connected, or several match.
        """
        if node_id is not None:
            link = self.links.get(node_id)
            if link is None:
                raise NodeNotConnected(
                    f"本地节点 {node_id} 未连接", f"local node {node_id} is not connected"
                )
            return link
        candidates = [
            link for link in self.links.values() if account is None or link.account == account
        ]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            which = f"账户 {account} 的" if account else ""
            raise NodeNotConnected(
                f"没有{which}本地交易节点在线，请先启动 `aigupiao local`",
                f"no local node{' for account ' + account if account else ''} is connected; "
                "start `aigupiao local`",
            )
        raise NodeNotConnected(
            "有多个本地节点在线，请指定 node_id 或 account",
            "several local nodes are connected; give node_id or account",
            code="node_ambiguous",
        )

    async def serve(self, socket: WebSocket) -> None:
        """Run one node connection from handshake to disconnect."""
        host = socket.client.host if socket.client else "unknown"
        # Accept before closing: a close before the handshake would be a bare HTTP 403,
        # and the node could not tell a bad token from a proxy problem.
        await socket.accept()
        token = _bearer(socket)
        identity = await self._verify(token) if token else None
        if identity is None:
            # Only failures are throttled: a guesser at the real node's address must never
            # lock the real node (which holds a valid token) out.
            if self.throttle.blocked(host):
                await socket.close(code=CLOSE_THROTTLED, reason="too many failed logins; wait")
                return
            self.throttle.failed(host)
            await socket.close(code=CLOSE_UNAUTHORIZED, reason="invalid node token")
            return
        link: NodeLink | None = None
        try:
            register = await asyncio.wait_for(_receive_text(socket), timeout=10)
            message = v1.parse_from_node(register)
            if not isinstance(message, v1.Register):
                await _send_error(socket, None, "register_first", "第一条消息必须是 register")
                await socket.close(code=1008)
                return
            if message.account != identity.account:
                await _send_error(
                    socket,
                    None,
                    "account_mismatch",
                    f"该令牌只允许账户 {identity.account} "
                    f"(token is for account {identity.account})",
                )
                await socket.close(code=CLOSE_UNAUTHORIZED)
                return
            if message.node_id != identity.node_id:
                # A token names its node: registering as another would take over that
                # node's socket and its commands.
                self._quiet.warning(
                    f"node_mismatch/{identity.name}",
                    "token %s (node %s) tried to register as node %s",
                    identity.name,
                    identity.node_id,
                    message.node_id,
                )
                await _send_error(
                    socket,
                    None,
                    "node_mismatch",
                    f"该令牌只属于节点 {identity.node_id} (token is for node {identity.node_id})",
                )
                await socket.close(code=CLOSE_FORBIDDEN, reason="token is for another node")
                return
            link = await self._attach(socket, message, identity.name)
            await self._receive_loop(link)
        except WebSocketDisconnect:
            pass
        except TimeoutError:
            # Silent for three heartbeats (or no register): the node is offline.
            await _close_quietly(socket, CLOSE_TIMEOUT, "heartbeat timeout")
        except ValidationError as exc:
            log.warning("bad register frame: %s", exc)
            await socket.close(code=1008)
        finally:
            if link is not None:
                await self._detach(link)

    async def _attach(self, socket: WebSocket, message: v1.Register, token_name: str) -> NodeLink:
        now = datetime.now(UTC)
        link = NodeLink(
            node_id=message.node_id,
            account=message.account,
            broker=message.broker,
            token_name=token_name,
            connection_id=secrets.token_hex(8),
            socket=socket,
            connected_at=now,
            last_seen=now,
            capabilities=list(message.capabilities),
        )
        received = await self._handler().on_register(link, message)
        # The ack goes out before the link is published: no command may overtake it.
        await link.send(
            v1.RegisterAck(
                connection_id=link.connection_id,
                server_time=datetime.now(UTC),
                heartbeat_s=self.heartbeat_s,
                last_received_seq=received,
            )
        )
        old = self.links.get(link.node_id)
        self.links[link.node_id] = link
        if old is not None:
            # The newest connection wins: the old one is a socket the node already gave up on.
            await _close_quietly(old.socket, CLOSE_REPLACED, "replaced by a newer connection")
        log.info("node %s (account %s) online", link.node_id, link.account)
        await self._handler().after_register(link)
        return link

    async def _receive_loop(self, link: NodeLink) -> None:
        handler = self._handler()
        while True:
            text = await asyncio.wait_for(_receive_text(link.socket), timeout=3 * self.heartbeat_s)
            link.last_seen = datetime.now(UTC)
            try:
                message = v1.parse_from_node(text)
            except ValidationError as exc:
                code, reason = v1.explain(text, exc)
                self._quiet.warning(f"{link.node_id}/{code}", "node %s sent a bad frame: %s %s",
                               link.node_id, code, reason)  # fmt: skip
                command_id = None if code == "invalid_json" else v1.command_id_of(text)
                await _send_error(link.socket, command_id, code, reason)
                continue
            match message:
                case v1.Heartbeat():
                    await link.send(v1.Heartbeat(ts=link.last_seen))
                case v1.Ack():
                    await handler.on_ack(link, message)
                case v1.Response():
                    await handler.on_response(link, message)
                case v1.OrderEvent() | v1.TradeEvent() | v1.AccountEvent():
                    await handler.on_event(link, message)
                case v1.Error():
                    self._quiet.warning(
                        f"{link.node_id}/reported/{message.code}",
                        "node %s reports error %s: %s",
                        link.node_id,
                        message.code,
                        message.message,
                    )
                case v1.Register():
                    await _send_error(link.socket, None, "already_registered", "重复的 register")

    async def _detach(self, link: NodeLink) -> None:
        if self.links.get(link.node_id) is link:
            del self.links[link.node_id]
            log.info("node %s offline", link.node_id)
            await self._handler().on_disconnect(link)

    async def drop_token(self, token_name: str) -> list[str]:
        """Close every live socket that logged in with ``token_name`` (it was revoked)."""
        dropped = [link for link in self.links.values() if link.token_name == token_name]
        for link in dropped:
            log.warning("token %s revoked: closing node %s", token_name, link.node_id)
            await _close_quietly(link.socket, CLOSE_UNAUTHORIZED, "token revoked")
        return [link.node_id for link in dropped]

    async def close_all(self) -> None:
        for link in list(self.links.values()):
            await _close_quietly(link.socket, 1001, "server shutting down")

    def _handler(self) -> LinkHandler:
        if self.handler is None:
            raise RuntimeError("NodeHub.handler is not set")
        return self.handler


async def _receive_text(socket: WebSocket) -> str:
    """The next text frame; a binary frame comes back as text that fails to parse."""
    frame = await socket.receive()
    if frame["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(frame.get("code", 1000))
    text = frame.get("text")
    return text if text is not None else "<binary frame>"


def _bearer(socket: WebSocket) -> str | None:
    header = socket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


async def _send_error(socket: WebSocket, command_id: str | None, code: str, message: str) -> None:
    await socket.send_text(
        v1.Error(
            command_id=command_id, code=code, message=message[: v1.MAX_REASON]
        ).model_dump_json()
    )


async def _close_quietly(socket: WebSocket, code: int, reason: str) -> None:
    try:
        await socket.close(code=code, reason=reason)
    except (RuntimeError, WebSocketDisconnect):
        pass  # already closed
