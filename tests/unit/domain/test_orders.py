"""Orders: the state machine, fills, lot and tick checks."""

from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import datetime
from decimal import Decimal

import pytest

from aigupiao.domain.errors import DomainError, IllegalTransition, RuleViolation
from aigupiao.domain.orders import (
    ORDER_TRANSITIONS,
    Fees,
    Order,
    OrderStatus,
    OrderType,
    Side,
    Trade,
    check_price_tick,
    check_quantity,
)
from aigupiao.domain.symbols import Symbol, lot_rule, parse_symbol

D = Decimal
S = OrderStatus
HAN = re.compile(r"[\u4e00-\u9fff]")
MOUTAI = parse_symbol("600519")
SMIC = parse_symbol("688981")
BSE = parse_symbol("920000")
CATL = parse_symbol("300750")
ETF = parse_symbol("159915")
T0 = datetime(2026, 9, 14, 9, 31)


def new_order(quantity: int = 300, price: str | None = "10.00") -> Order:
    return Order(
        id="o-1",
        account="acc-1",
        symbol=MOUTAI,
        side=Side.BUY,
        type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        quantity=quantity,
        price=D(price) if price is not None else None,
        created_at=T0,
    )


# The specification, written out independently of ORDER_TRANSITIONS.
EXPECTED: dict[tuple[OrderStatus, str], OrderStatus] = {
    (S.NEW, "submit"): S.SUBMITTED,
    (S.NEW, "reject"): S.REJECTED,
    (S.SUBMITTED, "reject"): S.REJECTED,
    (S.SUBMITTED, "partial_fill"): S.PARTIALLY_FILLED,
    (S.SUBMITTED, "fill"): S.FILLED,
    (S.SUBMITTED, "request_cancel"): S.CANCEL_PENDING,
    (S.SUBMITTED, "cancel"): S.CANCELLED,
    (S.SUBMITTED, "expire"): S.EXPIRED,
    (S.PARTIALLY_FILLED, "partial_fill"): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, "fill"): S.FILLED,
    (S.PARTIALLY_FILLED, "request_cancel"): S.CANCEL_PENDING,
    (S.PARTIALLY_FILLED, "cancel"): S.CANCELLED,
    (S.PARTIALLY_FILLED, "expire"): S.EXPIRED,
    (S.CANCEL_PENDING, "partial_fill"): S.CANCEL_PENDING,
    (S.CANCEL_PENDING, "fill"): S.FILLED,
    (S.CANCEL_PENDING, "cancel"): S.CANCELLED,
}
TRIGGERS = ("submit", "reject", "partial_fill", "fill", "request_cancel", "cancel", "expire")


def test_transition_table_matches_the_specification() -> None:
    assert ORDER_TRANSITIONS == EXPECTED


def test_final_states_have_no_way_out() -> None:
    for (state, _trigger), _target in ORDER_TRANSITIONS.items():
        assert not state.is_final, state


def _in_state(status: OrderStatus) -> Order:
    """Reach ``status`` through legal moves (so filled amounts are consistent)."""
    order = new_order(quantity=300)
    paths = {
        S.NEW: lambda o: o,
        S.SUBMITTED: lambda o: o.submit("b-1"),
        S.PARTIALLY_FILLED: lambda o: o.submit("b-1").fill(100, D("10.00")),
        S.CANCEL_PENDING: lambda o: o.submit("b-1").request_cancel(),
        S.FILLED: lambda o: o.submit("b-1").fill(300, D("10.00")),
        S.CANCELLED: lambda o: o.submit("b-1").cancel("user"),
        S.REJECTED: lambda o: o.reject("废单"),
        S.EXPIRED: lambda o: o.submit("b-1").expire(),
    }
    result = paths[status](order)
    assert result.status is status
    return result


def _apply(order: Order, trigger: str) -> Order:
    if trigger == "submit":
        return order.submit("b-2")
    if trigger == "reject":
        return order.reject("why")
    if trigger == "request_cancel":
        return order.request_cancel()
    if trigger == "cancel":
        return order.cancel("why")
    if trigger == "expire":
        return order.expire()
    if trigger == "fill":
        return order.fill(order.remaining_quantity, D("10.00"))
    assert trigger == "partial_fill"
    return order.fill(1, D("10.00"))


