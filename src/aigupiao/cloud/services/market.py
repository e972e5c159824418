"""Market data on the cloud: every quote validated, the latest per symbol kept in memory
and stored, and fanned out on the Bus.

A feed is anything with ``async run(publish, stop)``; the CLI picks which. External
pushers (``POST /api/market/quotes``, ``WS /api/market/ws``) publish through the same
:meth:`MarketService.publish`, so every quote from every source passes the
:class:`~aigupiao.market.validate.QuoteValidator` before anything else sees it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aigupiao.core.bus import Bus
from aigupiao.core.clock import Clock, LiveClock
from aigupiao.domain.market import Quote
from aigupiao.market.quote_json import quote_from_dict
from aigupiao.market.validate import QuoteValidator, Refusal, Screened
from aigupiao.store import Database, QuoteRepo

from .ledger import Stats

log = logging.getLogger(__name__)

# Rows written per transaction by the storage tasks; the event loop runs the feed, the
# agent and the API's requests between two such writes. SQLite runs on the loop thread
# (about 30 ms per 1,000 rows), so a chunk is kept to a few ms: a dashboard request that
# arrives during a flush waits for one chunk, not for the whole market.
STORE_CHUNK = 250

QUOTES = "quotes"  # event: list[Quote], the accepted quotes of one batch
SOURCED = "quotes.sourced"  # event: SourcedBatch, the same with the source's name


@dataclass(frozen=True, slots=True)
class SourcedBatch:
    source: str
    quotes: list[Quote]


class Feed(Protocol):
    async def run(self, publish: Callable[[list[Quote]], None], stop: asyncio.Event) -> None: ...


class MarketService:
    """The latest quote per symbol, the validator in front of it, and the Bus behind it.

    Args:
        db: where ``quotes_latest`` is flushed.
        stats: the process counters (``quotes`` counts accepted quotes).
        store_interval: seconds between ``quotes_latest`` flushes.
        clock: the market clock stale and future quotes are judged against.
        max_quote_age: seconds; an older quote is refused as stale.
    """

    def __init__(
        self,
        db: Database,
        stats: Stats,
        store_interval: float,
        *,
        clock: Clock | None = None,
        max_quote_age: float = 120.0,
    ) -> None:
        self._db, self._stats = db, stats
        self._store_interval = store_interval
        self.validator = QuoteValidator(clock or LiveClock(), max_age=max_quote_age)
        self.latest: dict[str, Quote] = {}
        self._dirty: dict[str, Quote] = {}
        self.bus = Bus()  # a listener that raises is logged; the feed goes on

    def subscribe(self, listener: Callable[[list[Quote]], None]) -> Callable[[], None]:
        """Call ``listener`` with every batch of accepted quotes, after ``latest`` has them.
        Returns a function that unsubscribes it."""
        return self.bus.subscribe(QUOTES, listener)

    def subscribe_sourced(self, listener: Callable[[SourcedBatch], None]) -> Callable[[], None]:
        """Like :meth:`subscribe`, with the name of the source of each batch."""
        return self.bus.subscribe(SOURCED, listener)

    def publish(self, quotes: list[Quote], source: str = "feed") -> Screened:
        """Take a batch from a feed or pusher named ``source`` (call it on the event loop).

        Refused quotes are counted and logged by the validator and go nowhere else;
        the answer lists them with their index in the batch.
        """
        screened = self.validator.screen(quotes, source)
        accepted = screened.accepted
        if accepted:
            for quote in accepted:
                code = quote.symbol.full
                self.latest[code] = quote
                self._dirty[code] = quote
            self._stats.quotes += len(accepted)
            self.bus.publish(QUOTES, accepted)
            self.bus.publish(SOURCED, SourcedBatch(source, accepted))
        return screened

    def push(self, records: list[Any], source: str) -> dict[str, Any]:
        """Parse and publish records from an external pusher (the JSON shape of
        :mod:`aigupiao.market.quote_json`); the answer the pusher gets: how many were
        received and accepted, and for each refused one its index, code and reason."""
        refused: list[tuple[int, Refusal]] = []
        quotes: list[Quote] = []
        positions: list[int] = []
        for index, record in enumerate(records):
            parsed = quote_from_dict(record)
            if isinstance(parsed, Refusal):
                self.validator.refuse(source, parsed)
                refused.append((index, parsed))
            else:
                quotes.append(parsed)
                positions.append(index)
        accepted = 0
        if quotes:
            screened = self.publish(quotes, source=source)
            accepted = len(screened.accepted)
            refused.extend((positions[index], refusal) for index, refusal in screened.refused)
        refused.sort(key=lambda pair: pair[0])
        return {
            "received": len(records),
            "accepted": accepted,
            "refused": [
                {
                    "index": index,
                    "code": refusal.code,
                    "reason": refusal.reason.value,
                    "message": refusal.message,
                    "message_en": refusal.message_en,
                }
                for index, refusal in refused
            ],
        }

    def publisher(self, source: str) -> Callable[[list[Quote]], None]:
        """``publish`` bound to ``source``: what a feed's ``run`` is given."""

        def publish(quotes: list[Quote]) -> None:
            self.publish(quotes, source=source)

        return publish

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
        """Write the quotes changed since the last flush, :data:`STORE_CHUNK` rows per
        transaction with the loop free in between (a full market is thousands of rows,
        and quotes keep arriving meanwhile)."""
        if not self._dirty:
            return
        batch, self._dirty = list(self._dirty.values()), {}
        for start in range(0, len(batch), STORE_CHUNK):
            if start:
                await asyncio.sleep(0)
            async with self._db.session() as session:
                await QuoteRepo(session).upsert_latest(batch[start : start + STORE_CHUNK])
                await session.commit()
