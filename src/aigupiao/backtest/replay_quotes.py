"""The stored quotes of a day, handed to the replay round by round without holding the day.

A day of raw snapshots is hundreds of thousands of quotes (about 3 KB each as objects), so
the feeds read the database in chunks (keyset pages) and keep only what the next rounds
need. Each round :meth:`QuoteFeed.take` answers the quotes to feed now:

* **by arrival** (recorded rounds, raw snapshots): those received up to the round's
  wall-clock time, as live saw them; and, looking ``lookahead`` ahead, those received
  later whose own time is ``late_after`` or more before the round (late quotes: fed on
  time, as a backtest sees them, and named);
* **by time** (no recorded rounds, or 1-minute bars): those whose time is up to the round.

:class:`ListFeed` does the same over a list (tests, small days).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aigupiao.domain.errors import DomainError
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.symbols import parse_symbol
from aigupiao.store import Database
from aigupiao.store.repositories.rounds import ReplayRepo


@dataclass(frozen=True, slots=True)
class StoredQuote:
    id: int
    quote: Quote
    received_at: datetime | None  # None for quotes made from bars


CHUNK = 20_000
LOOKAHEAD = timedelta(seconds=60)  # wall-clock: a quote later than this counts when it came
Taken = tuple[list[StoredQuote], dict[str, StoredQuote]]  # to feed; the late ones by code


class QuoteFeed:
    """Quotes by arrival or by time; see the module docstring."""

    source = "raw"

    def __init__(self, *, by_arrival: bool, late_after: timedelta = timedelta(seconds=2)) -> None:
        self.by_arrival = by_arrival
        self.late_after = late_after
        self._buffer: deque[StoredQuote] = deque()
        self._late_fed: set[int] = set()
        self._done = False

    async def take(self, ts: datetime, wall: datetime | None) -> Taken:
        """The quotes to feed at a round of market time ``ts`` (and wall time ``wall``)."""
        if self.by_arrival and wall is not None:
            return await self._by_arrival(ts, wall)
        await self._fill(lambda last: last.quote.ts > ts)
        batch = []
        while self._buffer and self._buffer[0].quote.ts <= ts:
            batch.append(self._buffer.popleft())
        return batch, {}

    async def _by_arrival(self, ts: datetime, wall: datetime) -> Taken:
        horizon = wall + LOOKAHEAD

        def far(last: StoredQuote) -> bool:
            return last.received_at is not None and last.received_at > horizon

        await self._fill(far)
        batch: list[StoredQuote] = []
        buffer = self._buffer
        while buffer and buffer[0].received_at is not None and buffer[0].received_at <= wall:
            stored = buffer.popleft()
            if stored.id in self._late_fed:
                self._late_fed.discard(stored.id)
            else:
                batch.append(stored)
        late: dict[str, StoredQuote] = {}
        cutoff = ts - self.late_after
        for stored in buffer:
            if stored.quote.ts <= cutoff and stored.id not in self._late_fed:
                self._late_fed.add(stored.id)
                batch.append(stored)
                late[stored.quote.symbol.full] = stored
        return batch, late

    async def _fill(self, enough: Any) -> None:
        while not self._done and (not self._buffer or not enough(self._buffer[-1])):
            page = await self._page()
            if not page:
                self._done = True
            self._buffer.extend(page)

    async def _page(self) -> list[StoredQuote]:
        return []


class ListFeed(QuoteFeed):
    """A feed over quotes already in memory (in arrival order when ``by_arrival``)."""

    def __init__(
        self,
        quotes: Iterable[StoredQuote],
        *,
        by_arrival: bool = True,
        source: str = "raw",
        late_after: timedelta = timedelta(seconds=2),
    ) -> None:
        super().__init__(by_arrival=by_arrival, late_after=late_after)
        items = list(quotes)
        if by_arrival:
            items.sort(key=lambda stored: (stored.received_at or stored.quote.ts, stored.id))
        else:
            items.sort(key=lambda stored: (stored.quote.ts, stored.id))
        self._items: list[StoredQuote] | None = items
        self.source = source

    async def _page(self) -> list[StoredQuote]:
        items, self._items = self._items, None
        return items or []


class RawFeed(QuoteFeed):
    """``quotes_raw`` of ``[start, end)`` in pages, by arrival or by time."""

    def __init__(
        self,
        db: Database,
        start: datetime,
        end: datetime,
        names: Mapping[str, str],
        *,
        by_arrival: bool,
        late_after: timedelta = timedelta(seconds=2),
        chunk: int = CHUNK,
    ) -> None:
        super().__init__(by_arrival=by_arrival, late_after=late_after)
        self._db, self._start, self._end, self._names = db, start, end, names
        self._chunk = chunk
        self._after: tuple[datetime, int] | None = None

    async def _page(self) -> list[StoredQuote]:
        async with self._db.session() as session:
            rows = await ReplayRepo(session).raw_page(
                self._start, self._end, after=self._after, by_arrival=self.by_arrival,
                limit=self._chunk,
            )  # fmt: skip
        if rows:
            last = rows[-1]
            self._after = (last["received_at"] if self.by_arrival else last["ts"], last["id"])
        return [raw_quote(row, self._names) for row in rows]


class BarFeed(QuoteFeed):
    """1-minute bars of ``(start, end]`` in pages, each as the quote at its end: last =
    close, the day's open, high, low, volume and amount so far; the previous close from
    ``closes`` (the latest daily bar before the day), else the day's first open."""

    source = "bars"

    def __init__(
        self,
        db: Database,
        start: datetime,
        end: datetime,
        names: Mapping[str, str],
        closes: Mapping[str, Decimal],
        *,
        chunk: int = CHUNK,
    ) -> None:
        super().__init__(by_arrival=False)
        self._db, self._start, self._end, self._names = db, start, end, names
        self._closes, self._chunk = closes, chunk
        self._after: tuple[datetime, str] | None = None
        self._day: dict[str, list[Any]] = {}  # code -> [open, high, low, volume, amount, prev]
        self._count = 0

    async def _page(self) -> list[StoredQuote]:
        async with self._db.session() as session:
            rows = await ReplayRepo(session).bar_page(
                self._start, self._end, after=self._after, limit=self._chunk
            )
        if rows:
            self._after = (rows[-1]["end"], rows[-1]["symbol"])
        return [quote for row in rows if (quote := self._quote(row)) is not None]

    def _quote(self, row: dict[str, Any]) -> StoredQuote | None:
        try:
            symbol = parse_symbol(row["symbol"])
        except DomainError:
            return None
        so_far = self._day.get(symbol.full)
        if so_far is None:
            previous = self._closes.get(symbol.full, row["open"])
            so_far = self._day[symbol.full] = [row["open"], row["high"], row["low"], 0,
                                               Decimal(0), previous]  # fmt: skip
        so_far[1], so_far[2] = max(so_far[1], row["high"]), min(so_far[2], row["low"])
        so_far[3] += int(row["volume"])
        so_far[4] += row["amount"]
        self._count += 1
        quote = Quote(
            symbol=symbol, name=self._names.get(symbol.full, ""), ts=row["end"],
            last=row["close"], previous_close=so_far[5], open=so_far[0], high=so_far[1],
            low=so_far[2], volume=so_far[3], amount=so_far[4],
        )  # fmt: skip
        return StoredQuote(self._count, quote, None)


def _levels(levels: Any) -> tuple[Level, ...]:
    return tuple(Level(Decimal(str(price)), int(volume)) for price, volume in levels or ())


def raw_quote(row: dict[str, Any], names: Mapping[str, str]) -> StoredQuote:
    """A ``quotes_raw`` row as the quote it stored, with its arrival time."""
    symbol = parse_symbol(row["symbol"])
    quote = Quote(
        symbol=symbol,
        name=names.get(symbol.full, ""),
        ts=row["ts"],
        last=row["last"],
        previous_close=row["previous_close"],
        open=row["open"],
        high=row["high"],
        low=row["low"],
        volume=int(row["volume"]),
        amount=row["amount"],
        bids=_levels(row["bids"]),
        asks=_levels(row["asks"]),
        limit_up=row["limit_up"],
        limit_down=row["limit_down"],
    )
    return StoredQuote(int(row["id"]), quote, row["received_at"])
