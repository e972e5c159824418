"""Validating manual and outside-agent trade requests before they become commands."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aigupiao.domain.errors import DomainError
from aigupiao.domain.orders import (
    MarketKind,
    Side,
    check_price_tick,
    check_quantity,
    market_kinds_for,
)
from aigupiao.domain.symbols import Symbol, parse_symbol

from ..errors import InvalidRequest
from .ledger import Ledger
from .market import MarketService


def validate_trade(
    market: MarketService,
    ledger: Ledger,
    *,
    action: str,
    stock_code: str,
    quantity: int,
    price: Decimal | None,
    account: str | None,
    market_kind: MarketKind | None = None,
) -> Symbol:
    """Check code, lot, tick and market-order kind; return the symbol.

    Raises InvalidRequest with the rule."""
    try:
        symbol = parse_symbol(stock_code)
    except DomainError as exc:
        raise InvalidRequest(exc.message_zh, exc.message_en, code=exc.code) from exc
    if symbol.full not in market.latest:
        raise InvalidRequest(
            f"未知的证券代码 {symbol.full}：行情中没有该证券",
            f"unknown security {symbol.full}: no market data for it",
            code="unknown_symbol",
        )
    side = Side(action)
    available = None
    if side is Side.SELL and account is not None:
        snapshot = ledger.get(account)
        position = snapshot.position(symbol) if snapshot else None
        available = position.available if position else None
    try:
        check_quantity(symbol, side, quantity, available=available)
        if price is not None:
            check_price_tick(symbol, price)
    except DomainError as exc:
        raise InvalidRequest(exc.message_zh, exc.message_en, code=exc.code) from exc
    if market_kind is not None:
        if price is not None:
            raise InvalidRequest(
                "限价委托不能指定市价委托类型 market_kind",
                "market_kind is for market orders (price null) only",
                code="market_kind",
            )
        if market_kind not in market_kinds_for(symbol):
            exchange = symbol.exchange.value
            raise InvalidRequest(
                f"{exchange} 不支持市价委托类型「{market_kind.label_zh}」",
                f"the {exchange} exchange does not take {market_kind.value} market orders",
                code="market_kind",
            )
    return symbol


def trade_data(
    symbol: Symbol,
    action: str,
    quantity: int,
    price: Decimal | None,
    agent_id: str | None,
    market_kind: MarketKind | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "action": action,
        "stock_code": symbol.full,
        "quantity": quantity,
        "price": None if price is None else str(price),
        "agent_id": agent_id,
    }
    if market_kind is not None:
        data["market_kind"] = market_kind.value
    return data
