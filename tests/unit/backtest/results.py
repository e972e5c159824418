"""Small hand-made backtest results for the metrics, report and sweep tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from aigupiao.backtest.model import (
    BacktestConfig,
    BacktestResult,
    CorporateAction,
    EquityPoint,
    StrategyRun,
    TradeRecord,
)

D1 = date(2024, 1, 2)


def day(n: int) -> date:
    """The n-th day of the series (1-based), calendar days are enough here."""
    return D1 + timedelta(days=n - 1)


def config(cash: str = "100", benchmark: str | None = None) -> BacktestConfig:
    return BacktestConfig(
        strategies=(StrategyRun(name="ma_cross"),),
        data=(Path("data.csv"),),
        cash=Decimal(cash),
        benchmark=benchmark,
    )


def trade(
    n: int, side: str, price: str, quantity: int, fee: str = "0", *, code: str = "sh600000",
    strategy: str = "ma_cross",
) -> TradeRecord:  # fmt: skip
    return TradeRecord(day(n), code, side, Decimal(price), quantity, Decimal(fee), strategy)


def result(
    equity: Sequence[str],
    *,
    cash: str = "100",
    trades: Sequence[TradeRecord] = (),
    exposure: Sequence[str] | None = None,
    benchmark: Sequence[str] | None = None,
    actions: Sequence[CorporateAction] = (),
    prices: dict[str, list[tuple[date, Decimal]]] | None = None,
) -> BacktestResult:
    exposures = exposure or ["0"] * len(equity)
    points = [
        EquityPoint(day(i + 1), Decimal(value), Decimal(value), Decimal(exposures[i]))
        for i, value in enumerate(equity)
    ]
    return BacktestResult(
        config=config(cash, "buy_and_hold" if benchmark else None),
        trades=list(trades),
        equity=points,
        bars=len(equity),
        seconds=0.01,
        final_equity=Decimal(equity[-1]) if equity else Decimal(cash),
        corporate_actions=list(actions),
        benchmark=[(day(i + 1), Decimal(v)) for i, v in enumerate(benchmark or ())],
        prices=prices or {},
    )
