"""The chagubang (茶股帮) push feed: the whole market's Level-1 snapshots over plain TCP.

The client connects, writes its token as raw UTF-8 (no framing, no newline) and then only
reads: a good token gets no acknowledgement, data just starts; a bad one gets a text reply
containing ``Token鉴权失败`` (unframed, or inside a frame), which ends :meth:`run` with
``FeedError(code="auth_failed")``. The wire format is in :mod:`.chagubang_wire`.

The server drops a client whose unread backlog passes about 100 MB, so reading never
waits for parsing: one task only reads the socket and splits frames into an
:class:`~.chagubang_wire.Inbox` that holds the newest record per code, another parses the
inbox in batches and publishes each batch. When parsing falls behind, an older pending
snapshot of a code is replaced by the newer one (counted in ``wire.superseded``) instead
of queueing, so memory stays bounded by the number of codes and the socket keeps draining.

Index records (SH0000xx, SZ399xxx: whatever :func:`parse_symbol` calls ``Board.INDEX``)
are not published as quotes: the latest one per index is kept in :attr:`indexes`, counted
in ``wire.indexes``, and handed to ``on_index`` if given.

The server sends no heartbeat. Outside trading hours silence is normal; during them,
``stall_timeout`` seconds without a byte means the connection is dead, and it is
replaced. TCP keepalive is on as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aigupiao.core.clock import Clock, LiveClock
from aigupiao.core.logging import QuietLog
from aigupiao.core.retry import Backoff
from aigupiao.domain.market import Quote
from aigupiao.domain.sessions import QUOTING_PHASES, phase_at
from aigupiao.domain.symbols import Board

from .base import FeedError, FeedStats, Publish
from .chagubang_wire import (
    MAX_FRAME,
    AuthRejected,
    BadRecord,
    FrameDecoder,
    Inbox,
    ProtocolError,
    RecordParser,
    is_auth_rejection,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

READ_SIZE = 256 * 1024
BATCH_SIZE = 2_000  # records parsed (and published) between two turns of the reader
STREAM_LIMIT = 1 << 20  # asyncio stops reading the socket only past 2x this, unread
STALL_CHECK_SECONDS = 1.0


@dataclass
class WireStats:
    """What the feed sees on the wire, besides the contract's :class:`FeedStats`."""

    indexes: int = 0  # index records taken (kept in ``feed.indexes``, not published)
    superseded: int = 0  # records replaced by a newer one of their code before parsing
    frames: int = 0
    bytes: int = 0
    connects: int = 0  # connections that were opened (the token was sent)
    connect_failures: int = 0  # attempts refused, unreachable or timed out