@pytest.mark.parametrize(
    ("status", "trigger"),
    [
        (s, t)
        for s, t in itertools.product(OrderStatus, TRIGGERS)
        # FILLED has nothing left to fill: its fill errors are covered separately
        if not (s is S.FILLED and t in ("fill", "partial_fill"))
    ],
)
def test_every_state_trigger_pair_through_the_public_methods(
    status: OrderStatus, trigger: str
) -> None:
    order = _in_state(status)
    expected = EXPECTED.get((status, trigger))
    if expected is None:
        with pytest.raises(IllegalTransition) as info:
            _apply(order, trigger)
        assert info.value.code == "illegal_transition"
        assert status.value in info.value.message_en
        assert trigger in info.value.message_en
        assert HAN.search(info.value.message_zh)
    else:
        assert _apply(order, trigger).status is expected


def test_submit_then_partial_fill_then_fill() -> None:
    order = new_order(quantity=300)
    assert order.status is S.NEW
    assert order.remaining_quantity == 300
    assert order.average_price is None

    submitted = order.submit("B123")
    assert submitted.status is S.SUBMITTED
    assert submitted.broker_order_id == "B123"

    partial = submitted.fill(100, D("10.00"))
    assert partial.status is S.PARTIALLY_FILLED
    assert partial.filled_quantity == 100
    assert partial.remaining_quantity == 200
    assert partial.filled_amount == D("1000.00")

    again = partial.fill(100, D("10.02"))
    assert again.status is S.PARTIALLY_FILLED
    assert again.filled_quantity == 200

    filled = again.fill(100, D("10.04"))
    assert filled.status is S.FILLED
    assert filled.status.is_final
    assert filled.filled_quantity == 300
    assert filled.remaining_quantity == 0
    assert filled.filled_amount == D("3006.00")
    assert filled.average_price == D("10.02")
    assert filled.broker_order_id == "B123"


def test_transitions_return_new_orders_and_leave_the_original_alone() -> None:
    order = new_order()
    submitted = order.submit("B1")
    assert order.status is S.NEW
    assert order.broker_order_id is None
    assert submitted is not order
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.status = S.FILLED  # type: ignore[misc]


def test_one_fill_of_everything_goes_straight_to_filled() -> None:
    filled = new_order(quantity=200).submit("B1").fill(200, D("9.99"))
    assert filled.status is S.FILLED
    assert filled.average_price == D("9.99")


def test_cancel_after_partial_fill_keeps_the_fill() -> None:
    order = new_order(quantity=300).submit("B1").fill(100, D("10.00"))
    cancelled = order.cancel("用户撤单")
    assert cancelled.status is S.CANCELLED
    assert cancelled.status.is_final
    assert cancelled.filled_quantity == 100
    assert cancelled.remaining_quantity == 200
    assert cancelled.average_price == D("10.00")
    assert cancelled.reason == "用户撤单"


def test_request_cancel_then_late_fills_then_cancel() -> None:
    pending = new_order(quantity=300).submit("B1").request_cancel()
    assert pending.status is S.CANCEL_PENDING
    late = pending.fill(100, D("10.00"))
    assert late.status is S.CANCEL_PENDING  # a fill racing the cancel
    assert late.filled_quantity == 100
    done = late.cancel()
    assert done.status is S.CANCELLED
    assert done.filled_quantity == 100


def test_request_cancel_loses_the_race_to_a_full_fill() -> None:
    pending = new_order(quantity=300).submit("B1").fill(100, D("10")).request_cancel()
    filled = pending.fill(200, D("10.10"))
    assert filled.status is S.FILLED
    assert filled.average_price == (D("1000") + D("2020")) / 300


def test_reject_from_new_and_from_submitted_keeps_the_reason() -> None:
    assert new_order().reject("资金不足").reason == "资金不足"
    rejected = new_order().submit("B1").reject("价格超出涨跌停")
    assert rejected.status is S.REJECTED
    assert rejected.reason == "价格超出涨跌停"


def test_expire_from_submitted_and_partially_filled() -> None:
    assert new_order().submit("B1").expire().status is S.EXPIRED
    partial = new_order().submit("B1").fill(100, D("10"))
    expired = partial.expire()
    assert expired.status is S.EXPIRED
    assert expired.filled_quantity == 100


def test_submit_twice_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        new_order().submit("B1").submit("B2")


def test_cancel_before_submit_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        new_order().cancel()
    with pytest.raises(IllegalTransition):
        new_order().request_cancel()


def test_fill_before_submit_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        new_order().fill(100, D("10"))


def test_fill_after_cancel_or_reject_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        new_order().submit("B1").cancel().fill(100, D("10"))
    with pytest.raises(IllegalTransition):
        new_order().reject("x").fill(100, D("10"))
    with pytest.raises(IllegalTransition):
        new_order().submit("B1").expire().fill(100, D("10"))


def test_fill_after_filled_is_refused() -> None:
    filled = new_order(quantity=100).submit("B1").fill(100, D("10"))
    with pytest.raises(DomainError):
        filled.fill(100, D("10"))
    with pytest.raises(DomainError):
        filled.fill(1, D("10"))


