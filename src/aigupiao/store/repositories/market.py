"""Securities, the latest quote per symbol, raw snapshots, and bars."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from aigupiao.domain.market import Bar, Level, Quote

from ..models import BarRow, QuoteRow, RawQuoteRow, SymbolRow
from ._base import Repository, table, text_value

_symbols = table(SymbolRow)
_quotes = table(QuoteRow)
_bars = table(BarRow)
_raw = table(RawQuoteRow)


class QuoteRepo(Repository):
    async def upsert_latest(self, quotes: list[Quote]) -> None:
        """Keep the given quotes as the latest per symbol (the last one wins within a batch).

        ``bids`` and ``asks`` are stored as JSON ``[[price as str, volume], ...]``.
        """
        received_at = self._now()
        rows = [
            {
                "symbol": quote.symbol.full,
                "ts": quote.ts,
                "last": quote.last,
                "previous_close": quote.previous_close,
                "open": quote.open,
                "high": quote.high,
                "low": quote.low,
                "volume": quote.volume,
                "amount": quote.amount,
                "bids": _levels(quote.bids),
                "asks": _levels(quote.asks),
                "received_at": received_at,
            }
            for quote in quotes
        ]
        await self._upsert(_quotes, rows, ["symbol"])

    async def get_latest(self, symbol: str) -> dict[str, Any] | None:
        return await self._one(select(_quotes).where(_quotes.c.symbol == text_value(symbol)))


class RawQuoteRepo(Repository):
    """Raw snapshots (``quotes_raw``): appended in batches, deleted by age."""

    async def add_many(self, quotes: Sequence[tuple[str, Quote, datetime]]) -> int:
        """Append ``(source, quote, received_at)`` rows in one statement; returns the count."""
        if not quotes:
            return 0
        rows = [
            {
                "symbol": quote.symbol.full,
                "ts": quote.ts,
                "source": source,
                "last": quote.last,
                "previous_close": quote.previous_close,
                "open": quote.open,
                "high": quote.high,
                "low": quote.low,
                "volume": quote.volume,
                "amount": quote.amount,
                "bids": _levels(quote.bids),
                "asks": _levels(quote.asks),
                "limit_up": quote.limit_up,
                "limit_down": quote.limit_down,
                "received_at": received_at,
            }
            for source, quote, received_at in quotes
        ]
        await self._session.execute(insert(_raw), rows)
        return len(rows)

    async def delete_before(self, cutoff: datetime, *, limit: int = 10_000) -> int:
        """Delete up to ``limit`` rows with ``ts < cutoff``; returns how many went.

        Call it until it returns less than ``limit``, committing in between, so neither
        database holds a long write transaction.
        """
        doomed = select(_raw.c.id).where(_raw.c.ts < cutoff).limit(limit).scalar_subquery()
        return await self._execute_count(delete(_raw).where(_raw.c.id.in_(doomed)))

    async def list(
        self,
        symbol: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Snapshots of one symbol with ``start <= ts <= end``, oldest first (the first
        ``limit`` of them)."""
        c = _raw.c
        statement = select(_raw).where(c.symbol == text_value(symbol))
        if start is not None:
            statement = statement.where(c.ts >= start)
        if end is not None:
            statement = statement.where(c.ts <= end)
        return await self._all(statement.order_by(c.ts, c.id).limit(limit))

    async def count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(_raw)) or 0)


def _levels(levels: tuple[Level, ...]) -> list[list[Any]]:
    return [[str(level.price), level.volume] for level in levels]


class SymbolRepo(Repository):
    async def upsert_many(self, rows: list[dict[str, Any]]) -> None:
        """Insert or update securities: code (``sh600519``), exchange, board, name,
        previous_close (may be None), is_st (default False), and the security facts
        special, listed_on, fund_kind, limit_ratio (default None) and settlement
        (default ``T+1``)."""
        now = self._now()
        values = [
            {
                "code": text_value(row["code"]),
                "exchange": text_value(row["exchange"]),
                "board": text_value(row["board"]),
                "name": row["name"],
                "previous_close": row.get("previous_close"),
                "is_st": bool(row.get("is_st", False)),
                "special": row.get("special"),
                "listed_on": row.get("listed_on"),
                "fund_kind": row.get("fund_kind"),
                "settlement": row.get("settlement", "T+1"),
                "limit_ratio": row.get("limit_ratio"),
                "updated_at": now,
            }
            for row in rows
        ]
        await self._upsert(_symbols, values, ["code"])

    async def get(self, code: str) -> dict[str, Any] | None:
        return await self._one(select(_symbols).where(_symbols.c.code == text_value(code)))

    async def list(self) -> list[dict[str, Any]]:
        return await self._all(select(_symbols).order_by(_symbols.c.code))


class BarRepo(Repository):
    async def upsert_many(self, bars: list[Bar]) -> None:
        """Store bars; a bar with the same symbol, freq and end replaces the stored one."""
        rows = [
            {
                "symbol": bar.symbol.full,
                "freq": bar.freq,
                "end": bar.end,
                "open": bar.open,
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "volume": bar.volume,
                "amount": bar.amount,
            }
            for bar in bars
        ]
        if not rows:
            return
        # One statement run with many parameter sets (compiled once): several times faster
        # than a multi-row VALUES per chunk for imports of a million daily bars. A key may
        # occur once per statement on PostgreSQL, so the last bar per key wins first.
        unique = list({(row["symbol"], row["freq"], row["end"]): row for row in rows}.values())
        statement = self._prepared("bars.upsert", self._bar_upsert)
        await self._session.execute(statement, unique)

    def _bar_upsert(self) -> Any:
        statement = self._insert(_bars)
        keys = ("symbol", "freq", "end")
        return statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={c.name: statement.excluded[c.name] for c in _bars.c if c.name not in keys},
        )

    async def list(
        self,
        symbol: str,
        freq: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Bars of one symbol and freq with ``start <= end <= end``, oldest first;
        the newest ``limit`` of them when more match."""
        c = _bars.c
        statement = select(_bars).where(c.symbol == text_value(symbol), c.freq == freq)
        if start is not None:
            statement = statement.where(c.end >= start)
        if end is not None:
            statement = statement.where(c.end <= end)
        newest = await self._all(statement.order_by(c.end.desc()).limit(limit))
        return newest[::-1]

    async def since(self, freq: str, start: datetime) -> Sequence[dict[str, Any]]:
        """Every bar of ``freq`` ending at ``start`` or later, by symbol, oldest first
        (the agent loads the daily history of the whole market with it)."""
        c = _bars.c
        return await self._all(
            select(_bars).where(c.freq == freq, c.end >= start).order_by(c.symbol, c.end)
        )
