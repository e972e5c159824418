"""The feed contract.

A feed is a long-running coroutine that turns one source (the simulator, a
replay file, the chagubang TCP push, Tencent or Sina HTTP polling) into
batches of normalised :class:`~aigupiao.domain.market.Quote` objects:

* ``run(publish, stop)`` calls ``publish(quotes)`` on the event loop with each
  batch (never an empty one) until ``stop`` is set, then returns. ``publish``
  must not block; a feed never awaits it.
* It keeps itself connected: after a dropped connection, a refused request or
  a timeout it logs once and reconnects with :class:`aigupiao.core.retry.Backoff`.
  Only an error the user must fix (a bad token, a missing file) ends ``run``,
  by raising :class:`FeedError` with a Chinese and an English message.
* Units are normalised at the edge: prices and amounts in CNY as ``Decimal``,
  volumes in shares (cumulative for the day), times timezone-aware.
* Records that cannot be parsed are counted in ``stats`` and logged once per
  kind with the source (see ``QuietLog``), never published.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from aigupiao.domain.market import Quote

Publish = Callable[[list[Quote]], None]


class FeedError(Exception):
    """A feed cannot go on without the user's help (bad token, unreadable file)."""

    def __init__(self, message_zh: str, message_en: str, *, code: str = "feed_error") -> None:
        super().__init__(f"{message_zh} ({message_en})")
        self.message_zh, self.message_en, self.code = message_zh, message_en, code


@dataclass
class FeedStats:
    """What a feed has seen: published quotes, refused records by reason, reconnects."""

    published: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0


class Feed(Protocol):
    name: str
    stats: FeedStats

    async def run(self, publish: Publish, stop: asyncio.Event) -> None: ...
