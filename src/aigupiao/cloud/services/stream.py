"""Quotes for dashboards over ``WS /api/stream``: only the subscribed codes, coalesced.

Each client keeps a dict ``code -> latest quote not yet sent``; the Bus listener only
overwrites entries in it (O(1) per quote and client, never awaits), so a slow client
can never hold up the feed or grow a queue: at most one entry per subscribed code
waits. The client's own pump sends what is waiting, then sleeps ``interval`` seconds,
so a code is pushed at most once per interval with its newest quote. A client whose
socket does not take a push within ``send_timeout`` seconds is dropped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping

from aigupiao.domain.market import Quote
from aigupiao.market.quote_json import quote_to_dict

ALL = "*"
MAX_CODES = 6_000


class StreamClient:
    """One dashboard connection's subscriptions and the quotes waiting for it."""

    def __init__(self, send: Callable[[str], Awaitable[None]]) -> None:
        self._send = send
        self.codes: set[str] = set()
        self.everything = False
        self.pending: dict[str, Quote] = {}
        self.pushes = 0
        self._wake = asyncio.Event()

    def offer(self, quote: Quote) -> None:
        self.pending[quote.symbol.full] = quote
        self._wake.set()

    async def pump(self, interval: float, send_timeout: float) -> None:
        """Send waiting quotes, at most one message per ``interval``; returns if a send
        takes longer than ``send_timeout`` (the caller closes the socket)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.pending:
                continue
            batch, self.pending = self.pending, {}
            message = json.dumps(
                {"type": "quotes", "quotes": [quote_to_dict(q) for q in batch.values()]},
                ensure_ascii=False,
            )
            try:
                await asyncio.wait_for(self._send(message), send_timeout)
            except TimeoutError:
                return
            self.pushes += 1
            await asyncio.sleep(interval)


class QuoteStream:
    """The registry of dashboard clients and the Bus listener that feeds them."""

    def __init__(self, latest: Mapping[str, Quote], interval: float = 0.2) -> None:
        self._latest = latest
        self.interval = interval
        self._by_code: dict[str, set[StreamClient]] = {}
        self._everything: set[StreamClient] = set()
        self.clients: set[StreamClient] = set()

    def on_quotes(self, quotes: list[Quote]) -> None:
        """The Bus listener."""
        by_code, everything = self._by_code, self._everything
        for quote in quotes:
            for client in by_code.get(quote.symbol.full, ()):
                client.offer(quote)
            for client in everything:
                client.offer(quote)

    def add(self, client: StreamClient) -> None:
        self.clients.add(client)

    def remove(self, client: StreamClient) -> None:
        self.clients.discard(client)
        self._everything.discard(client)
        for code in client.codes:
            watchers = self._by_code.get(code)
            if watchers is not None:
                watchers.discard(client)
                if not watchers:
                    del self._by_code[code]
        client.codes.clear()

    def subscribe(self, client: StreamClient, codes: Iterable[str], *, everything: bool) -> None:
        """Add subscriptions (full codes, already checked) and offer their latest quotes."""
        if everything:
            client.everything = True
            self._everything.add(client)
            for known in self._latest.values():
                client.offer(known)
        for code in codes:
            if code not in client.codes:
                client.codes.add(code)
                self._by_code.setdefault(code, set()).add(client)
            quote = self._latest.get(code)
            if quote is not None:
                client.offer(quote)

    def unsubscribe(self, client: StreamClient, codes: Iterable[str], *, everything: bool) -> None:
        if everything:
            client.everything = False
            self._everything.discard(client)
        for code in codes:
            if code in client.codes:
                client.codes.discard(code)
                watchers = self._by_code.get(code)
                if watchers is not None:
                    watchers.discard(client)
                    if not watchers:
                        del self._by_code[code]
