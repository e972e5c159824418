"""The exchange and account rules the paper broker checks before accepting an order.

Each check raises :class:`~aigupiao.domain.errors.RuleViolation` whose ``code``
names the rule: ``trading_hours``, ``lot``, ``max_order_size``, ``available``,
``price``, ``tick``, ``price_limit``, ``cash``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from aigupiao.domain.errors import RuleViolation
from aigupiao.domain.market import Quote
from aigupiao.domain.money import ZERO
from aigupiao.domain.orders import OrderType, Side, check_price_tick, check_quantity
from aigupiao.domain.sessions import Phase, phase_at
from aigupiao.domain.symbols import Board, Symbol, is_st_name, price_limits

from ..base import OrderRequest
from .fees import FeeSchedule

LIMIT_ORDER_PHASES = frozenset({Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_AUCTION})
MARKET_ORDER_MAXIMUM = {Board.STAR: 50_000, Board.CHINEXT: 150_000}  # [?] REFERENCE.md

Limits = tuple[Decimal | None, Decimal | None]


def violation(code: str, message_zh: str, message_en: str) -> RuleViolation:
    return RuleViolation(message_zh, message_en, code=code)


def check_session(order_type: OrderType, now: datetime) -> None:
    """Limit orders in the auctions and continuous trading; market orders only in continuous."""
    phase = phase_at(now)
    if order_type is OrderType.MARKET and phase is not Phase.CONTINUOUS:
        raise violation(
            "trading_hours",
            "市价委托只能在连续竞价时段（9:30-11:30，13:00-14:57）提交",
            "market orders are accepted only in continuous trading (9:30-11:30, 13:00-14:57)",
        )
    if phase not in LIMIT_ORDER_PHASES:
        raise violation(
            "trading_hours",
            "非交易时段，不接受委托（交易时段 9:15-9:25，9:30-11:30，13:00-15:00）",
            "outside trading hours (9:15-9:25, 9:30-11:30, 13:00-15:00)",
        )


def check_size(request: OrderRequest, available: int) -> None:
    """Lot rules, the market-order maximum, and (for sells) the T+1 available quantity."""
    symbol, side, quantity = request.symbol, request.side, request.quantity
    check_quantity(symbol, side, quantity, available=available if side is Side.SELL else None)
    maximum = MARKET_ORDER_MAXIMUM.get(symbol.board)
    if request.type is OrderType.MARKET and maximum is not None and quantity > maximum:
        raise violation(
            "max_order_size",
            f"市价委托单笔最多 {maximum} 股",
            f"at most {maximum} shares per market order",
        )
    if side is Side.SELL and quantity > available:
        raise violation(
            "available",
            f"{symbol.full} 可卖 {available} 股，不足 {quantity} 股（T+1：当日买入次日可卖）",
            f"{symbol.full} has {available} shares available, not {quantity} "
            "(T+1: shares bought today can be sold from the next trading day)",
        )


def day_limits(quote: Quote, day: date) -> Limits:
    """(limit up, limit down) from the quote, else computed from its previous close."""
    if quote.limit_up is not None and quote.limit_down is not None:
        return quote.limit_up, quote.limit_down
    limits = price_limits(quote.symbol, quote.previous_close, day, is_st=is_st_name(quote.name))
    return limits if limits is not None else (None, None)


def check_limit_price(symbol: Symbol, price: Decimal | None, limits: Limits) -> None:
    """A limit order's price: present, on the tick, within the day's limits."""
    if price is None:
        raise violation("price", "限价委托须填写价格", "a limit order needs a price")
    check_price_tick(symbol, price)
    up, down = limits
    if up is not None and down is not None and not down <= price <= up:
        raise violation(
            "price_limit",
            f"{symbol.full} 委托价格 {price} 超出涨跌停范围 {down}-{up}",
            f"{symbol.full} price {price} is outside today's limits {down}-{up}",
        )


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
    up, down = limits
    if request.type is OrderType.LIMIT and request.price is not None:
        worst = request.price
    elif side is Side.BUY:
        worst = up or max((level.price for level in quote.asks), default=quote.last)
    else:
        worst = down or min((level.price for level in quote.bids), default=quote.last)
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
