"""A backtest's figures: returns, risk, trades, costs, and the benchmark side by side.

:func:`compute_metrics` turns a :class:`~.model.BacktestResult` into a JSON-able dict
(definitions in ``docs/backtest.md``, "Metrics"):

* money (``final_equity``, ``pnl``, ``fees_paid``, ...) is a ``Decimal`` rendered as a string
  to the cent; ratios are floats rounded to 6 places; a figure that is undefined (a Sharpe
  ratio of a flat curve, a profit factor without a losing trade) is ``None``, never NaN or
  infinity;
* returns are daily, from the starting cash to the first close and from close to close;
  annualised over :data:`TRADING_DAYS` (242) trading days; the risk-free rate is 0 unless
  ``risk_free`` (a yearly rate) is given;
* win rate and profit factor are over round trips: each sell matched first-in first-out
  against the buys of the same code by the same strategy, fees of both legs included.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any

from .model import BacktestResult, CorporateAction, TradeRecord

TRADING_DAYS = 242  # A-share trading days in a year
PLACES = 6
CENT = Decimal("0.01")

# Metrics a sweep can sort by; higher is better for each except where the name says cost.
SORTABLE: tuple[str, ...] = (
    "total_return", "annual_return", "sharpe", "sortino", "max_drawdown", "win_rate",
    "profit_factor", "turnover", "exposure", "trades", "round_trips", "fees_paid",
    "final_equity", "pnl", "excess_return",
)  # fmt: skip


def money(value: Decimal) -> str:
    """A Decimal amount as a string to the cent (half up)."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _ratio(value: float | None) -> float | None:
    """Rounded, or None when not a finite number."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, PLACES)


def _returns(values: Sequence[float]) -> list[float]:
    """Simple returns between consecutive values; a step from 0 or below counts as 0."""
    return [(after / before - 1.0) if before > 0 else 0.0 for before, after in pairwise(values)]


def _annual(total: float, days: int) -> float | None:
    if days <= 0:
        return None
    if total <= -1.0:
        return -1.0
    try:
        return math.expm1(math.log1p(total) * TRADING_DAYS / days)
    except OverflowError:  # a short, wild run: no meaningful yearly figure
        return None


def _sharpe(returns: Sequence[float], risk_free_daily: float) -> float | None:
    """Mean excess daily return over its sample standard deviation, times sqrt(242)."""
    if len(returns) < 2:
        return None
    excess = [r - risk_free_daily for r in returns]
    mean = sum(excess) / len(excess)
    variance = sum((x - mean) ** 2 for x in excess) / (len(excess) - 1)
    std = math.sqrt(variance)
    # A flat curve's float noise is no volatility: a ratio over it would be meaningless.
    if std <= 1e-12:
        return None
    return mean / std * math.sqrt(TRADING_DAYS)


def _sortino(returns: Sequence[float], risk_free_daily: float) -> float | None:
    """Mean excess daily return over the downside deviation (root mean square of the
    negative excess returns, over all days), times sqrt(242)."""
    if len(returns) < 2:
        return None
    excess = [r - risk_free_daily for r in returns]
    mean = sum(excess) / len(excess)
    downside = math.sqrt(sum(min(0.0, x) ** 2 for x in excess) / len(excess))
    if downside <= 1e-12:
        return None
    return mean / downside * math.sqrt(TRADING_DAYS)


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall from a running peak: ``depth`` is <= 0 (-0.25 is a 25% fall)."""

    depth: float
    peak: date | None
    trough: date | None
    recovery: date | None  # the first close back at the peak's value; None if never

    def as_json(self) -> dict[str, Any]:
        return {
            "max_drawdown": _ratio(self.depth),
            "max_drawdown_peak": self.peak.isoformat() if self.peak else None,
            "max_drawdown_trough": self.trough.isoformat() if self.trough else None,
            "max_drawdown_recovery": self.recovery.isoformat() if self.recovery else None,
        }


def drawdown_series(values: Sequence[float]) -> list[float]:
    """Each close's fall from the running peak (<= 0), for the charts."""
    out: list[float] = []
    peak = -math.inf
    for value in values:
        peak = max(peak, value)
        out.append(value / peak - 1.0 if peak > 0 else 0.0)
    return out


