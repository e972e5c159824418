"""Securities, the latest quote per symbol, and bars."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from aigupiao.domain.market import Bar, Level, Quote

from ..models import BarRow, QuoteRow, SymbolRow
from ._base import Repository, table, text_value

_symbols = table(SymbolRow)
_quotes = table(QuoteRow)
_bars = table(BarRow)


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


def _levels(levels: tuple[Level, ...]) -> list[list[Any]]:
    return [[str(level.price), level.volume] for level in levels]


class SymbolRepo(Repository):
    async def upsert_many(self, rows: list[dict[str, Any]]) -> None:
        """Insert or update securities: code (``sh600519``), exchange, board, name,
        previous_close (may be None) and is_st (default False)."""
        now = self._now()
        values = [
            {
                "code": text_value(row["code"]),
                "exchange": text_value(row["exchange"]),
                "board": text_value(row["board"]),
                "name": row["name"],
                "previous_close": row.get("previous_close"),
                "is_st": bool(row.get("is_st", False)),
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
        await self._upsert(_bars, rows, ["symbol", "freq", "end"])

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
