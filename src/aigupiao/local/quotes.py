"""Quotes for a paper broker on a standalone node, polled from the cloud.

The node authenticates with its own token. The paper broker's clock follows
the market time of the quotes it receives, so a node trading a simulated
cloud market sees the same trading day as the cloud.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from aigupiao.core import jsontext
from aigupiao.core.clock import Clock
from aigupiao.core.retry import Backoff
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.symbols import parse_symbol

log = logging.getLogger(__name__)


class _QuoteClock:
    """Market time as of the newest quote; ``fallback`` before the first quote."""

    def __init__(self, cache: CloudQuoteCache, fallback: Clock) -> None:
        self._cache, self._fallback = cache, fallback

    def now(self) -> datetime:
        return self._cache.market_time or self._fallback.now()

    def today(self) -> date:
        return self.now().date()


class CloudQuoteCache:
    def __init__(
        self, api_url: str, token: str, *, interval: float = 1.0, ca_file: Path | None = None
    ) -> None:
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_file) if ca_file is not None else True
        )
        self._client = httpx.AsyncClient(
            base_url=api_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            verify=verify,
        )
        self._interval = interval
        self._quotes: dict[str, Quote] = {}
        self.market_time: datetime | None = None
        self.last_error: str | None = None

    async def first_quotes(self, timeout: float) -> bool:
        """Wait (up to ``timeout`` s) for the first poll, so the paper broker's clock and
        prices are the cloud market's before any order arrives."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.market_time is None:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def get(self, code: str) -> Quote | None:
        return self._quotes.get(code)

    def clock(self, fallback: Clock) -> Clock:
        return _QuoteClock(self, fallback)

    async def run(self, on_quote: Callable[[Quote], None]) -> None:
        backoff = Backoff(initial=1.0, maximum=30.0)
        while True:
            try:
                response = await self._client.get("/api/quotes")
                response.raise_for_status()
                for row in jsontext.loads(response.content):  # depth-limited: a peer's text
                    quote = quote_from_public(row)
                    self._quotes[quote.symbol.full] = quote
                    if self.market_time is None or quote.ts > self.market_time:
                        self.market_time = quote.ts
                    on_quote(quote)
                self.last_error = None
                backoff.reset()
                await asyncio.sleep(self._interval)
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("quote poll failed: %s", self.last_error)
                await asyncio.sleep(backoff.next_delay())

    async def close(self) -> None:
        await self._client.aclose()


def quote_from_public(row: dict[str, Any]) -> Quote:
    """Parse one item of the cloud's ``GET /api/quotes``."""

    def levels(pairs: list[list[Any]]) -> tuple[Level, ...]:
        return tuple(Level(Decimal(price), int(volume)) for price, volume in pairs)

    def optional(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return Quote(
        symbol=parse_symbol(row["code"]),
        name=row["name"],
        ts=datetime.fromisoformat(row["ts"]),
        last=Decimal(row["last"]),
        previous_close=Decimal(row["previous_close"]),
        open=Decimal(row["open"]),
        high=Decimal(row["high"]),
        low=Decimal(row["low"]),
        volume=int(row["volume"]),
        amount=Decimal(row["amount"]),
        bids=levels(row["bids"]),
        asks=levels(row["asks"]),
        limit_up=optional(row.get("limit_up")),
        limit_down=optional(row.get("limit_down")),
        no_limit=bool(row.get("no_limit", False)),
    )
