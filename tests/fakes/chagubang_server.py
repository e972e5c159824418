"""A fake chagubang (茶股帮) server: a real TCP server on 127.0.0.1 speaking the vendor's protocol.

Usage::

    async with FakeChagubang(Script(symbols=50, rounds=5)) as server:
        feed = ChagubangFeed("127.0.0.1", server.port, server.script.token, ...)
        ...
        assert latest == server.expected

What it does on each connection, as the vendor's server does: read the raw token; if it is
not ``script.token`` reply ``Token鉴权失败`` (unframed, or in a frame with
``auth_reply="framed"``) and close. Otherwise send rounds of records, one snapshot of every
symbol per round: SH/SZ ``$`` records, BSE JSON records and index records built by
:class:`aigupiao.bench.chagubang.Tape` from the simulator over the real symbol snapshot,
plus ``bad_per_round`` malformed records of every kind in :data:`BAD_KINDS` in turn (under
codes outside the universe, each used once in a long while). Each
round's frames are concatenated and written in chunks cut at random byte boundaries (a
header or a multi-byte character may be cut anywhere), so the client sees frames split
across reads and several frames in one read.

Faults: ``disconnect_after`` closes the n-th connection after that many bytes (mid-frame,
most likely); ``disconnect_chance`` closes any connection after a chunk with that
probability; ``bad_length_on`` sends a frame header of length 0 (or 2 MiB, alternating)
on the given connections. An interrupted round is sent again from its start on the next
connection, as a real server sends fresh snapshots to a new client. After the last round
the connection stays open and silent (``hold_open``) or is closed.

What it sent is recorded: ``expected`` (the newest complete quote per stock code),
``expected_indexes``, ``sent`` (every quote written in full), ``bad_sent`` (malformed records
by the reason the feed must count), ``records_sent`` (frames written in full),
``connections`` and ``tokens``.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from aigupiao.bench.chagubang import Tape
from aigupiao.domain.market import Quote
from aigupiao.domain.symbols import Board
from aigupiao.market.feeds.chagubang_wire import AUTH_FAILED_TEXT, frame


def _bad_record(reason: str, code: str, number: int) -> bytes:
    """A malformed record the feed must count under ``reason``; ``code`` is a stock code
    outside the universe (so the record supersedes no good one in the feed's inbox)."""
    if reason == "field_count":
        return f"{code}$浦发银行$1757000000$9.28$9.43".encode()
    if reason == "not_a_number":
        return f"{code}$X$1757000000$9.28$9.43$9.24$abc".encode() + b"$1" * 26
    if reason == "unknown_code":
        return f"SH900{number % 1000:03d}$B股$1757000000".encode() + b"$1.00" * 30
    if reason == "bad_time":
        return f"{code}$Y$yesterday".encode() + b"$1.00" * 30
    return f'{{"stock_code": "8{number % 100000:05d}", "time": '.encode()  # cut short


BAD_KINDS = ("field_count", "not_a_number", "unknown_code", "bad_time", "bad_json")


@dataclass
class Script:
    """What the fake server sends; the defaults make a small, clean, well-behaved stream."""

    token: str = "good-token"
    symbols: int = 40
    bse: int = 3
    indexes: int = 4
    rounds: int = 3
    round_interval: float = 0.0
    seed: int = 1
    auth_reply: Literal["raw", "framed"] = "raw"
    split: bool = True
    max_chunk: int = 3000
    bad_per_round: int = 0
    disconnect_after: dict[int, int] = field(default_factory=dict)  # connection -> bytes
    disconnect_chance: float = 0.0
    bad_length_on: set[int] = field(default_factory=set)  # connections (1-based)
    hold_open: bool = True
    silent: bool = False  # accept the token, then send nothing


class FakeChagubang:
    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self._rng = random.Random(self.script.seed)
        self._tape = Tape(
            self.script.symbols,
            bse=self.script.bse,
            indexes=self.script.indexes,
            seed=self.script.seed,
        )
        self._rounds: list[list[tuple[Quote | None, str | None, bytes]]] = []
        taken = {info.symbol.full for info in self._tape.universe}
        self._spare_codes = [f"SZ002{n:03d}" for n in range(1000) if f"sz002{n:03d}" not in taken]
        self._bad_made = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._closing = asyncio.Event()
        self.port = 0
        self.connections = 0
        self.tokens: list[bytes] = []
        self.next_round = 0  # the first round not yet sent in full
        self.records_sent = 0
        self.expected: dict[str, Quote] = {}
        self.expected_indexes: dict[str, Quote] = {}
        self.bad_sent: Counter[str] = Counter()
        self.sent: set[Quote] = set()  # every quote whose frame was written in full
        self.finished = asyncio.Event()  # every round was sent in full

    async def start(self) -> FakeChagubang:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self._closing.set()
        for writer in list(self._connections):
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> FakeChagubang:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def cut(self) -> None:
        """Drop every live connection at once (a server-side disconnect)."""
        for writer in list(self._connections):
            writer.transport.abort()

    # -- one connection -------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self._connections.add(writer)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            token = await self._read_token(reader)
            self.tokens.append(token)
            if token != self.script.token.encode():
                reply = AUTH_FAILED_TEXT.encode()
                writer.write(frame(reply) if self.script.auth_reply == "framed" else reply)
                await writer.drain()
                return
            if not self.script.silent:
                await self._send_rounds(writer, number)
            if self.script.hold_open:
                await self._closing.wait()
        except (ConnectionError, _Disconnect):
            pass
        finally:
            self._connections.discard(writer)
            writer.transport.abort()

    async def _read_token(self, reader: asyncio.StreamReader) -> bytes:
        """The raw token: whatever arrives until it is as long as ours or 0.3 s pass quietly."""
        expected = len(self.script.token.encode())
        data = b""
        while len(data) < expected:
            try:
                chunk = await asyncio.wait_for(reader.read(1024), 0.3 if data else 5.0)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
        return data

    async def _send_rounds(self, writer: asyncio.StreamWriter, number: int) -> None:
        budget = self.script.disconnect_after.get(number)
        written = 0
        first = True
        while self.next_round < self.script.rounds:
            if not first and self.script.round_interval:
                await asyncio.sleep(self.script.round_interval)
            first = False
            records = self._round(self.next_round)
            frames = [frame(payload) for _, _, payload in records]
            broken = number in self.script.bad_length_on
            if broken:  # half the round, then a header no client may accept, then hang up
                records = records[: len(records) // 2]
                size = 0 if number % 2 else 2 << 20
                frames = [*frames[: len(records)], size.to_bytes(4, "little") + b"junk"]
            stream = b"".join(frames)
            ends = _frame_ends(frames)
            done = 0  # bytes of this round written
            for chunk in self._chunks(stream):
                if budget is not None and written + len(chunk) > budget:
                    chunk = chunk[: budget - written]
                    writer.write(chunk)
                    await writer.drain()
                    self._count(records, ends, done, done + len(chunk))
                    raise _Disconnect
                writer.write(chunk)
                await writer.drain()
                self._count(records, ends, done, done + len(chunk))
                done += len(chunk)
                written += len(chunk)
                if self._rng.random() < self.script.disconnect_chance:
                    raise _Disconnect
            if broken:
                raise _Disconnect
            for quote, _, _ in records:
                if quote is None:
                    continue
                target = (
                    self.expected_indexes if quote.symbol.board is Board.INDEX else self.expected
                )
                target[quote.symbol.full] = quote
            self.next_round += 1
        self.finished.set()

    def _count(
        self,
        records: list[tuple[Quote | None, str | None, bytes]],
        ends: list[int],
        before: int,
        after: int,
    ) -> None:
        """Count the records whose frames were completed by the bytes ``before..after``."""
        for index, end in enumerate(ends):
            if before < end <= after and index < len(records):
                self.records_sent += 1
                quote, bad, _ = records[index]
                if bad is not None:
                    self.bad_sent[bad] += 1
                if quote is not None:
                    self.sent.add(quote)

    def _chunks(self, stream: bytes) -> list[bytes]:
        if not self.script.split:
            return [stream]
        chunks, at = [], 0
        while at < len(stream):
            size = (
                self._rng.randint(1, 7)
                if self._rng.random() < 0.2
                else self._rng.randint(8, self.script.max_chunk)
            )
            chunks.append(stream[at : at + size])
            at += size
        return chunks

    def _round(self, number: int) -> list[tuple[Quote | None, str | None, bytes]]:
        """Round ``number`` (made once, so a round sent again is the same bytes)."""
        while len(self._rounds) <= number:
            records: list[tuple[Quote | None, str | None, bytes]] = [
                (quote, None, payload) for quote, payload in self._tape.next_round()
            ]
            for _ in range(self.script.bad_per_round):
                reason = BAD_KINDS[self._bad_made % len(BAD_KINDS)]
                code = self._spare_codes[self._bad_made % len(self._spare_codes)]
                payload = _bad_record(reason, code, self._bad_made)
                self._bad_made += 1
                records.insert(self._rng.randrange(len(records) + 1), (None, reason, payload))
            self._rounds.append(records)
        return self._rounds[number]


def _frame_ends(frames: list[bytes]) -> list[int]:
    ends, at = [], 0
    for item in frames:
        at += len(item)
        ends.append(at)
    return ends


class _Disconnect(Exception):
    """Close this connection now (a scripted fault)."""
