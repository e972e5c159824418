"""The gate's rules at their boundaries: each just passes on one side and fails on the other,
naming its rule and the values behind it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import Symbol
from aigupiao.risk import RiskGate, RiskLimits, RiskVerdict, StateRecord, TradingState

from .test_gate import ETF, MOUTAI, NOW, PINGAN, STAR, assert_rejected, at, quote

# Limits that stay out of the way of the rule under test.
OPEN = RiskLimits(
    max_position_size=Decimal(1),
    max_positions=None,
    daily_loss_limit=None,
    max_orders_per_minute=None,
    duplicate_window=0,
)


def pingan(last: str = "10.00") -> Quote:
    return quote(PINGAN, last, limit_up="11.00", limit_down="9.00")


def acct(cash: str = "1000000", *positions: Position) -> Account:
    return Account(id="paper-1", cash=Decimal(cash), positions=positions)


def held(
    symbol: Symbol = PINGAN, total: int = 1000, cost: str = "10.00", available: int | None = None
) -> Position:
    return Position(
        symbol, total=total, available=total if available is None else available,
        cost_price=Decimal(cost),
    )  # fmt: skip


def run(
    gate: RiskGate,
    *,
    side: Side = Side.BUY,
    quantity: int = 100,
    price: str | None = "10.00",
    q: Quote | None = None,
    account: Account | None = None,
    now: datetime = NOW,
    client_order_id: str | None = None,
) -> RiskVerdict:
    return gate.check(
        side=side,
        quantity=quantity,
        price=None if price is None else Decimal(price),
        quote=q or pingan(),
        account=account or acct(),
        now=now,
        client_order_id=client_order_id,
    )


# -- price cage (continuous trading, limit orders) ---------------------------------


def test_price_cage_buy_boundary() -> None:
    # Best ask 10.01: SZ main board cage max(10.01 x 102%, 10.01 + 10 ticks) = 10.2102.
    gate = RiskGate(OPEN)
    assert run(gate, price="10.21").accepted
    verdict = run(gate, price="10.22")
    assert_rejected(verdict, "price_cage")
    assert verdict.values["cage_bound"] == "10.2102" and verdict.values["price"] == "10.22"


def test_price_cage_sell_boundary() -> None:
    # Best bid 10.00: a sell may not be below min(10.00 x 98%, 10.00 - 10 ticks) = 9.80.
    gate = RiskGate(OPEN)
    account = acct("0", held())
    assert run(gate, side=Side.SELL, price="9.80", account=account).accepted
    assert_rejected(run(gate, side=Side.SELL, price="9.79", account=account), "price_cage")


def test_no_price_cage_in_the_call_auction_nor_for_funds() -> None:
    gate = RiskGate(OPEN)
    assert run(gate, price="10.50", now=at(9, 20)).accepted
    etf = quote(ETF, "4.000", limit_up="4.400", limit_down="3.600")
    assert run(gate, price="4.300", q=etf).accepted


def test_price_limit_values() -> None:
    verdict = run(RiskGate(OPEN), price="11.01", now=at(9, 20))
    assert_rejected(verdict, "price_limit")
    assert verdict.values["limit_up"] == "11.00" and verdict.values["limit_down"] == "9.00"


def test_market_order_maximum_on_star() -> None:
    star = quote(STAR, "50.00", limit_up="60.00", limit_down="40.00")
    gate = RiskGate(OPEN)
    rich = acct("100000000")
    assert run(gate, quantity=50_000, price=None, q=star, account=rich).accepted
    verdict = run(gate, quantity=50_001, price=None, q=star, account=rich)
    assert_rejected(verdict, "max_order_size")
    assert verdict.values["quantity"] == 50_001


def test_lot_values() -> None:
    verdict = run(RiskGate(OPEN), quantity=150)
    assert_rejected(verdict, "lot")
    assert verdict.values == {
        "code": "sz000001",
        "quantity": 150,
        "available": None,
        "lot_minimum": 100,
        "lot_step": 100,
    }


def test_limit_orders_refused_at_lunch() -> None:
    verdict = run(RiskGate(OPEN), now=at(12, 0))
    assert_rejected(verdict, "trading_hours")
    assert verdict.values["phase"] == "lunch"


# -- cash and T+1 --------------------------------------------------------------------


def test_cash_boundary_of_a_market_buy() -> None:
    # Worst price limit up 11.00: 100 x 11.00 x 1.001 = 1101.10.
    gate = RiskGate(OPEN)
    verdict = run(gate, price=None, account=acct("1101.09"))
    assert_rejected(verdict, "cash")
    assert verdict.values["needed"] == "1101.10" and verdict.values["worst_price"] == "11.00"
    assert run(gate, price=None, account=acct("1101.10")).accepted


def test_t_plus_1_available_boundary() -> None:
    gate = RiskGate(OPEN)
    account = acct("0", held(total=1000, available=300))
    assert run(gate, side=Side.SELL, quantity=300, account=account).accepted
    verdict = run(gate, side=Side.SELL, quantity=400, account=account)
    assert_rejected(verdict, "available")
    assert verdict.values["available"] == 300


# -- max_position_size ---------------------------------------------------------------


def test_max_position_size_boundary() -> None:
    # Equity 1,000,000 -> cap 100,000 = 10,000 shares at 10.00.
    gate = RiskGate(RiskLimits(max_position_size=Decimal("0.1"), duplicate_window=0))
    assert run(gate, quantity=10_000).accepted
    verdict = run(gate, quantity=10_100)
    assert_rejected(verdict, "max_position_size")
    assert verdict.values == {
        "position_value": "101000.00",
        "cap": "100000.00",
        "equity": "1000000.00",
        "max_position_size": "0.1",
    }


def test_max_position_size_values_positions_at_the_latest_quote() -> None:
    # 5,000 shares bought at 10.00 now trade at 20.00: 100,000 already, the cap of 10%
    # of equity (900,000 cash + 100,000) leaves no room.
    gate = RiskGate(RiskLimits(duplicate_window=0, max_positions=None))
    q = quote(PINGAN, "20.00", limit_up="22.00", limit_down="18.00")
    position = Position(PINGAN, 5000, 5000, Decimal("10.00"), last_price=Decimal("20.00"))
    verdict = run(gate, price="20.00", q=q, account=acct("900000", position))
    assert_rejected(verdict, "max_position_size")


# -- stop-loss and trailing stop -----------------------------------------------------


def test_no_buying_more_below_the_stop_loss() -> None:
    # Cost 10.00, risk_threshold 8%: the line is 9.20; below it, no more buying.
    gate = RiskGate(OPEN)
    account = acct("1000000", held(cost="10.00"))
    assert run(gate, price="9.20", q=pingan("9.20"), account=account).accepted
    verdict = run(gate, price="9.19", q=pingan("9.19"), account=account)
    assert_rejected(verdict, "stop_loss")
    assert verdict.values["cost_price"] == "10.00" and verdict.values["last"] == "9.19"
    assert verdict.values["risk_threshold"] == "0.08"


def test_the_stop_loss_threshold_is_configurable() -> None:
    gate = RiskGate(replace(OPEN, risk_threshold=Decimal("0.2")))
    account = acct("1000000", held(cost="10.00"))
    assert run(gate, price="9.19", q=pingan("9.19"), account=account).accepted


def test_no_buying_more_past_the_trailing_stop() -> None:
    limits = replace(OPEN, trailing_stop=Decimal("0.1"))
    gate = RiskGate(limits)
    account = acct("1000000", held(cost="10.00"))
    up = quote(PINGAN, "10.80", limit_up="11.00", limit_down="9.00")
    gate.observe("paper-1", account, {"sz000001": up}, NOW)  # the high since buying: 10.80
    assert gate.stop_book("paper-1").highs == {"sz000001": Decimal("10.80")}
    assert run(gate, price="9.72", q=pingan("9.72"), account=account).accepted  # 10% below
    verdict = run(gate, price="9.71", q=pingan("9.71"), account=account)
    assert_rejected(verdict, "trailing_stop")
    assert verdict.values["high"] == "10.80"


def test_without_a_trailing_stop_the_high_does_not_matter() -> None:
    gate = RiskGate(OPEN)
    account = acct("1000000", held(cost="9.00"))
    gate.observe("paper-1", account, {"sz000001": pingan("10.80")}, NOW)
    assert run(gate, price="9.50", q=pingan("9.50"), account=account).accepted


# -- max_positions -------------------------------------------------------------------


def test_max_positions_boundary() -> None:
    limits = replace(OPEN, max_positions=2)
    gate = RiskGate(limits)
    moutai = Position(MOUTAI, 100, 100, Decimal("1400"))
    one = acct("1000000", moutai)
    two = acct("1000000", moutai, Position(ETF, 100, 100, Decimal("4")))
    assert run(gate, account=one).accepted
    verdict = run(gate, account=two)
    assert_rejected(verdict, "max_positions")
    assert verdict.values == {"positions": 2, "max_positions": 2}
    more = acct("1000000", moutai, held())  # adding to a symbol already held
    assert run(gate, account=more).accepted
    # Sells are never limited by it.
    assert run(gate, side=Side.SELL, account=acct("0", moutai, held(), held(ETF))).accepted


# -- daily loss ----------------------------------------------------------------------


def _equity(cash: str) -> Account:
    return acct(cash, held(total=1000, cost="10.00"))  # 10,000 in stock at 10.00


def test_daily_loss_turns_the_account_to_reducing_once() -> None:
    gate = RiskGate(RiskLimits(daily_loss_limit=Decimal("0.05")))
    quotes = {"sz000001": pingan()}
    first = gate.observe("paper-1", _equity("990000"), quotes, NOW)  # equity 1,000,000
    assert first.day_started is not None and first.day_started.equity == Decimal("1000000.00")
    # 49,999 lost: below 5%, nothing happens.
    assert gate.observe("paper-1", _equity("940001"), quotes, NOW).state_change is None
    seen = gate.observe("paper-1", _equity("940000"), quotes, NOW)  # exactly 5%
    assert seen.state_change is not None
    before, after = seen.state_change
    assert before.state is TradingState.ACTIVE and after.state is TradingState.REDUCING
    assert after.source == "daily_loss" and after.actor == "risk" and "5.00%" in after.reason
    assert gate.state_for("paper-1").state is TradingState.REDUCING
    buy = run(gate, account=_equity("940000"))
    assert_rejected(buy, "daily_loss")
    assert buy.values["state"] == "reducing"
    sell = run(gate, side=Side.SELL, account=_equity("940000"))
    assert sell.accepted
    # A person resumes: the state stays resumed that day, but buys are still past the limit.
    gate.set_state("paper-1", StateRecord(TradingState.ACTIVE, actor="ops", source="cli"))
    assert gate.observe("paper-1", _equity("930000"), quotes, NOW).state_change is None
    verdict = run(gate, account=_equity("940000"))
    assert_rejected(verdict, "daily_loss")
    assert verdict.values["loss_pct"] == "5.00" and verdict.values["start_equity"] == "1000000.00"


def test_daily_loss_counts_from_each_days_start() -> None:
    gate = RiskGate(RiskLimits(daily_loss_limit=Decimal("0.05"), max_positions=None))
    quotes = {"sz000001": pingan()}
    gate.observe("paper-1", _equity("990000"), quotes, NOW)
    tomorrow = NOW + timedelta(days=1)
    seen = gate.observe("paper-1", _equity("900000"), quotes, tomorrow)
    assert seen.day_started is not None and seen.state_change is None
    assert run(gate, account=_equity("900000"), now=tomorrow).accepted


def test_daily_loss_counts_unrealised_losses_at_the_latest_quotes() -> None:
    gate = RiskGate(RiskLimits(daily_loss_limit=Decimal("0.01")))
    account = acct("0", held(total=100_000, cost="10.00"))  # equity 1,000,000
    gate.observe("paper-1", account, {"sz000001": pingan("10.00")}, NOW)
    seen = gate.observe("paper-1", account, {"sz000001": pingan("9.90")}, NOW)
    assert seen.state_change is not None  # 10,000 lost = 1%


def test_daily_loss_limit_off() -> None:
    gate = RiskGate(RiskLimits(daily_loss_limit=None))
    gate.observe("paper-1", _equity("990000"), {}, NOW)
    assert gate.observe("paper-1", _equity("0"), {}, NOW).state_change is None


# -- order rate and duplicates -------------------------------------------------------


def test_orders_per_minute_boundary() -> None:
    limits = replace(OPEN, max_orders_per_minute=3)
    gate = RiskGate(limits)
    for n in range(3):
        assert run(gate, quantity=100 * (n + 1), now=NOW).accepted
    verdict = run(gate, quantity=900, now=NOW + timedelta(seconds=59))
    assert_rejected(verdict, "order_rate")
    assert verdict.values == {"orders_last_minute": 3, "max_orders_per_minute": 3}
    assert_rejected(run(gate, quantity=900, now=NOW + timedelta(seconds=60)), "order_rate")
    later = NOW + timedelta(seconds=60, microseconds=1)
    assert run(gate, quantity=900, now=later).accepted


def test_refused_orders_do_not_count_toward_the_rate() -> None:
    limits = replace(OPEN, max_orders_per_minute=1)
    gate = RiskGate(limits)
    assert_rejected(run(gate, quantity=150), "lot")
    assert run(gate).accepted


def test_duplicate_window_boundary() -> None:
    limits = replace(OPEN, duplicate_window=10)
    gate = RiskGate(limits)
    assert run(gate, now=NOW).accepted
    verdict = run(gate, now=NOW + timedelta(seconds=10))
    assert_rejected(verdict, "duplicate")
    assert verdict.values["duplicate_window"] == 10 and verdict.values["seconds_ago"] == 10.0
    assert run(gate, now=NOW + timedelta(seconds=10, microseconds=1)).accepted


def test_what_is_not_a_duplicate() -> None:
    limits = replace(OPEN, duplicate_window=10)
    gate = RiskGate(limits)
    assert run(gate).accepted
    assert run(gate, quantity=200).accepted  # another quantity
    account = acct("1000000", held())
    assert run(gate, side=Side.SELL, account=account).accepted  # another side
    etf = quote(ETF, "4.000", limit_up="4.400", limit_down="3.600")
    assert run(gate, price="4.000", q=etf).accepted  # another code
    # Two orders each with its own client order id are two orders ...
    assert run(gate, quantity=300, client_order_id="a").accepted
    assert run(gate, quantity=300, client_order_id="b").accepted
    # ... but the same id again, or no id, is a duplicate.
    assert_rejected(run(gate, quantity=300, client_order_id="b"), "duplicate")
    assert_rejected(run(gate, quantity=300), "duplicate")
    # Another account's orders are its own.
    other = Account(id="paper-2", cash=Decimal(1000000))
    assert run(gate, quantity=300, account=other).accepted


def test_duplicate_window_off() -> None:
    gate = RiskGate(OPEN)
    assert run(gate).accepted and run(gate).accepted


# -- trading state: global and per account -------------------------------------------


@pytest.mark.parametrize(
    ("global_state", "account_state", "side", "rule", "scope"),
    [
        (TradingState.HALTED, TradingState.ACTIVE, Side.SELL, "trading_state", "global"),
        (TradingState.ACTIVE, TradingState.HALTED, Side.SELL, "trading_state", "account"),
        (TradingState.REDUCING, TradingState.HALTED, Side.SELL, "trading_state", "account"),
        (TradingState.REDUCING, TradingState.ACTIVE, Side.BUY, "trading_state", "global"),
        (TradingState.ACTIVE, TradingState.REDUCING, Side.BUY, "trading_state", "account"),
        (TradingState.REDUCING, TradingState.REDUCING, Side.SELL, None, None),
        (TradingState.ACTIVE, TradingState.ACTIVE, Side.BUY, None, None),
    ],
)
def test_the_stricter_of_global_and_account_state_applies(
    global_state: TradingState,
    account_state: TradingState,
    side: Side,
    rule: str | None,
    scope: str | None,
) -> None:
    gate = RiskGate(OPEN)
    gate.set_state(None, StateRecord(global_state, reason="g"))
    gate.set_state("paper-1", StateRecord(account_state, reason="a"))
    verdict = run(gate, side=side, account=acct("1000000", held()))
    if rule is None:
        assert verdict.accepted, verdict.message
        return
    assert_rejected(verdict, rule)
    assert verdict.values["scope"] == scope
    assert verdict.values["reason"] == ("g" if scope == "global" else "a")


def test_another_accounts_state_does_not_apply() -> None:
    gate = RiskGate(OPEN)
    gate.set_state("paper-2", StateRecord(TradingState.HALTED))
    assert run(gate).accepted


def test_the_halt_reason_is_in_the_message() -> None:
    gate = RiskGate(OPEN)
    gate.set_state(None, StateRecord(TradingState.HALTED, reason="行情异常 feed broken"))
    verdict = run(gate)
    assert "行情异常 feed broken" in (verdict.message or "")
    assert verdict.as_dict()["code"] == "trading_state"


def test_per_account_limits() -> None:
    gate = RiskGate(RiskLimits(max_orders_per_minute=1, duplicate_window=0))
    gate.account_limits["paper-2"] = RiskLimits(max_orders_per_minute=2, duplicate_window=0)
    assert gate.limits_for("paper-1").max_orders_per_minute == 1
    other = Account(id="paper-2", cash=Decimal(1000000))
    assert run(gate, account=other).accepted and run(gate, account=other).accepted
    assert_rejected(run(gate, account=other), "order_rate")
    assert run(gate).accepted
    assert_rejected(run(gate), "order_rate")
