"""StopLoss: the agent.risk_threshold rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from aigupiao.core.clock import BEIJING
from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import parse_symbol
from aigupiao.strategy.base import StrategyContext
from aigupiao.strategy.stop_loss import StopLoss

MOUTAI = parse_symbol("600519")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING)


def _quote(last: str) -> Quote:
    price = Decimal(last)
    return Quote(MOUTAI, "贵州茅台", NOW, price, Decimal("1500"), price, price, price, 100,
                 price * 100)  # fmt: skip


def _context(last: str, *, available: int = 100, now: datetime = NOW) -> StrategyContext:
    position = Position(MOUTAI, total=100, available=available, cost_price=Decimal("1500"))
    account = Account("paper-1", cash=Decimal("100000"), positions=(position,))
    return StrategyContext(now=now, quotes={"sh600519": _quote(last)}, account=account)


def test_sells_everything_available_below_the_threshold() -> None:
    (signal,) = StopLoss(Decimal("0.08")).evaluate(_context("1379.99"))
    assert signal.side is Side.SELL and signal.quantity == 100 and signal.price is None
    assert signal.inputs["loss_pct"] == "-8.00" and "stop-loss" in signal.reason


def test_holds_at_or_above_the_threshold() -> None:
    assert StopLoss(Decimal("0.08")).evaluate(_context("1380.00")) == []
    assert StopLoss(Decimal("0.08")).evaluate(_context("1450")) == []


def test_t_plus_1_shares_bought_today_are_not_sold() -> None:
    assert StopLoss().evaluate(_context("1000", available=0)) == []


def test_once_per_symbol_per_day() -> None:
    rule = StopLoss()
    assert len(rule.evaluate(_context("1000"))) == 1
    assert rule.evaluate(_context("1000")) == []
    tomorrow = NOW + timedelta(days=1)
    assert len(rule.evaluate(_context("1000", now=tomorrow))) == 1


def test_no_account_no_signal() -> None:
    context = StrategyContext(now=NOW, quotes={"sh600519": _quote("1000")}, account=None)
    assert StopLoss().evaluate(context) == []