class ChagubangConfig(Protocol):
    """What :meth:`ChagubangFeed.from_settings` reads (the cloud's ``market.chagubang``)."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def token(self) -> str | None: ...


class ChagubangFeed:
    """Quotes from the chagubang TCP push (see the module docstring).

    Args:
        host, port: the vendor's server.
        token: the token bought from the vendor.
        clock: tells whether the market is open (for ``stall_timeout``).
        connect_timeout: seconds to wait for a connection.
        stall_timeout: seconds without data during trading hours before the connection
            is replaced; None never replaces a silent connection.
        backoff: delays between reconnects (default 0.5 s doubling to 30 s).
        on_index: called with each batch of index quotes.
        batch_size: records parsed and published per batch.
        bse_volume_unit: shares per unit of a BSE record's volumes (see the wire module).
    """

    name = "chagubang"

    def __init__(
        self,
        host: str,
        port: int,
        token: str,
        *,
        clock: Clock | None = None,
        connect_timeout: float = 10.0,
        stall_timeout: float | None = 60.0,
        backoff: Backoff | None = None,
        on_index: Callable[[list[Quote]], None] | None = None,
        batch_size: int = BATCH_SIZE,
        bse_volume_unit: int = 1,
    ) -> None:
        if not host or not token:
            raise ValueError("chagubang needs a host and a token")
        if batch_size <= 0 or connect_timeout <= 0:
            raise ValueError("batch_size and connect_timeout must be positive")
        self.host, self.port, self._token = host, port, token
        self.clock = clock or LiveClock()
        self.connect_timeout, self.stall_timeout = connect_timeout, stall_timeout
        self.backoff = backoff or Backoff()
        self.on_index = on_index
        self.batch_size = batch_size
        self.stats = FeedStats()
        self.wire = WireStats()
        self.indexes: dict[str, Quote] = {}
        self.connected = False
        self.last_error: str | None = None  # why the last connection ended or failed
        self._parser = RecordParser(bse_volume_unit=bse_volume_unit)
        self._inbox = Inbox()
        self._wakeup: asyncio.Event | None = None  # made in run(), on the running loop
        self._quiet = QuietLog(log)
        self._last_data = 0.0  # time.monotonic() of the last bytes received
        self._outage_since: float | None = None

    @classmethod
    def from_settings(cls, section: ChagubangConfig, **options: Any) -> ChagubangFeed:
        """A feed configured from the cloud's ``market.chagubang`` section (host, port, token)."""
        return cls(section.host, section.port, section.token or "", **options)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # never shows the token
        return f"ChagubangFeed({self.address})"

    async def run(self, publish: Publish, stop: asyncio.Event) -> None:
        """Publish quotes until ``stop`` is set; reconnect after every failure but a bad token.

        Raises:
            FeedError: ``auth_failed`` when the server rejects the token.
        """
        self._wakeup = asyncio.Event()
        parse_task = asyncio.create_task(
            self._parse_loop(publish, self._wakeup), name="chagubang/parse"
        )
        try:
            await self._connect_loop(stop, parse_task)
        except AuthRejected as exc:
            reply = str(exc)[:200]
            raise FeedError(
                f"茶股帮令牌无效或已过期：服务器 {self.address} 回复 “{reply}”",
                f"the chagubang server {self.address} rejected the token (invalid or expired)",
                code="auth_failed",
            ) from None
        finally:
            if not parse_task.done():
                parse_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await parse_task

    # -- connections --------------------------------------------------------------------

    async def _connect_loop(self, stop: asyncio.Event, parse_task: asyncio.Task[None]) -> None:
        attempt = 0
        while not stop.is_set():
            if attempt:
                self.stats.reconnects += 1
            attempt += 1
            try:
                opened = await _unless_stopped(
                    stop,
                    asyncio.open_connection(self.host, self.port, limit=STREAM_LIMIT),
                    self.connect_timeout,
                    "chagubang/connect",
                )
            except (OSError, TimeoutError) as exc:
                self.wire.connect_failures += 1
                self._lost(f"cannot connect to {self.address}: {_describe(exc)}")
            else:
                if opened is None:
                    return
                reader, writer = opened
                received = self.wire.bytes
                try:
                    reason = await self._session(reader, writer, stop, parse_task)
                finally:
                    self.connected = False
                    await _close(writer)
                if reason is None:
                    return
                if self.wire.bytes > received:
                    self.backoff.reset()  # it worked for a while: reconnect at once
                self._lost(reason)
            await self._pause(stop, parse_task, self.backoff.next_delay())

    async def _pause(
        self, stop: asyncio.Event, parse_task: asyncio.Task[None], delay: float
    ) -> None:
        """Wait ``delay`` seconds before reconnecting, or less if stopped; a failure of the
        parser (``publish`` raised) ends the wait with that error."""
        stop_task = asyncio.create_task(stop.wait(), name="chagubang/backoff")
        try:
            await asyncio.wait(
                {stop_task, parse_task}, timeout=delay, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop_task.cancel()
            await asyncio.gather(stop_task, return_exceptions=True)
        if parse_task.done():
            parse_task.result()

    async def _session(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stop: asyncio.Event,
        parse_task: asyncio.Task[None],
    ) -> str | None:
        """Serve one connection; the reason it ended, or None when ``stop`` was set."""
        _keepalive(writer)
        try:
            writer.write(self._token.encode("utf-8"))
            await writer.drain()
        except OSError as exc:
            return f"connection to {self.address} failed while sending the token: {_describe(exc)}"
        self.connected = True
        self.wire.connects += 1
        self._last_data = time.monotonic()
        read_task = asyncio.create_task(self._read_loop(reader), name="chagubang/read")
        stop_task = asyncio.create_task(stop.wait(), name="chagubang/stop")
        try:
            while True:
                done, _ = await asyncio.wait(
                    {read_task, stop_task, parse_task},
                    timeout=STALL_CHECK_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if stop_task in done:
                    return None
                if parse_task in done:
                    parse_task.result()  # publish raised: let run() fail with it
                    return None
                if read_task in done:
                    return read_task.result()
                if self._stalled():
                    silent = f"{self.stall_timeout:.0f}s"
                    return f"no data from {self.address} for {silent} in trading hours"
        finally:
            for task in (read_task, stop_task):
                task.cancel()
            await asyncio.gather(read_task, stop_task, return_exceptions=True)

    def _stalled(self) -> bool:
        if self.stall_timeout is None:
            return False
        silent = time.monotonic() - self._last_data
        return silent > self.stall_timeout and phase_at(self.clock.now()) in QUOTING_PHASES

    def _lost(self, reason: str) -> None:
        """Log the first failure of an outage; later ones only at debug level."""
        self.last_error = reason
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.warning("chagubang: %s; reconnecting with backoff", reason)
        else:
            log.debug("chagubang: %s", reason)

    # -- the reader: bytes -> frames -> inbox, never waiting for the parser ----------------

    async def _read_loop(self, reader: asyncio.StreamReader) -> str:
        """Read until the connection ends; the reason it ended.

        Raises:
            AuthRejected: the server's reply is the token rejection.
        """
        decoder, inbox, wire = FrameDecoder(MAX_FRAME), self._inbox, self.wire
        while True:
            try:
                data = await reader.read(READ_SIZE)
            except OSError as exc:
                return f"connection to {self.address} lost: {_describe(exc)}"
            if not data:
                if is_auth_rejection(decoder.buffered):
                    raise AuthRejected(decoder.buffered.decode("utf-8", "replace").strip())
                return f"{self.address} closed the connection"
            self._last_data = time.monotonic()
            wire.bytes += len(data)
            if self._outage_since is not None:
                log.info(
                    "chagubang: receiving from %s again after %.0fs",
                    self.address, time.monotonic() - self._outage_since,
                )  # fmt: skip
                self._outage_since = None
            try:
                frames = decoder.feed(data)
            except ProtocolError as exc:
                # An unframed text reply (the token rejection) reads as an absurd length.
                text = decoder.buffered + await _read_briefly(reader)
                if is_auth_rejection(text):
                    raise AuthRejected(text.decode("utf-8", "replace").strip()) from None
                return f"protocol error from {self.address}: {exc}"
            if frames:
                wire.frames += len(frames)
                inbox.put(frames)
                wire.superseded = inbox.superseded
                if self._wakeup is not None:
                    self._wakeup.set()

    # -- the parser: inbox -> quotes, in batches ---------------------------------------

    async def _parse_loop(self, publish: Publish, wakeup: asyncio.Event) -> None:
        inbox, parse, stats = self._inbox, self._parser.parse, self.stats
        while True:
            await wakeup.wait()
            wakeup.clear()
            while len(inbox):
                quotes: list[Quote] = []
                indexes: list[Quote] = []
                for payload in inbox.take(self.batch_size):
                    try:
                        quote = parse(payload)
                    except BadRecord as exc:
                        stats.refused[exc.reason] += 1
                        self._quiet.warning(
                            exc.reason,
                            "chagubang %s: refused a record (%s): %s",
                            self.address, exc.reason, exc.detail,
                        )  # fmt: skip
                        continue
                    if quote.symbol.board is Board.INDEX:
                        indexes.append(quote)
                    else:
                        quotes.append(quote)
                if quotes:
                    stats.published += len(quotes)
                    publish(quotes)
                if indexes:
                    self.wire.indexes += len(indexes)
                    for quote in indexes:
                        self.indexes[quote.symbol.full] = quote
                    if self.on_index is not None:
                        self.on_index(indexes)
                await asyncio.sleep(0)  # the reader drains the socket between batches


async def _unless_stopped(
    stop: asyncio.Event, work: Coroutine[Any, Any, T], timeout: float, name: str
) -> T | None:
    """``work``'s result; None if ``stop`` is set first.

    Raises:
        TimeoutError: ``work`` took longer than ``timeout``.
    """
    task = asyncio.create_task(work, name=name)
    stopper = asyncio.create_task(stop.wait(), name=f"{name}/stop")
    try:
        done, _ = await asyncio.wait(
            {task, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopper.cancel()
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, OSError):
        late = await task  # it may have finished while being cancelled
        if isinstance(late, tuple) and len(late) == 2:
            await _close(late[1])
    if stop.is_set():
        return None
    raise TimeoutError(f"no answer within {timeout:g}s")


async def _read_briefly(reader: asyncio.StreamReader, limit: int = 4096) -> bytes:
    """What else arrives within half a second (up to ``limit`` bytes or the end)."""
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + 0.5
    while size < limit:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            data = await asyncio.wait_for(reader.read(limit - size), remaining)
        except (TimeoutError, OSError):
            break
        if not data:
            break
        chunks.append(data)
        size += len(data)
    return b"".join(chunks)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


def _keepalive(writer: asyncio.StreamWriter) -> None:
    """Let the kernel notice a dead peer on a silent connection (no heartbeat otherwise)."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 4)):
            if hasattr(socket, option):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return str(exc) or "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