def max_drawdown(days: Sequence[date], values: Sequence[float]) -> Drawdown:
    """The deepest drawdown over the closes, with its peak, trough and recovery dates."""
    if not values:
        return Drawdown(0.0, None, None, None)
    peak_index = 0
    worst, worst_peak, worst_trough = 0.0, 0, 0
    for index, value in enumerate(values):
        if value > values[peak_index]:
            peak_index = index
        peak_value = values[peak_index]
        depth = value / peak_value - 1.0 if peak_value > 0 else 0.0
        if depth < worst:
            worst, worst_peak, worst_trough = depth, peak_index, index
    if worst == 0.0:
        return Drawdown(0.0, None, None, None)
    target = values[worst_peak]
    recovery = next(
        (days[i] for i in range(worst_trough + 1, len(values)) if values[i] >= target), None
    )
    return Drawdown(worst, days[worst_peak], days[worst_trough], recovery)


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """Shares of one sell matched FIFO against earlier buys of the same code (see
    :func:`round_trips`); ``strategy`` opened the position, ``closed_by`` sold it."""

    strategy: str
    code: str
    opened: date  # the first matched buy's date
    closed: date
    quantity: Decimal  # shares closed (Decimal: an ex-date can make fractional lots)
    pnl: Decimal  # proceeds - cost - both legs' fees (the buys' fees pro rata)
    closed_by: str = ""


@dataclass(slots=True)
class _Lot:
    strategy: str
    day: date
    quantity: Decimal
    price: Decimal
    fee_per_share: Decimal


@dataclass(slots=True)
class _Closing:
    first: date  # the oldest matched lot's day
    shares: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)


def _adjust(lots: dict[str, list[_Lot]], action: CorporateAction) -> None:
    for lot in lots.get(action.code, ()):
        if lot.day < action.date:
            lot.quantity *= action.ratio
            lot.price /= action.ratio
            lot.fee_per_share /= action.ratio


def round_trips(
    trades: Sequence[TradeRecord], actions: Sequence[CorporateAction] = ()
) -> list[RoundTrip]:
    """Round trips by FIFO per code per strategy; open lots at the end are not counted.

    A sell closes the selling strategy's own lots of the code first (oldest first). The
    account holds one position per code, so a strategy may sell what another bought (the
    stop-loss sells what dip-buy bought): what its own lots do not cover closes the other
    strategies' lots, oldest first, as a round trip of the strategy that opened them. A
    sell of shares no buy in the run accounts for is no round trip.

    An applied corporate action (an ex-date across which held shares were adjusted)
    multiplies the shares of the lots bought before it by its ratio and divides their
    price by it, so a sell after a bonus issue matches the adjusted holding.
    """
    adjustments = sorted((a for a in actions if a.applied and a.ratio > 0), key=lambda a: a.date)
    lots: dict[str, list[_Lot]] = defaultdict(list)  # by code, oldest first
    out: list[RoundTrip] = []
    pending = 0
    for trade in sorted(trades, key=lambda t: t.date):  # stable: same-day order kept
        while pending < len(adjustments) and adjustments[pending].date <= trade.date:
            _adjust(lots, adjustments[pending])
            pending += 1
        quantity = Decimal(trade.quantity)
        if quantity <= 0:
            continue
        held = lots[trade.code]
        if trade.side == "buy":
            held.append(
                _Lot(trade.strategy, trade.date, quantity, trade.price, trade.fee / quantity)
            )
            continue
        own = [lot for lot in held if lot.strategy == trade.strategy]
        others = [lot for lot in held if lot.strategy != trade.strategy]
        remaining = quantity
        closing: dict[str, _Closing] = {}  # by the strategy that opened the lots
        for lot in (*own, *others):
            if remaining <= 0:
                break
            take = min(remaining, lot.quantity)
            part = closing.setdefault(lot.strategy, _Closing(lot.day))
            part.shares += take
            part.cost += take * (lot.price + lot.fee_per_share)
            remaining -= take
            lot.quantity -= take
        lots[trade.code] = [lot for lot in held if lot.quantity > 0]
        for opener, part in closing.items():
            sell_fee = trade.fee * part.shares / quantity
            pnl = part.shares * trade.price - sell_fee - part.cost
            out.append(
                RoundTrip(opener, trade.code, part.first, trade.date, part.shares, pnl,
                          trade.strategy)
            )  # fmt: skip
    return out


