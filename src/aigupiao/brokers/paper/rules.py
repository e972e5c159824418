"""The exchange and account rules the paper broker checks before accepting an order.

Each check raises :class:`~aigupiao.domain.errors.RuleViolation` whose ``code``
names the rule: ``trading_hours``, ``market_kind``, ``lot``, ``max_order_size``,
``available``, ``price``, ``tick``, ``price_limit``, ``price_cage``, ``cash``.
Every message is in Chinese and English.

The exchange rules themselves live in :mod:`aigupiao.domain.rules`, where the risk
gate uses them too; this module adds what needs an :class:`OrderRequest` or fees.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from aigupiao.domain.market import Quote
from aigupiao.domain.money import ZERO
from aigupiao.domain.orders import MarketKind, OrderType, Side, market_kinds_for
from aigupiao.domain.rules import (
    CAGES,
    LIMIT_ORDER_PHASES,
    MARKET_ORDER_MAXIMUM,
    CageRule,
    Limits,
    cage_reference,
    check_cage,
    check_cancel,
    check_limit_price,
    check_order_size,
    check_session,
    day_limits,
    violation,
    worst_price,
)

from ..base import OrderRequest
from .fees import FeeSchedule

__all__ = [
    "CAGES",
    "LIMIT_ORDER_PHASES",
    "MARKET_ORDER_MAXIMUM",
    "CageRule",
    "Limits",
    "cage_reference",
    "check_cage",
    "check_cancel",
    "check_cash",
    "check_limit_price",
    "check_session",
    "check_size",
    "day_limits",
    "market_kind",
    "violation",
]


def market_kind(request: OrderRequest) -> MarketKind | None:
    """The kind of a market order (best five IOC unless given); None for a limit order."""
    if request.type is not OrderType.MARKET:
        if request.market_kind is not None:
            raise violation(
                "market_kind",
                "限价委托不能指定市价委托类型",
                "a limit order cannot carry a market-order kind",
            )
        return None
    kind = request.market_kind or MarketKind.BEST5_IOC
    if kind not in market_kinds_for(request.symbol):
        exchange = request.symbol.exchange.value
        raise violation(
            "market_kind",
            f"{exchange} 不支持市价委托类型「{kind.label_zh}」",
            f"the {exchange} exchange does not take {kind.value} market orders",
        )
    return kind


def check_size(request: OrderRequest, available: int) -> None:
    """Lot rules, the market-order maximum, and (for sells) the T+1 available quantity."""
    check_order_size(request.symbol, request.side, request.quantity, request.type, available)


def check_cash(
    request: OrderRequest,
    quote: Quote,
    limits: Limits,
    *,
    cash: Decimal,
    fees: FeeSchedule,
    day: date,
) -> Decimal:
    """The cash a buy must freeze: its worst-case cost with fees (zero for a sell).

    The worst price is the limit price, or for a market order the limit-up
    price (limit down for a sell), or the farthest level when there are no limits.
    """
    symbol, side, quantity = request.symbol, request.side, request.quantity
    worst = worst_price(side, request.type, request.price, quote, limits)
    amount = worst * quantity
    cost = fees.fees(symbol, side, amount, day).total
    if side is Side.BUY and amount + cost > cash:
        raise violation(
            "cash",
            f"可用资金 {cash} 元不足，需要 {amount + cost} 元",
            f"available cash {cash} CNY is less than the {amount + cost} CNY needed",
        )
    if side is Side.SELL and cash + amount - cost < 0:
        raise violation(
            "cash",
            f"卖出所得不足以支付费用 {cost} 元",
            f"the sale would not cover its fees of {cost} CNY",
        )
    return amount + cost if side is Side.BUY else ZERO
