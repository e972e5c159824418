"""Domain objects <-> JSON-ready dicts: exact Decimals as strings, prefixed symbols."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from aigupiao.core.clock import BEIJING
from aigupiao.domain.account import Account, Position
from aigupiao.domain.orders import Fees, Order, OrderType, Side, Trade
from aigupiao.domain.symbols import parse_symbol
from aigupiao.protocol.codec import (
    account_from_dict,
    account_to_dict,
    order_to_dict,
    trade_to_dict,
)

MOUTAI = parse_symbol("600519")
PINGAN = parse_symbol("sz000001")
ETF = parse_symbol("510300")
TS = datetime(2026, 11, 24, 10, 0, 5, 123456, tzinfo=BEIJING)


def _refuse_float(text: str) -> float:
    raise AssertionError(f"float {text} in a codec dict")


def _no_floats(data: object) -> None:
    """Serialising must not need floats: every number on the wire is an int."""
    json.loads(json.dumps(data), parse_float=_refuse_float)


def test_order_to_dict_exact_values() -> None:
    order = (
        Order(
            id="o-1",
            account="paper-1",
            symbol=MOUTAI,
            side=Side.BUY,
            type=OrderType.LIMIT,
            quantity=300,
            price=Decimal("1488.01"),
            created_at=TS,
            client_order_id="c-1",
        )
        .submit("B-77")
        .fill(100, Decimal("1488.01"))
        .fill(100, Decimal("1488.00"))
    )
    data = order_to_dict(order)
    assert data == {
        "id": "o-1",
        "account": "paper-1",
        "symbol": "sh600519",
        "side": "buy",
        "type": "limit",
        "quantity": 300,
        "price": "1488.01",
        "status": "partially_filled",
        "status_zh": "部成",
        "filled_quantity": 200,
        "filled_amount": "297601.00",
        "average_price": "1488.005",
        "broker_order_id": "B-77",
        "client_order_id": "c-1",
        "reason": "",
        "created_at": "2026-11-24T10:00:05.123456+08:00",
        "market_kind": None,
    }
    _no_floats(data)
    assert Decimal(data["average_price"]) == order.average_price
    assert datetime.fromisoformat(data["created_at"]) == TS


def test_market_order_without_fills_has_null_prices() -> None:
    order = Order(
        id="o-2",
        account="paper-1",
        symbol=PINGAN,
        side=Side.SELL,
        type=OrderType.MARKET,
        quantity=100,
        price=None,
        created_at=TS,
    )
    data = order_to_dict(order)
    assert data["price"] is None
    assert data["average_price"] is None
    assert data["filled_amount"] == "0"
    assert data["symbol"] == "sz000001"
    assert data["type"] == "market" and data["side"] == "sell"
    assert data["status"] == "new" and data["status_zh"] == "未报"
    assert data["client_order_id"] is None


def test_trade_to_dict_exact_values() -> None:
    trade = Trade(
        id="t-1",
        order_id="o-1",
        account="paper-1",
        symbol=ETF,
        side=Side.SELL,
        quantity=1000,
        price=Decimal("4.123"),
        amount=Decimal("4123.000"),
        fees=Fees(
            commission=Decimal("5.00"),
            stamp_duty=Decimal("0"),
            transfer_fee=Decimal("0.04"),
        ),
        ts=TS,
    )
    data = trade_to_dict(trade)
    assert data == {
        "id": "t-1",
        "order_id": "o-1",
        "account": "paper-1",
        "symbol": "sh510300",
        "side": "sell",
        "quantity": 1000,
        "price": "4.123",
        "amount": "4123.000",
        "commission": "5.00",
        "stamp_duty": "0",
        "transfer_fee": "0.04",
        "ts": "2026-11-24T10:00:05.123456+08:00",
    }
    _no_floats(data)
    assert datetime.fromisoformat(data["ts"]) == TS


def _account() -> Account:
    return Account(
        id="live-9",
        cash=Decimal("123456.78"),
        frozen_cash=Decimal("1488.01"),
        positions=(
            Position(
                MOUTAI,
                total=300,
                available=200,
                cost_price=Decimal("1466.8033"),
                last_price=Decimal("1488.01"),
            ),
            Position(ETF, total=1500, available=1500, cost_price=Decimal("4.100"), last_price=None),
        ),
        paper=False,
    )


def test_account_to_dict_exact_values() -> None:
    data = account_to_dict(_account())
    assert data == {
        "id": "live-9",
        "cash": "123456.78",
        "frozen_cash": "1488.01",
        "market_value": "452553.000",  # 300 x 1488.01 + 1500 x 4.100 (cost, no last price)
        "equity": "577497.790",
        "paper": False,
        "positions": [
            {
                "symbol": "sh600519",
                "total": 300,
                "available": 200,
                "cost_price": "1466.8033",
                "last_price": "1488.01",
            },
            {
                "symbol": "sh510300",
                "total": 1500,
                "available": 1500,
                "cost_price": "4.100",
                "last_price": None,
            },
        ],
    }
    _no_floats(data)


def test_account_round_trip_is_exact() -> None:
    account = _account()
    back = account_from_dict(json.loads(json.dumps(account_to_dict(account))))
    assert back == account
    assert back.paper is False
    # Decimal equality ignores trailing zeros; the text must survive too.
    assert str(back.cash) == "123456.78"
    assert str(back.frozen_cash) == "1488.01"
    assert [str(p.cost_price) for p in back.positions] == ["1466.8033", "4.100"]
    assert back.positions[0].last_price == Decimal("1488.01")
    assert back.positions[1].last_price is None
    assert back.positions[0].symbol == MOUTAI and back.positions[1].symbol == ETF
    assert back.equity == account.equity == Decimal("577497.790")


def test_account_from_dict_defaults() -> None:
    back = account_from_dict({"id": "paper-1", "cash": "100.00"})
    assert back == Account(id="paper-1", cash=Decimal("100.00"))
    assert back.frozen_cash == 0 and back.positions == () and back.paper is True


def test_account_from_dict_accepts_unprefixed_codes() -> None:
    back = account_from_dict(
        {
            "id": "a",
            "cash": "0",
            "positions": [{"symbol": "000001", "total": 100, "available": 0, "cost_price": "9.9"}],
        }
    )
    (position,) = back.positions
    assert position.symbol == PINGAN
    assert position.available == 0 and position.last_price is None