def test_fill_after_filled_is_an_illegal_transition() -> None:
    filled = new_order(quantity=100).submit("B1").fill(100, D("10"))
    with pytest.raises(IllegalTransition):
        filled.fill(100, D("10"))


def test_overfill_raises_rule_violation() -> None:
    order = new_order(quantity=300).submit("B1").fill(200, D("10"))
    with pytest.raises(RuleViolation) as info:
        order.fill(101, D("10"))
    assert info.value.code == "overfill"
    assert "101" in info.value.message_en
    assert "100" in info.value.message_en
    assert HAN.search(info.value.message_zh)
    # the order is unchanged and can still be filled exactly
    assert order.fill(100, D("10")).status is S.FILLED


@pytest.mark.parametrize("quantity", [0, -100])
def test_non_positive_fill_is_refused(quantity: int) -> None:
    with pytest.raises(RuleViolation) as info:
        new_order().submit("B1").fill(quantity, D("10"))
    assert info.value.code == "overfill"


def test_average_price_is_volume_weighted() -> None:
    order = new_order(quantity=1000).submit("B1")
    order = order.fill(100, D("10.00")).fill(300, D("10.20")).fill(600, D("10.10"))
    # (1000 + 3060 + 6060) / 1000
    assert order.average_price == D("10.12")
    assert order.filled_amount == D("10120.00")


def test_market_order_has_no_price() -> None:
    order = new_order(price=None)
    assert order.type is OrderType.MARKET
    assert order.price is None
    filled = order.submit("B1").fill(300, D("10.01"))
    assert filled.average_price == D("10.01")


def test_status_flags_and_chinese_labels() -> None:
    assert {s for s in OrderStatus if s.is_final} == {
        S.FILLED,
        S.CANCELLED,
        S.REJECTED,
        S.EXPIRED,
    }
    labels = {s: s.label_zh for s in OrderStatus}
    assert labels[S.NEW] == "未报"
    assert labels[S.SUBMITTED] == "已报"
    assert labels[S.PARTIALLY_FILLED] == "部成"
    assert labels[S.CANCEL_PENDING] == "已报待撤"
    assert labels[S.FILLED] == "已成"
    assert labels[S.CANCELLED] == "已撤"
    assert labels[S.REJECTED] == "废单"
    assert all(HAN.search(label) for label in labels.values())


def test_enum_values_are_the_wire_strings() -> None:
    assert Side.BUY == "buy" and Side.SELL == "sell"
    assert OrderType.LIMIT == "limit" and OrderType.MARKET == "market"
    assert S("partially_filled") is S.PARTIALLY_FILLED


def test_fees_total_and_trade() -> None:
    fees = Fees(commission=D("5.00"), stamp_duty=D("0.50"), transfer_fee=D("0.01"))
    assert fees.total == D("5.51")
    trade = Trade(
        id="t-1",
        order_id="o-1",
        account="acc-1",
        symbol=MOUTAI,
        side=Side.SELL,
        quantity=100,
        price=D("10.00"),
        amount=D("1000.00"),
        fees=fees,
        ts=T0,
    )
    assert trade.fees.total == D("5.51")
    assert trade.amount == trade.price * trade.quantity


# --- check_quantity ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "quantity"),
    [
        (MOUTAI, 100),
        (MOUTAI, 200),
        (MOUTAI, 1_000_000),
        (CATL, 100),
        (CATL, 300_000),
        (ETF, 100),
        (ETF, 5_000),
        (SMIC, 200),
        (SMIC, 201),
        (SMIC, 333),
        (SMIC, 100_000),
        (BSE, 100),
        (BSE, 101),
        (BSE, 1_000_000),
    ],
)
@pytest.mark.parametrize("side", list(Side))
def test_check_quantity_accepts(symbol: Symbol, quantity: int, side: Side) -> None:
    check_quantity(symbol, side, quantity)  # does not raise


@pytest.mark.parametrize(
    ("symbol", "quantity"),
    [
        (MOUTAI, 150),
        (MOUTAI, 50),
        (MOUTAI, 101),
        (MOUTAI, 99),
        (CATL, 250),
        (ETF, 150),
        (SMIC, 199),
        (SMIC, 100),
        (BSE, 99),
        (BSE, 1),
    ],
)
def test_check_quantity_rejects_off_lot_buys(symbol: Symbol, quantity: int) -> None:
    with pytest.raises(RuleViolation) as info:
        check_quantity(symbol, Side.BUY, quantity)
    err = info.value
    assert err.code == "lot"
    assert symbol.full in err.message_zh
    assert symbol.full in err.message_en
    assert str(quantity) in err.message_en
    assert HAN.search(err.message_zh)


