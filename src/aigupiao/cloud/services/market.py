"""Market data on the cloud: the latest quote per symbol, kept in memory and stored.

A feed is anything with ``async run(publish, stop)``; the CLI picks which.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from aigupiao.core.bus import Bus
from aigupiao.domain.market import Quote
from aigupiao.store import Database, QuoteRepo

from .ledger import Stats

log = logging.getLogger(__name__)

QUOTES = "quotes"


class Feed(Protocol):
    async def run(self, publish: Callable[[list[Quote]], None], stop: asyncio.Event) -> None: ...


class MarketService:
    def __init__(self, db: Database, stats: Stats, store_interval: float) -> None:
        self._db, self._stats = db, stats
        self._store_interval = store_interval
        self.latest: dict[str, Quote] = {}
        self._dirty: dict[str, Quote] = {}
        self.bus = Bus()  # a listener that raises is logged; the feed goes on

    def subscribe(self, listener: Callable[[list[Quote]], None]) -> None:
        """Call ``listener`` with every batch of quotes, after ``latest`` has them."""
        self.bus.subscribe(QUOTES, listener)

    def publish(self, quotes: list[Quote]) -> None:
        """Take a batch of quotes from a feed (must be called on the event loop)."""
        for quote in quotes:
            code = quote.symbol.full
            self.latest[code] = quote
            self._dirty[code] = quote
        self._stats.quotes += len(quotes)
        self.bus.publish(QUOTES, quotes)

    def quote(self, code: str) -> Quote | None:
        return self.latest.get(code)

    async def store_loop(self, stop: asyncio.Event) -> None:
        """Flush changed quotes to ``quotes_latest`` every ``store_interval`` seconds."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self._store_interval)
            except TimeoutError:
                pass
            await self.flush()

    async def flush(self) -> None:
        if not self._dirty:
            return
        batch, self._dirty = list(self._dirty.values()), {}
        async with self._db.session() as session:
            await QuoteRepo(session).upsert_latest(batch)
            await session.commit()
