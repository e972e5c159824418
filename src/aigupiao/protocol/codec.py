"""Domain objects <-> the JSON shapes carried in ``response.result`` and ``event.data``.

Decimals travel as strings and come back as Decimal; symbols travel in their
prefixed form (``sh600519``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aigupiao.domain.account import Account, Position
from aigupiao.domain.orders import Order, Trade
from aigupiao.domain.symbols import parse_symbol


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def order_to_dict(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "account": order.account,
        "symbol": order.symbol.full,
        "side": order.side.value,
        "type": order.type.value,
        "quantity": order.quantity,
        "price": _dec(order.price),
        "status": order.status.value,
        "status_zh": order.status_zh,
        "filled_quantity": order.filled_quantity,
        "filled_amount": str(order.filled_amount),
        "average_price": _dec(order.average_price),
        "broker_order_id": order.broker_order_id,
        "client_order_id": order.client_order_id,
        "reason": order.reason,
        "created_at": order.created_at.isoformat(),
        "market_kind": order.market_kind.value if order.market_kind else None,
    }


def trade_to_dict(trade: Trade) -> dict[str, Any]:
    return {
        "id": trade.id,
        "order_id": trade.order_id,
        "account": trade.account,
        "symbol": trade.symbol.full,
        "side": trade.side.value,
        "quantity": trade.quantity,
        "price": str(trade.price),
        "amount": str(trade.amount),
        "commission": str(trade.fees.commission),
        "stamp_duty": str(trade.fees.stamp_duty),
        "transfer_fee": str(trade.fees.transfer_fee),
        "ts": trade.ts.isoformat(),
    }


def position_to_dict(position: Position) -> dict[str, Any]:
    return {
        "symbol": position.symbol.full,
        "total": position.total,
        "available": position.available,
        "cost_price": str(position.cost_price),
        "last_price": _dec(position.last_price),
    }


def account_to_dict(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "cash": str(account.cash),
        "frozen_cash": str(account.frozen_cash),
        "market_value": str(account.market_value),
        "equity": str(account.equity),
        "paper": account.paper,
        "positions": [position_to_dict(p) for p in account.positions],
    }


def account_from_dict(data: dict[str, Any]) -> Account:
    positions = tuple(
        Position(
            symbol=parse_symbol(p["symbol"]),
            total=int(p["total"]),
            available=int(p["available"]),
            cost_price=Decimal(p["cost_price"]),
            last_price=None if p.get("last_price") is None else Decimal(p["last_price"]),
        )
        for p in data.get("positions", [])
    )
    return Account(
        id=data["id"],
        cash=Decimal(data["cash"]),
        frozen_cash=Decimal(data.get("frozen_cash", "0")),
        positions=positions,
        paper=bool(data.get("paper", True)),
    )
