"""Positions and account valuation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aigupiao.domain.account import Account, Position
from aigupiao.domain.symbols import parse_symbol

D = Decimal
MOUTAI = parse_symbol("600519")
BANK = parse_symbol("sz000001")
INDEX = parse_symbol("sh000001")


def test_position_market_value_uses_last_price() -> None:
    position = Position(
        MOUTAI, total=300, available=100, cost_price=D("1500.00"), last_price=D("1600.50")
    )
    assert position.market_value == D("480150.00")
    assert position.unrealized_pnl == D("30150.00")


def test_position_without_last_price_is_valued_at_cost() -> None:
    position = Position(BANK, total=1000, available=1000, cost_price=D("10.123"))
    assert position.market_value == D("10123.000")
    assert position.unrealized_pnl == D(0)


def test_position_loss_is_negative() -> None:
    position = Position(BANK, total=200, available=0, cost_price=D("11.00"), last_price=D("10.50"))
    assert position.unrealized_pnl == D("-100.00")
    assert position.market_value == D("2100.00")


def test_account_equity_adds_cash_frozen_cash_and_positions() -> None:
    account = Account(
        id="acc-1",
        cash=D("10000.00"),
        frozen_cash=D("2500.50"),
        positions=(
            Position(MOUTAI, total=100, available=100, cost_price=D("1500"), last_price=D("1510")),
            Position(BANK, total=1000, available=500, cost_price=D("10.00")),
        ),
    )
    assert account.market_value == D("151000") + D("10000.00")
    assert account.equity == D("10000.00") + D("2500.50") + D("161000.00")
    assert account.equity == D("173500.50")


def test_empty_account() -> None:
    account = Account(id="paper", cash=D("100000"))
    assert account.positions == ()
    assert account.frozen_cash == D(0)
    assert account.market_value == D(0)
    assert isinstance(account.market_value, Decimal)
    assert account.equity == D("100000")
    assert account.paper is True


def test_position_lookup_respects_the_exchange() -> None:
    bank = Position(BANK, total=100, available=100, cost_price=D("10"))
    account = Account(id="a", cash=D(0), positions=(bank,))
    assert account.position(parse_symbol("000001")) is bank
    assert account.position(INDEX) is None
    assert account.position(MOUTAI) is None


def test_account_is_frozen() -> None:
    account = Account(id="a", cash=D(0))
    with pytest.raises(AttributeError):
        account.cash = D(1)  # type: ignore[misc]
