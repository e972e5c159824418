"""The sells the gate proposes itself: the risk_threshold stop-loss and the trailing stop."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import parse_symbol
from aigupiao.risk import ExitSignal, RiskGate, RiskLimits, StateRecord, TradingState
from aigupiao.risk.stops import EXIT_RETRY

from .test_gate import MOUTAI, NOW, at, quote

ACCOUNT = "paper-1"


def holding(available: int = 100, total: int = 100, cost: str = "1500") -> Account:
    position = Position(MOUTAI, total=total, available=available, cost_price=Decimal(cost))
    return Account(ACCOUNT, cash=Decimal("100000"), positions=(position,))


def quotes(last: str) -> dict[str, Quote]:
    return {"sh600519": quote(MOUTAI, last, limit_up="1650.00", limit_down="1350.00")}


def exits(
    gate: RiskGate, last: str, account: Account | None = None, now: datetime = NOW
) -> list[ExitSignal]:
    return gate.exits(ACCOUNT, account or holding(), quotes(last), now)


def test_sells_everything_available_below_the_stop_loss() -> None:
    # Cost 1500, risk_threshold 8%: the line is 1380.00; only a price below it sells.
    gate = RiskGate(RiskLimits())
    assert exits(gate, "1380.00") == []
    (signal,) = exits(gate, "1379.99")
    assert signal.rule == "stop_loss" and signal.side is Side.SELL
    assert signal.quantity == 100 and signal.price is None
    assert signal.inputs["loss_pct"] == "-8.00" and signal.inputs["risk_threshold"] == "0.08"
    assert "止损" in signal.reason and "stop-loss" in signal.reason


def test_the_threshold_comes_from_the_accounts_limits() -> None:
    gate = RiskGate(RiskLimits())
    gate.account_limits[ACCOUNT] = RiskLimits(risk_threshold=Decimal("0.2"))
    assert exits(gate, "1379.99") == []
    assert len(exits(gate, "1199.99")) == 1


def test_t_plus_1_shares_bought_today_wait() -> None:
    gate = RiskGate(RiskLimits())
    assert exits(gate, "1000", holding(available=0)) == []
    (signal,) = exits(gate, "1000", holding(available=100, total=300))
    assert signal.quantity == 100


def test_proposed_again_only_after_the_retry_interval() -> None:
    gate = RiskGate(RiskLimits())
    assert len(exits(gate, "1000")) == 1
    assert exits(gate, "1000", now=NOW + EXIT_RETRY - timedelta(microseconds=1)) == []
    assert len(exits(gate, "1000", now=NOW + EXIT_RETRY)) == 1


def test_only_in_continuous_trading_and_never_while_halted() -> None:
    gate = RiskGate(RiskLimits())
    assert exits(gate, "1000", now=at(12, 0)) == []
    assert exits(gate, "1000", now=at(9, 20)) == []
    gate.set_state(ACCOUNT, StateRecord(TradingState.HALTED))
    assert exits(gate, "1000") == []
    gate.set_state(ACCOUNT, StateRecord(TradingState.REDUCING))  # exits are what it allows
    assert len(exits(gate, "1000")) == 1


def test_trailing_stop_from_the_high_since_buying() -> None:
    gate = RiskGate(RiskLimits(trailing_stop=Decimal("0.05")))
    account = holding(cost="1400")
    assert exits(gate, "1600.00", account) == []  # the high is now 1600
    assert gate.stop_book(ACCOUNT).highs == {"sh600519": Decimal("1600.00")}
    assert exits(gate, "1520.00", account) == []  # exactly 5% below
    (signal,) = exits(gate, "1519.99", account)
    assert signal.rule == "trailing_stop"
    assert signal.inputs["high"] == "1600.00" and signal.inputs["trailing_stop"] == "0.05"


def test_the_high_starts_at_cost_and_is_forgotten_when_sold() -> None:
    gate = RiskGate(RiskLimits(trailing_stop=Decimal("0.05")))
    account = holding(cost="1500")
    gate.observe(ACCOUNT, account, quotes("1450"), NOW)  # bought at 1500, now lower
    assert gate.stop_book(ACCOUNT).highs == {"sh600519": Decimal("1500")}
    sold = Account(ACCOUNT, cash=Decimal("250000"))
    assert gate.observe(ACCOUNT, sold, {}, NOW).highs_changed
    assert gate.stop_book(ACCOUNT).highs == {}


def test_other_positions_are_left_alone() -> None:
    gate = RiskGate(RiskLimits())
    pingan = parse_symbol("sz000001")
    account = Account(
        ACCOUNT,
        cash=Decimal(0),
        positions=(
            Position(MOUTAI, 100, 100, Decimal("1500")),
            Position(pingan, 1000, 1000, Decimal("10.00"), last_price=Decimal("10.50")),
        ),
    )
    signals = exits(gate, "1000", account)
    assert [s.symbol for s in signals] == [MOUTAI]
