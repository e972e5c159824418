"""Hand-built quotes, daily bars and market states for strategy tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal

from aigupiao.core.clock import BEIJING
from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Bar, Quote
from aigupiao.domain.sessions import previous_trading_day
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.strategy.base import StrategyContext
from aigupiao.strategy.state import MarketState

TODAY = date(2026, 3, 3)  # a Tuesday, a trading day
NOW = datetime.combine(TODAY, time(10, 0), BEIJING)
PINGAN = parse_symbol("sz000001")
MOUTAI = parse_symbol("sh600519")


def quote(
    symbol: Symbol,
    last: str,
    previous_close: str = "10.00",
    *,
    name: str = "测试",
    now: datetime = NOW,
    volume: int = 1_000_000,
    open_: str | None = None,
    high: str | None = None,
    low: str | None = None,
    amount: str | None = None,
    limits: tuple[str, str] | None = None,
) -> Quote:
    price = Decimal(last)
    return Quote(
        symbol=symbol,
        name=name,
        ts=now,
        last=price,
        previous_close=Decimal(previous_close),
        open=Decimal(open_) if open_ else price,
        high=Decimal(high) if high else price,
        low=Decimal(low) if low else price,
        volume=volume,
        amount=Decimal(amount) if amount else price * volume,
        limit_up=Decimal(limits[0]) if limits else None,
        limit_down=Decimal(limits[1]) if limits else None,
    )


def trading_days_before(day: date, count: int) -> list[date]:
    days = []
    for _ in range(count):
        day = previous_trading_day(day)
        days.append(day)
    return days[::-1]


def bars(
    symbol: Symbol,
    closes: Sequence[float],
    *,
    volume: int = 1_000_000,
    before: date = TODAY,
    ohlc: Sequence[tuple[float, float, float, float]] | None = None,
) -> list[Bar]:
    """Daily bars ending the trading day before ``before``: from closes (open = high = low
    = close) or from explicit (open, high, low, close) rows."""
    rows = ohlc if ohlc is not None else [(c, c, c, c) for c in closes]
    days = trading_days_before(before, len(rows))
    return [
        Bar(symbol, "1d", datetime.combine(day, time(15), BEIJING),
            *(Decimal(str(v)) for v in row), volume, Decimal(str(row[3])) * volume)
        for day, row in zip(days, rows, strict=True)
    ]  # fmt: skip


def context(
    state: MarketState, *, now: datetime = NOW, positions: Sequence[Position] = ()
) -> StrategyContext:
    account = Account("acct", cash=Decimal(1_000_000), positions=tuple(positions))
    return StrategyContext(now=now, quotes=state.quotes, account=account, market=state)


def holding(symbol: Symbol, shares: int = 1000, cost: str = "10.00") -> Position:
    return Position(symbol, total=shares, available=shares, cost_price=Decimal(cost))
