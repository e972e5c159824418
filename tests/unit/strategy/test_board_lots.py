"""Built-in strategies size orders the board takes (issue 13, item 13): dip-buy's 100
shares are a 200-share buy on STAR, lots stop at one order's maximum, and weight sells
never leave a STAR sell below 200 shares that is not the whole available position."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import OrderType, Side
from aigupiao.domain.rules import check_order_size
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.strategy.base import buy_size, shares_for_weight
from aigupiao.strategy.dip_buy import DipBuy
from aigupiao.strategy.momentum import Momentum
from aigupiao.strategy.state import MarketState

from .build import context, quote
from .test_builtins import OPEN, _state

STAR = parse_symbol("sh688981")
CHINEXT = parse_symbol("sz300750")
MAIN = parse_symbol("sz000001")


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [(STAR, 200), (CHINEXT, 100), (MAIN, 100)],
    ids=["star", "chinext", "main"],
)
def test_the_default_dip_buy_is_a_size_the_board_takes(symbol: Symbol, expected: int) -> None:
    dip = quote(symbol, "9.40", "10.00")
    (signal,) = DipBuy().evaluate(context(_fed(dip)))
    assert signal.quantity == expected
    check_order_size(signal.symbol, Side.BUY, signal.quantity, OrderType.MARKET, 0)
    assert f"{expected} 股" in signal.reason and f"buying {expected}" in signal.reason


def test_dip_buy_quantities_are_fitted_to_the_board() -> None:
    assert [buy_size(STAR, n) for n in (100, 200, 250)] == [200, 200, 250]
    assert [buy_size(MAIN, n) for n in (50, 150, 1000)] == [100, 100, 1000]
    assert buy_size(STAR, 1_000_000, market=True) == 50_000  # STAR market order maximum
    assert buy_size(STAR, 1_000_000) == 100_000
    dip = quote(STAR, "9.40", "10.00")
    (signal,) = DipBuy(quantity=150).evaluate(context(_fed(dip)))
    assert signal.quantity == 200


def test_dip_buy_can_buy_by_value() -> None:
    dip = quote(STAR, "9.40", "10.00")
    (signal,) = DipBuy.from_config({"target_weight": "0.05"}).evaluate(context(_fed(dip)))
    assert signal.quantity == 0 and signal.target_weight == Decimal("0.05")
    assert "5.00%" in signal.reason


def test_lots_stop_at_one_orders_maximum() -> None:
    state = _state(symbol=STAR, closes=(100.0,) * 5, volume=480_000)
    state.on_quote(quote(STAR, "103.00", "100.00", volume=120_000))
    (market,) = Momentum.from_config({"filter": OPEN, "lots": 1000}).evaluate(context(state))
    assert market.quantity == 50_000  # not 200,000: a STAR market order's maximum
    limit = {"filter": OPEN, "lots": 1000, "price": "last"}
    (signal,) = Momentum.from_config(limit).evaluate(context(state))
    assert signal.quantity == 100_000


def test_weight_sells_are_sizes_the_board_takes() -> None:
    held = Position(STAR, total=300, available=300, cost_price=Decimal("100"),
                    last_price=Decimal("100"))  # fmt: skip
    account = Account("a", cash=Decimal("70000"), positions=(held,))  # equity 100,000

    def sell(weight: str) -> int:
        return shares_for_weight(STAR, Decimal(weight), account, Decimal("100"), side=Side.SELL)

    assert sell("0.15") == 0  # 150 of 300: below STAR's 200 and not all of it
    assert sell("0.05") == 250  # steps of 1 above 200
    assert sell("0.001") == 299
    assert sell("0") == 300  # everything available, in one order
    for quantity in (sell("0.05"), sell("0.001"), sell("0")):
        check_order_size(STAR, Side.SELL, quantity, OrderType.MARKET, 300)


def _fed(*quotes: Quote) -> MarketState:
    state = MarketState()
    state.on_quotes(list(quotes))
    return state
