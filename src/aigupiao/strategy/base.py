"""The Strategy interface.

A strategy reads market and portfolio state through a read-only
:class:`StrategyContext` and returns :class:`Signal` objects. It never calls a
broker: the agent turns signals into decisions, puts each through the risk
gate, and only accepted decisions become commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from aigupiao.domain.account import Account
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import Symbol


@dataclass(frozen=True, slots=True)
class Signal:
    symbol: Symbol
    side: Side
    quantity: int
    price: Decimal | None  # None = market
    reason: str
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StrategyContext:
    now: datetime
    quotes: Mapping[str, Quote]  # by full code, e.g. "sh600519"
    account: Account | None


class OncePerDay:
    """Remembers which symbols a strategy has proposed today; forgets at the next trading date."""

    def __init__(self) -> None:
        self._day: date | None = None
        self._codes: set[str] = set()

    def remember(self, day: date, codes: set[str]) -> None:
        """Restore the symbols already proposed on ``day`` (after a restart)."""
        self._day, self._codes = day, set(codes)

    def start(self, today: date) -> None:
        if today != self._day:
            self._day, self._codes = today, set()

    def seen(self, code: str) -> bool:
        return code in self._codes

    def add(self, code: str) -> None:
        self._codes.add(code)


class Strategy(Protocol):
    name: str

    def evaluate(self, context: StrategyContext) -> list[Signal]: ...