def test_lot_error_hints_differ_by_rule() -> None:
    with pytest.raises(RuleViolation) as info:
        check_quantity(MOUTAI, Side.BUY, 150)
    assert "multiple of 100" in info.value.message_en
    with pytest.raises(RuleViolation) as info:
        check_quantity(SMIC, Side.BUY, 199)
    assert "at least 200" in info.value.message_en


@pytest.mark.parametrize("quantity", [0, -100])
def test_check_quantity_rejects_non_positive(quantity: int) -> None:
    with pytest.raises(RuleViolation) as info:
        check_quantity(MOUTAI, Side.SELL, quantity, available=quantity)
    assert info.value.code == "lot"


@pytest.mark.parametrize(
    ("symbol", "too_many"),
    [(MOUTAI, 1_000_100), (CATL, 300_100), (SMIC, 100_001), (BSE, 1_000_001)],
)
def test_check_quantity_rejects_oversized_orders(symbol: Symbol, too_many: int) -> None:
    with pytest.raises(RuleViolation) as info:
        check_quantity(symbol, Side.BUY, too_many)
    assert info.value.code == "max_order_size"
    assert str(too_many) in info.value.message_en
    assert str(lot_rule(symbol).maximum) in info.value.message_en
    # even selling an entire (huge) position in one go cannot exceed the per-order maximum
    with pytest.raises(RuleViolation) as info:
        check_quantity(symbol, Side.SELL, too_many, available=too_many)
    assert info.value.code == "max_order_size"


@pytest.mark.parametrize(
    ("symbol", "quantity"),
    [(MOUTAI, 150), (MOUTAI, 50), (MOUTAI, 350), (SMIC, 199), (SMIC, 50), (ETF, 30)],
)
def test_odd_lot_sell_of_the_whole_remainder_is_allowed(symbol: Symbol, quantity: int) -> None:
    check_quantity(symbol, Side.SELL, quantity, available=quantity)


def test_odd_remainder_may_be_sold_with_round_lots_in_one_order() -> None:
    check_quantity(MOUTAI, Side.SELL, 150, available=250)  # 100 + the whole odd 50
    check_quantity(MOUTAI, Side.SELL, 50, available=250)  # just the odd 50


def test_odd_lot_sell_of_part_of_the_position_is_refused() -> None:
    with pytest.raises(RuleViolation) as info:
        check_quantity(MOUTAI, Side.SELL, 130, available=250)  # splits the odd remainder
    assert info.value.code == "lot"
    with pytest.raises(RuleViolation):
        check_quantity(MOUTAI, Side.SELL, 150)  # available unknown
    with pytest.raises(RuleViolation):
        check_quantity(SMIC, Side.SELL, 199, available=399)


def test_odd_lot_buy_is_refused_even_when_it_matches_available() -> None:
    with pytest.raises(RuleViolation) as info:
        check_quantity(MOUTAI, Side.BUY, 150, available=150)
    assert info.value.code == "lot"


def test_round_lot_sell_below_available_is_fine() -> None:
    check_quantity(MOUTAI, Side.SELL, 200, available=250)
    check_quantity(SMIC, Side.SELL, 201, available=1000)


# --- check_price_tick --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "price"),
    [
        (MOUTAI, "10.01"),
        (MOUTAI, "10.010"),
        (MOUTAI, "10"),
        (MOUTAI, "0.01"),
        (MOUTAI, "1688.88"),
        (ETF, "2.345"),
        (ETF, "2.34"),
        (ETF, "0.001"),
    ],
)
def test_check_price_tick_accepts(symbol: Symbol, price: str) -> None:
    check_price_tick(symbol, D(price))


@pytest.mark.parametrize(
    ("symbol", "price"),
    [
        (MOUTAI, "10.015"),
        (MOUTAI, "10.001"),
        (MOUTAI, "0.005"),
        (SMIC, "50.555"),
        (ETF, "2.3455"),
        (ETF, "0.0005"),
    ],
)
def test_check_price_tick_rejects_off_tick(symbol: Symbol, price: str) -> None:
    with pytest.raises(RuleViolation) as info:
        check_price_tick(symbol, D(price))
    assert info.value.code == "tick"
    assert str(symbol.tick) in info.value.message_en
    assert symbol.full in info.value.message_zh


@pytest.mark.parametrize("price", ["0", "-0.01", "-10"])
def test_check_price_tick_rejects_non_positive(price: str) -> None:
    with pytest.raises(RuleViolation) as info:
        check_price_tick(MOUTAI, D(price))
    assert info.value.code == "tick"
    assert "positive" in info.value.message_en
