"""Quotes and bars."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .symbols import Symbol


@dataclass(frozen=True, slots=True)
class Level:
    """One price level of the order book; volume in shares."""

    price: Decimal
    volume: int


@dataclass(frozen=True, slots=True)
class Quote:
    """A Level-1 snapshot. Volume in shares, amount in CNY, both cumulative for the day."""

    symbol: Symbol
    name: str
    ts: datetime
    last: Decimal
    previous_close: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    volume: int
    amount: Decimal
    bids: tuple[Level, ...] = field(default_factory=tuple)
    asks: tuple[Level, ...] = field(default_factory=tuple)
    limit_up: Decimal | None = None
    limit_down: Decimal | None = None
    # The source says the security has no price limit today (a new listing's first days);
    # limits None and this False mean the source did not say, and users work them out.
    no_limit: bool = False

    @property
    def change_pct(self) -> Decimal:
        """Change from the previous close as a fraction (-0.05 is -5%)."""
        if self.previous_close == 0:
            return Decimal(0)
        return (self.last - self.previous_close) / self.previous_close


@dataclass(frozen=True, slots=True)
class Bar:
    """An OHLCV bar labelled by its end time. ``freq`` is ``1m`` or ``1d``."""

    symbol: Symbol
    freq: str
    end: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    amount: Decimal
