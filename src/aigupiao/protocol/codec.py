"""Domain objects <-> what a node reports, in both directions, in one place.

The node encodes its broker's orders, fills and accounts (and its command results)
into JSON-ready dicts: decimals as strings, symbols in their prefixed form
(``sh600519``), text cleaned of control characters and cut to length. The cloud
decodes the typed payloads of :mod:`aigupiao.protocol.payloads` (already validated
and bounded) back into domain objects and table rows; it never reads a node's dict
by key.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from aigupiao.domain.account import Account, Position
from aigupiao.domain.orders import Fees, Order, Trade
from aigupiao.domain.symbols import parse_symbol

from .payloads import (
    AccountPayload,
    OrderPayload,
    PositionPayload,
    Result,
    TradePayload,
)

_TEXT_LIMIT = 500
_results: TypeAdapter[Result] = TypeAdapter(Result)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def clean_text(text: str, limit: int = _TEXT_LIMIT) -> str:
    """A broker's free text made safe to report: control and format characters become
    spaces, and it is cut to ``limit`` characters."""
    cleaned = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") else char
        for char in text
    )
    return cleaned[:limit]


# -- encoding (the node) ------------------------------------------------------------


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
        "reason": clean_text(order.reason),
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


def error_result(error: dict[str, str], account: Account | None = None) -> dict[str, Any]:
    """A refusal, failure or unknown outcome (``code``, ``message``, ``message_en``)."""
    result: dict[str, Any] = {
        "kind": "error",
        "code": error["code"],
        "message": clean_text(error["message"]),
        "message_en": clean_text(error.get("message_en", "")),
    }
    if account is not None:
        result["account"] = account_to_dict(account)
    return result


def trade_result(order: Order, trades: list[Trade], account: Account | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "kind": "trade",
        "order": order_to_dict(order),
        "trades": [trade_to_dict(t) for t in trades],
    }
    if account is not None:
        result["account"] = account_to_dict(account)
    return result


def cancel_result(order: Order, account: Account | None) -> dict[str, Any]:
    result: dict[str, Any] = {"kind": "cancel", "order": order_to_dict(order)}
    if account is not None:
        result["account"] = account_to_dict(account)
    return result


def resolved_result(order: Order) -> dict[str, Any]:
    return {"kind": "resolved", "order": order_to_dict(order), "resolved_by": "broker_query"}


def export_result(
    data_type: str, account: Account, trades: list[Trade] | None, orders: list[Order] | None
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "kind": "export",
        "data_type": data_type,
        "account": account_to_dict(account),
    }
    if data_type in ("positions", "all"):
        result["positions"] = result["account"]["positions"]
    if trades is not None:
        result["trades"] = [trade_to_dict(t) for t in trades]
    if orders is not None:
        result["orders"] = [order_to_dict(o) for o in orders]
    return result


def status_result(
    broker: str, account: Account, orders_today: int, trades_today: int
) -> dict[str, Any]:
    return {
        "kind": "status",
        "broker": broker,
        "account": account_to_dict(account),
        "orders_today": orders_today,
        "trades_today": trades_today,
    }


def check_result(result: dict[str, Any]) -> str | None:
    """Why the cloud would refuse ``result`` (None if it would take it): the node checks
    before journaling, so that an answer the cloud cannot read is known at once."""
    try:
        _results.validate_python(result)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "result"
        return f"{where}: {first['msg']}"
    return None


_EVENT_DATA: dict[str, type[BaseModel]] = {
    "order_update": OrderPayload,
    "trade": TradePayload,
    "account": AccountPayload,
}


def check_event(kind: str, data: dict[str, Any]) -> str | None:
    """Why the cloud would refuse an event of ``kind`` with ``data`` (None if it would not)."""
    model = _EVENT_DATA.get(kind)
    if model is None:
        return f"unknown event kind {kind!r}"
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        return f"{'.'.join(str(part) for part in first['loc']) or kind}: {first['msg']}"
    return None


# -- decoding (the cloud) -----------------------------------------------------------


def parse_result(data: dict[str, Any]) -> BaseModel:
    """A stored result back as its typed payload (it was validated when it arrived).

    Raises:
        pydantic.ValidationError: ``data`` is not a result.
    """
    return _results.validate_python(data)


def order_from_payload(payload: OrderPayload) -> Order:
    return Order(
        id=payload.id,
        account=payload.account,
        symbol=parse_symbol(payload.symbol),
        side=payload.side,
        type=payload.type,
        quantity=payload.quantity,
        price=payload.price,
        created_at=payload.created_at,
        status=payload.status,
        filled_quantity=payload.filled_quantity,
        filled_amount=payload.filled_amount,
        broker_order_id=payload.broker_order_id,
        client_order_id=payload.client_order_id,
        reason=payload.reason,
        market_kind=payload.market_kind,
    )


def trade_from_payload(payload: TradePayload) -> Trade:
    return Trade(
        id=payload.id,
        order_id=payload.order_id,
        account=payload.account,
        symbol=parse_symbol(payload.symbol),
        side=payload.side,
        quantity=payload.quantity,
        price=payload.price,
        amount=payload.amount,
        fees=Fees(
            commission=payload.commission,
            stamp_duty=payload.stamp_duty,
            transfer_fee=payload.transfer_fee,
        ),
        ts=payload.ts,
    )


def position_from_payload(payload: PositionPayload) -> Position:
    return Position(
        symbol=parse_symbol(payload.symbol),
        total=payload.total,
        available=payload.available,
        cost_price=payload.cost_price,
        last_price=payload.last_price,
    )


def account_from_payload(payload: AccountPayload) -> Account:
    return Account(
        id=payload.id,
        cash=payload.cash,
        frozen_cash=payload.frozen_cash,
        positions=tuple(position_from_payload(p) for p in payload.positions),
        paper=payload.paper,
    )


def account_from_dict(data: dict[str, Any]) -> Account:
    """An account snapshot from its dict (as :func:`account_to_dict` made it).

    Raises:
        pydantic.ValidationError: ``data`` is not a valid account snapshot.
    """
    return account_from_payload(AccountPayload.model_validate(data))


def order_columns(payload: OrderPayload) -> dict[str, Any]:
    """The ``orders`` row of a reported order (without node, command and update time)."""
    return {
        "id": payload.id,
        "account": payload.account,
        "symbol": payload.symbol,
        "side": payload.side.value,
        "type": payload.type.value,
        "quantity": payload.quantity,
        "price": payload.price,
        "status": payload.status.value,
        "filled_quantity": payload.filled_quantity,
        "filled_amount": payload.filled_amount,
        "broker_order_id": payload.broker_order_id,
        "reason": payload.reason,
        "created_at": payload.created_at,
    }


def trade_columns(payload: TradePayload) -> dict[str, Any]:
    """The ``trades`` row of a reported fill (without the node)."""
    return {
        "id": payload.id,
        "order_id": payload.order_id,
        "account": payload.account,
        "symbol": payload.symbol,
        "side": payload.side.value,
        "quantity": payload.quantity,
        "price": payload.price,
        "amount": payload.amount,
        "commission": payload.commission,
        "stamp_duty": payload.stamp_duty,
        "transfer_fee": payload.transfer_fee,
        "ts": payload.ts,
    }
