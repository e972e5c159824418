"""The node's link to the cloud: dial out, register, run commands, report results.

The link keeps itself up: after any drop it reconnects with exponential
backoff and jitter, re-registers with the last confirmed ``seq`` and re-sends
every response the cloud has not confirmed. Its state is one of
``connecting``, ``online``, ``degraded`` (no heartbeat answer lately) and
``offline`` (not connected; ``last_error`` says why).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus

from aigupiao.core.logging import QuietLog
from aigupiao.core.retry import Backoff
from aigupiao.protocol import v1

from .executor import Executor
from .journal import Journal

log = logging.getLogger(__name__)

CAPABILITIES: list[v1.Capability] = ["buy", "sell", "cancel", "export", "status"]


class LinkState(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"


class CloudLink:
    def __init__(
        self,
        *,
        url: str,
        token: str,
        node_id: str,
        account: str,
        executor: Executor,
        journal: Journal,
        backoff: Backoff | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self._url, self._token = url, token
        # wss:// uses the system's CAs, plus ``ca_file`` for a cloud with its own certificate.
        self._ssl = ssl.create_default_context(cafile=ca_file) if url.startswith("wss:") else None
        self.node_id, self.account = node_id, account
        self._executor, self._journal = executor, journal
        self._backoff = backoff or Backoff(initial=0.5, maximum=30.0)
        self._state = LinkState.OFFLINE
        self.last_error: str | None = None
        self.connected_since: datetime | None = None
        self.last_heartbeat: datetime | None = None
        self.heartbeat_s = 10.0
        self.commands_received = 0
        self._socket: ClientConnection | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._last_pong = 0.0
        self._quiet = QuietLog(log)

    @property
    def state(self) -> LinkState:
        return self._state

    @state.setter
    def state(self, new: LinkState) -> None:
        if new is not self._state:
            reason = f" ({self.last_error})" if new is LinkState.OFFLINE and self.last_error else ""
            log.info("云端连接 cloud link: %s -> %s%s", self._state.value, new.value, reason)
            self._state = new

    def fast_reconnect(self) -> None:
        """Retry within tens of milliseconds (tests and benchmarks on loopback)."""
        self._backoff = Backoff(initial=0.02, maximum=0.2)

    def describe(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "url": self._url,
            "connected_since": self.connected_since.isoformat() if self.connected_since else None,
            "last_heartbeat": self.last_heartbeat.isoformat() if self.last_heartbeat else None,
            "last_error": self.last_error,
            "commands_received": self.commands_received,
            "reconnect_attempts": self._backoff.attempts,
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the link up until ``stop`` is set."""
        while not stop.is_set():
            self.state = LinkState.CONNECTING
            session = asyncio.create_task(self._session(), name="link/session")
            stopper = asyncio.create_task(stop.wait(), name="link/stop")
            try:
                await asyncio.wait({session, stopper}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                session.cancel()  # cancelled from outside: never leave the session behind
                raise
            finally:
                stopper.cancel()
            if not session.done():
                # Stopping: let running commands finish and report while the socket is up.
                await self._drain_inflight()
                session.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await session
                self._went_offline()
                return
            self._record_failure(session.exception())
            self._went_offline()
            delay = self._backoff.next_delay()
            log.info("cloud link down (%s); reconnecting in %.1fs", self.last_error, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        await self._drain_inflight()

    def _went_offline(self) -> None:
        self._socket = None
        self.state = LinkState.OFFLINE
        self.connected_since = None

    def _record_failure(self, exc: BaseException | None) -> None:
        if isinstance(exc, InvalidStatus):
            self.last_error = f"cloud refused the connection: HTTP {exc.response.status_code}"
        elif isinstance(exc, ConnectionClosed):
            code = exc.rcvd.code if exc.rcvd else None
            if code == 4401:
                self.last_error = "节点令牌无效或已吊销 (node token rejected: 4401)"
                log.error(self.last_error)
            else:
                self.last_error = f"connection closed ({code})"
        elif exc is None:
            self.last_error = "connection closed"
        else:
            self.last_error = f"{type(exc).__name__}: {exc}"

    async def _session(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        # No permessage-deflate: link frames are small JSON and latency matters more.
        async with connect(
            self._url,
            additional_headers=headers,
            open_timeout=10,
            compression=None,
            max_size=v1.MAX_FRAME_BYTES,
            ssl=self._ssl,
        ) as socket:
            register = v1.Register(
                node_id=self.node_id,
                account=self.account,
                broker=self._executor.broker.name,
                capabilities=CAPABILITIES,
                last_seq=await self._journal.last_confirmed_seq(),
            )
            sent_at = self._executor.wall_clock()
            await socket.send(register.model_dump_json())
            ack = v1.parse_from_cloud(await asyncio.wait_for(socket.recv(), 10))
            if not isinstance(ack, v1.RegisterAck):
                raise ConnectionError(f"expected register_ack, got {ack.type}")
            received_at = self._executor.wall_clock()
            # The cloud stamped server_time about half a round trip before we got it.
            offset = ack.server_time - (sent_at + (received_at - sent_at) / 2)
            self._executor.clock_offset = offset
            if abs(offset.total_seconds()) > 2:
                log.warning("this PC's clock is %.1fs off the cloud's; expiry uses cloud time",
                            -offset.total_seconds())  # fmt: skip
            self._socket = socket
            self.heartbeat_s = ack.heartbeat_s
            self.state = LinkState.ONLINE
            self.connected_since = datetime.now(UTC)
            self.last_error = None
            self._backoff.reset()
            self._last_pong = time.monotonic()
            log.info("linked to cloud as %s (connection %s)", self.node_id, ack.connection_id)
            for body in await self._journal.unconfirmed():
                await socket.send(body)
            heartbeat = asyncio.create_task(self._heartbeat(socket), name="link/heartbeat")
            try:
                await self._receive(socket)
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat

    async def _receive(self, socket: ClientConnection) -> None:
        async for text in socket:
            try:
                message = v1.parse_from_cloud(text)
            except ValidationError as exc:
                code, reason = v1.explain(text, exc)
                self._quiet.warning(code, "refused a frame from the cloud: %s %s", code, reason)
                await self._send(v1.Error(code=code, message=reason))
                continue
            match message:
                case v1.Received():
                    await self._journal.confirm(message.seq)
                case v1.Heartbeat():
                    self._last_pong = time.monotonic()
                    self.last_heartbeat = datetime.now(UTC)
                    if self.state is LinkState.DEGRADED:
                        self.state = LinkState.ONLINE
                case v1.Error():
                    self._quiet.warning(
                        f"cloud/{message.code}", "cloud error %s: %s", message.code, message.message
                    )
                case v1.RegisterAck():
                    pass
                case _:
                    self.commands_received += 1
                    task = asyncio.create_task(self._handle(message), name=f"command/{message.id}")
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
        # ``async for`` ends on a normal close; report it like any other drop.
        raise ConnectionClosedOK(socket.close_rcvd, socket.close_sent)

    async def _handle(self, command: v1.Command) -> None:
        try:
            seq = await self._executor.execute(
                command, ack=lambda: self._send(v1.Ack(command_id=command.id))
            )
        except Exception:
            log.exception("command %s crashed the executor", command.id)
            return
        if seq is not None:
            await self.send_queued(seq)

    async def send_queued(self, seq: int) -> None:
        """Push a queued response now if connected (it is re-sent on reconnect otherwise)."""
        body = await self._journal.body(seq)
        if body is not None and self._socket is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._socket.send(body)

    async def _send(self, message: v1.Ack | v1.Error | v1.Heartbeat) -> None:
        if self._socket is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._socket.send(message.model_dump_json())

    async def _heartbeat(self, socket: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            silent = time.monotonic() - self._last_pong
            if silent > 3 * self.heartbeat_s:
                log.warning("no heartbeat from cloud for %.0fs; reconnecting", silent)
                await socket.close(code=4408, reason="heartbeat timeout")
                return
            if silent > 1.5 * self.heartbeat_s:
                self.state = LinkState.DEGRADED
            await self._send(v1.Heartbeat(ts=datetime.now(UTC)))

    def drop_connection(self) -> None:
        """Cut the socket without a close handshake, as a network failure would."""
        if self._socket is not None:
            self._socket.transport.abort()

    def abort_inflight(self) -> None:
        for task in self._inflight:
            task.cancel()

    async def _drain_inflight(self) -> None:
        """On shutdown, let running commands finish so their outcome is journaled."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=10)
