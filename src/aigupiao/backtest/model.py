"""What a backtest is given and what it returns: the contract between the engine, the
report, the sweep, the CLI, the API and the dashboard.

* :class:`BacktestConfig` - a run's settings, validated (pydantic): bad input raises
  ``pydantic.ValidationError`` or :class:`BacktestInputError`, each naming what is wrong.
* :func:`aigupiao.backtest.engine.run_backtest` takes a config and returns a
  :class:`BacktestResult`; it reports progress through a :data:`ProgressFn` and stops
  with :class:`BacktestCancelled` when its ``cancel`` event is set (never half a result).
* Money and prices are ``Decimal`` everywhere here; the equity curve is ``Decimal`` too
  (the report turns it into floats only to draw it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aigupiao.domain.errors import DomainError


class FillModel(StrEnum):
    NEXT_OPEN = "next_open"  # the next bar's open (backtrader's default)
    NEXT_CLOSE = "next_close"  # the next bar's close
    VWAP = "vwap"  # the next bar's amount / volume (its average price where amount is missing)


class Rules(StrEnum):
    ASHARE = "ashare"  # every rule of the paper broker: lots, ticks, limits, T+1, fees, sessions
    NONE = "none"  # backtrader's model: no lots, limits or T+1; only the given commission


class StrategyRun(BaseModel):
    """One strategy of a run and its parameters (validated against its config model)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class BacktestConfig(BaseModel):
    """A run's settings. ``data`` are files or folders of daily or minute bars."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategies: tuple[StrategyRun, ...] = Field(min_length=1, max_length=16)
    data: tuple[Path, ...] = Field(default=(), max_length=64)
    database_bars: bool = False  # read the database's stored bars instead of files
    codes: tuple[str, ...] = Field(default=(), max_length=10_000)  # full codes; () = all
    start: date | None = None
    end: date | None = None
    cash: Decimal = Field(default=Decimal("1000000"), gt=0, le=Decimal("1e12"))
    fill: FillModel = FillModel.NEXT_OPEN
    rules: Rules = Rules.ASHARE
    # None: the paper broker's fee schedule
    commission: Decimal | None = Field(default=None, ge=0, le=Decimal("0.01"))
    min_commission: Decimal | None = Field(default=None, ge=0, le=Decimal("1000"))
    size: int | None = Field(default=None, gt=0, le=100_000_000)  # shares per order, overrides
    benchmark: str | None = None  # a full code, or "buy_and_hold"
    adj_factors: Path | None = None  # tushare adj_factor layout

    @model_validator(mode="after")
    def _dates(self) -> BacktestConfig:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end} (empty date range)")
        if not self.data and not self.database_bars:
            raise ValueError("give --data (a file or a folder) or use the database's bars")
        return self


class BacktestInputError(DomainError):
    """Bad input found while running: unreadable data, a code with no data, no bars in range."""

    code = "backtest_input"


class BacktestCancelled(Exception):
    """The run's cancel event was set; nothing of it is a result."""


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One fill of the backtest."""

    date: date
    code: str  # full code, e.g. sh600519
    side: str  # buy / sell
    price: Decimal
    quantity: int
    fee: Decimal
    strategy: str
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(), "code": self.code, "side": self.side,
            "price": str(self.price), "quantity": self.quantity, "fee": str(self.fee),
            "strategy": self.strategy, "reason": self.reason,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """The account at one bar's close."""

    date: date
    equity: Decimal  # cash + positions at close
    cash: Decimal
    exposure: Decimal  # positions' value / equity, in [0, 1]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A signal that did not become an order, with the rule that refused it."""

    date: date
    code: str
    side: str
    rule: str  # the gate's or the rules' code, e.g. limit_up, t_plus_1, lot
    strategy: str


@dataclass(frozen=True, slots=True)
class CorporateAction:
    """A move no price limit allows between two bars: a suspected ex-date."""

    code: str
    date: date
    previous_close: Decimal
    open: Decimal
    ratio: Decimal  # previous_close / open, the factor held shares are adjusted by
    applied: bool  # a held position was adjusted across it


@dataclass(slots=True)
class BacktestResult:
    """Everything a report needs. ``metrics`` is filled by :mod:`.metrics`."""

    config: BacktestConfig
    trades: list[TradeRecord]
    equity: list[EquityPoint]  # one per trading day (or bar) in the range
    bars: int  # bars read in range
    seconds: float
    final_equity: Decimal
    refusals: list[Refusal] = field(default_factory=list)
    corporate_actions: list[CorporateAction] = field(default_factory=list)
    benchmark: list[tuple[date, Decimal]] = field(default_factory=list)  # equity-like series
    # closes by code, for the charts
    prices: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


ProgressFn = Callable[[int, int], None]  # (done, total) in bars or days; called often, cheap
CancelEvent = threading.Event