def _series_figures(
    days: Sequence[date], values: Sequence[float], start: float | None, risk_free_daily: float
) -> dict[str, Any]:
    """Total and annual return, Sharpe, Sortino and drawdown of one equity-like series:
    from ``start`` (the starting cash) to the last close, or from its first value to its
    last when ``start`` is None (a benchmark)."""
    returns = _returns(values if start is None else [start, *values])
    base = values[0] if start is None and values else start
    total = values[-1] / base - 1.0 if values and base is not None and base > 0 else 0.0
    return {
        "total_return": _ratio(total),
        "annual_return": _ratio(_annual(total, len(returns))),
        "sharpe": _ratio(_sharpe(returns, risk_free_daily)),
        "sortino": _ratio(_sortino(returns, risk_free_daily)),
        **max_drawdown(days, values).as_json(),
    }


def compute_metrics(result: BacktestResult, *, risk_free: float = 0.0) -> dict[str, Any]:
    """The report's figures for ``result`` (see the module docstring); ``risk_free`` is a
    yearly rate, spread evenly over 242 trading days."""
    risk_free_daily = risk_free / TRADING_DAYS
    cash = result.config.cash
    days = [point.date for point in result.equity]
    values = [float(point.equity) for point in result.equity]
    figures = _series_figures(days, values, float(cash), risk_free_daily)

    trades = result.trades
    fees = sum((t.fee for t in trades), Decimal(0))
    traded = sum((t.price * t.quantity for t in trades), Decimal(0))
    average_equity = (
        sum((p.equity for p in result.equity), Decimal(0)) / len(result.equity)
        if (result.equity)
        else cash
    )
    trips = round_trips(trades, result.corporate_actions)
    wins = [t.pnl for t in trips if t.pnl > 0]
    losses = [t.pnl for t in trips if t.pnl < 0]
    gross_profit = sum(wins, Decimal(0))
    gross_loss = -sum(losses, Decimal(0))
    exposure = (
        sum(float(p.exposure) for p in result.equity) / len(result.equity) if result.equity else 0.0
    )

    metrics: dict[str, Any] = {
        "start": days[0].isoformat() if days else None,
        "end": days[-1].isoformat() if days else None,
        "days": len(days),
        "initial_cash": money(cash),
        "final_equity": money(result.final_equity),
        "pnl": money(result.final_equity - cash),
        **figures,
        "trades": len(trades),
        "buys": sum(1 for t in trades if t.side == "buy"),
        "sells": sum(1 for t in trades if t.side == "sell"),
        "round_trips": len(trips),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": _ratio(len(wins) / len(trips)) if trips else None,
        "gross_profit": money(gross_profit),
        "gross_loss": money(gross_loss),
        "profit_factor": _ratio(float(gross_profit / gross_loss)) if gross_loss > 0 else None,
        "fees_paid": money(fees),
        "traded_value": money(traded),
        "turnover": _ratio(float(traded / average_equity)) if average_equity > 0 else None,
        "exposure": _ratio(exposure),
        "risk_free": risk_free,
        "refusals": len(result.refusals),
        "corporate_actions": len(result.corporate_actions),
        "benchmark": None,
        "excess_return": None,
    }
    if result.benchmark:
        bench_days = [d for d, _ in result.benchmark]
        bench_values = [float(v) for _, v in result.benchmark]
        bench = _series_figures(bench_days, bench_values, None, risk_free_daily)
        bench["name"] = result.config.benchmark
        metrics["benchmark"] = bench
        if figures["total_return"] is not None and bench["total_return"] is not None:
            metrics["excess_return"] = _ratio(figures["total_return"] - bench["total_return"])
    return metrics


def sort_value(metrics: dict[str, Any], name: str) -> float | None:
    """A metric as a number for sorting (money strings too); None when it is undefined."""
    value = metrics.get(name)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return float(Decimal(value))
    if isinstance(value, int | float):
        return float(value)
    return None
