"""Positions and accounts.

A position has a ``total`` and an ``available`` quantity: under T+1 a buy
raises only the total; at the start of the next trading day available = total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .symbols import Symbol


@dataclass(frozen=True, slots=True)
class Position:
    symbol: Symbol
    total: int
    available: int
    cost_price: Decimal  # average cost per share, fees included
    last_price: Decimal | None = None

    @property
    def market_value(self) -> Decimal:
        price = self.last_price if self.last_price is not None else self.cost_price
        return price * self.total

    @property
    def unrealized_pnl(self) -> Decimal:
        if self.last_price is None:
            return Decimal(0)
        return (self.last_price - self.cost_price) * self.total


@dataclass(frozen=True, slots=True)
class Account:
    """A snapshot of one trading account (live or paper)."""

    id: str
    cash: Decimal  # available cash
    frozen_cash: Decimal = Decimal(0)
    positions: tuple[Position, ...] = field(default_factory=tuple)
    paper: bool = True

    @property
    def market_value(self) -> Decimal:
        return sum((p.market_value for p in self.positions), Decimal(0))

    @property
    def equity(self) -> Decimal:
        return self.cash + self.frozen_cash + self.market_value

    def position(self, symbol: Symbol) -> Position | None:
        return next((p for p in self.positions if p.symbol == symbol), None)
