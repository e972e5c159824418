"""xtquant objects (XtOrder, XtTrade, XtPosition, XtAsset) translated into aigupiao domain objects.

Attribute names are xtquant's (``xtquant/xttype.py``): an XtOrder has
``order_id`` (the client's number, what cancels take), ``order_sysid`` (the
counter's 合同编号), ``stock_code`` (``"600519.SH"``), ``order_type`` (23 buy,
24 sell), ``order_volume``, ``price_type``, ``price``, ``traded_volume``,
``traded_price`` (average), ``order_status`` (48..57, 255), ``status_msg``
(why 废单), ``order_remark`` and ``order_time`` (epoch seconds). Prices and money
are floats; they become Decimal through ``str``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from aigupiao.domain.account import Account, Position
from aigupiao.domain.errors import InvalidSymbol
from aigupiao.domain.market import Quote
from aigupiao.domain.money import ZERO, round_half_up, to_decimal
from aigupiao.domain.orders import Fees, MarketKind, Order, OrderStatus, OrderType, Side, Trade
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Board, Exchange, Symbol, parse_symbol

from ..base import BrokerRejected, OrderRequest
from ..precheck import star_protective_price
from ..vocabulary import UnknownStatus, restore_order, status_from_qmt
from . import client as xt

log = logging.getLogger(__name__)

# [?] Counters keep a short 委托备注: a client order id longer than this, or not ASCII, is
# carried as a digest of itself (the link is kept in qmt_orders.db as well).
REMARK_LIMIT = 24
STRATEGY_NAME = "aigupiao"
PRICE_STEP = Decimal("0.001")


# xtquant's price_type for each market-order kind, per exchange (xtconstant 报价类型), for
# order_stock. BSE market orders are not mapped [?].
MARKET_PRICE_TYPES: dict[tuple[Exchange, MarketKind], int] = {
    (Exchange.SH, MarketKind.BEST5_IOC): xt.MARKET_SH_CONVERT_5_CANCEL,
    (Exchange.SH, MarketKind.BEST5_TO_LIMIT): xt.MARKET_SH_CONVERT_5_LIMIT,
    (Exchange.SH, MarketKind.COUNTERPARTY_BEST): xt.MARKET_PEER_PRICE_FIRST,
    (Exchange.SH, MarketKind.OWN_BEST): xt.MARKET_MINE_PRICE_FIRST,
    (Exchange.SZ, MarketKind.BEST5_IOC): xt.MARKET_SZ_CONVERT_5_CANCEL,
    (Exchange.SZ, MarketKind.IOC): xt.MARKET_SZ_INSTBUSI_RESTCANCEL,
    (Exchange.SZ, MarketKind.FOK): xt.MARKET_SZ_FULL_OR_CANCEL,
    (Exchange.SZ, MarketKind.COUNTERPARTY_BEST): xt.MARKET_PEER_PRICE_FIRST,
    (Exchange.SZ, MarketKind.OWN_BEST): xt.MARKET_MINE_PRICE_FIRST,
}
_SENT_KINDS = {price_type: kind for (_, kind), price_type in MARKET_PRICE_TYPES.items()}

# An XtOrder read back carries the counter's price type (enum_EBrokerPriceType: 50 限价,
# 49 市价, 84-89 the market kinds; easytrader's miniqmt BROKER_PRICE_TYPE_MAP), though
# some releases echo the xtconstant one sent (11 FIX_PRICE, 42-48). Both are read.
BROKER_PRICE_ANY = 49
BROKER_PRICE_LIMIT = 50
BROKER_MARKET_KINDS: dict[int, MarketKind] = {
    84: MarketKind.COUNTERPARTY_BEST,
    85: MarketKind.BEST5_TO_LIMIT,
    86: MarketKind.OWN_BEST,
    87: MarketKind.IOC,
    88: MarketKind.BEST5_IOC,
    89: MarketKind.FOK,
}


def order_kind(price_type: Any, price: Any) -> tuple[OrderType, MarketKind | None]:
    """Limit or market (and which kind) from an XtOrder's ``price_type``."""
    code = int(price_type) if price_type is not None else -1
    if code in (xt.FIX_PRICE, BROKER_PRICE_LIMIT):
        return OrderType.LIMIT, None
    if code in BROKER_MARKET_KINDS:
        return OrderType.MARKET, BROKER_MARKET_KINDS[code]
    if code in _SENT_KINDS:
        return OrderType.MARKET, _SENT_KINDS[code]
    if code in (BROKER_PRICE_ANY, xt.LATEST_PRICE):
        return OrderType.MARKET, None
    return (OrderType.LIMIT, None) if money(price) > 0 else (OrderType.MARKET, None)


def remark_for(client_order_id: str) -> str:
    """The ``order_remark`` that carries ``client_order_id`` to miniQMT and back."""
    if len(client_order_id) <= REMARK_LIMIT and client_order_id.isascii():
        return client_order_id
    return "agp" + hashlib.blake2b(client_order_id.encode(), digest_size=10).hexdigest()


def xt_code(symbol: Symbol) -> str:
    """``sh600519`` -> ``600519.SH`` (xtquant's form)."""
    return f"{symbol.code}.{symbol.exchange.value}"


def symbol_of(stock_code: Any) -> Symbol | None:
    try:
        return parse_symbol(str(stock_code))
    except InvalidSymbol:
        return None


def money(value: Any) -> Decimal:
    if value is None or value == "":
        return ZERO
    return to_decimal(value)


def moment(value: Any, today: date) -> datetime:
    """xtquant times: epoch seconds (``1741829712``); ``HHMMSS`` ints are taken as today."""
    number = int(value or 0)
    if number >= 1_000_000_000:
        return datetime.fromtimestamp(number, BEIJING)
    hour, rest = divmod(number, 10_000)
    minute, second = divmod(rest, 100)
    if hour < 24 and minute < 60 and second < 60:
        return datetime.combine(today, time(hour, minute, second), tzinfo=BEIJING)
    return datetime.combine(today, time(0, 0), tzinfo=BEIJING)


def order_id(day: date, xt_order_id: Any) -> str:
    """aigupiao's id of a miniQMT order: its ``order_id``, made unique across days."""
    return f"{day:%Y%m%d}-{xt_order_id}"


def xt_order_id_of(any_order_id: str) -> int:
    """The miniQMT ``order_id`` in an id from :func:`order_id` (a bare number is accepted).

    Raises:
        ValueError: no number in it.
    """
    match = re.fullmatch(r"(?:\d{8}-)?(\d+)", any_order_id.strip())
    if match is None:
        raise ValueError(f"not a miniQMT order id: {any_order_id!r}")
    return int(match.group(1))


def side_of(order_type: Any, offset_flag: Any = None) -> Side:
    """Buy or sell from ``order_type`` (23/24), else from ``offset_flag`` (48/49)."""
    if order_type == xt.STOCK_BUY:
        return Side.BUY
    if order_type == xt.STOCK_SELL:
        return Side.SELL
    if offset_flag == xt.OFFSET_FLAG_OPEN:
        return Side.BUY
    if offset_flag == xt.OFFSET_FLAG_CLOSE:
        return Side.SELL
    raise ValueError(f"not a stock buy or sell: order_type={order_type!r}")


def order_from(
    xt_order: Any, account: str, today: date, client_order_id: str | None = None
) -> Order | None:
    """An XtOrder as an Order; None for what aigupiao does not trade (not an A-share buy/sell)."""
    symbol = symbol_of(xt_order.stock_code)
    if symbol is None:
        return None
    try:
        side = side_of(xt_order.order_type, getattr(xt_order, "offset_flag", None))
    except ValueError:
        return None
    created = moment(xt_order.order_time, today)
    order_type, kind = order_kind(xt_order.price_type, xt_order.price)
    limit = order_type is OrderType.LIMIT
    placed = Order(
        id=order_id(created.date(), xt_order.order_id),
        account=account,
        symbol=symbol,
        side=side,
        type=OrderType.LIMIT if limit else OrderType.MARKET,
        quantity=int(xt_order.order_volume),
        price=money(xt_order.price) if limit else None,
        created_at=created,
        status=OrderStatus.SUBMITTED,
        broker_order_id=str(xt_order.order_id),
        client_order_id=client_order_id,
        market_kind=kind,
    )
    try:
        status = status_from_qmt(xt_order.order_status)
    except UnknownStatus:
        log.warning("miniQMT order %s has status %r; kept open", placed.id, xt_order.order_status)
        status = OrderStatus.SUBMITTED
    filled = min(int(xt_order.traded_volume or 0), placed.quantity)
    reason = ""
    if status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
        reason = str(getattr(xt_order, "status_msg", "") or "")
    return restore_order(
        placed,
        status,
        filled_quantity=filled,
        filled_amount=money(xt_order.traded_price) * filled,
        reason=reason,
    )


def trade_from(xt_trade: Any, account: str, today: date) -> Trade | None:
    """An XtTrade as a Trade (``commission``, where the release has it, is the fee)."""
    symbol = symbol_of(xt_trade.stock_code)
    if symbol is None:
        return None
    try:
        side = side_of(xt_trade.order_type, getattr(xt_trade, "offset_flag", None))
    except ValueError:
        return None
    quantity = int(xt_trade.traded_volume)
    price = money(xt_trade.traded_price)
    amount = money(getattr(xt_trade, "traded_amount", None)) or price * quantity
    at = moment(xt_trade.traded_time, today)
    return Trade(
        id=f"{at:%Y%m%d}-{xt_trade.traded_id}",
        order_id=order_id(at.date(), xt_trade.order_id),
        account=account,
        symbol=symbol,
        side=side,
        quantity=quantity,
        price=price,
        amount=amount,
        fees=Fees(money(getattr(xt_trade, "commission", None)), ZERO, ZERO),
        ts=at,
    )


def account_from(
    asset: Any,
    positions: list[Any],
    account_id: str,
    quotes: Callable[[str], Quote | None] | None = None,
) -> Account:
    """XtAsset and XtPositions -> Account. Cash is ``cash`` (available), frozen ``frozen_cash``.

    A position's cost is ``avg_price`` (成本价), else ``open_price``; its last price is
    the node's quote, else ``market_value / volume``.
    """
    held = []
    for position in positions:
        symbol = symbol_of(position.stock_code)
        volume = int(position.volume or 0)
        if symbol is None or volume <= 0:
            continue
        quote = quotes(symbol.full) if quotes is not None else None
        value = money(getattr(position, "market_value", None))
        last = (
            quote.last
            if quote is not None
            else (round_half_up(value / volume, PRICE_STEP) if value else None)
        )
        cost = money(getattr(position, "avg_price", None)) or money(position.open_price)
        held.append(
            Position(
                symbol=symbol,
                total=volume,
                available=min(int(position.can_use_volume or 0), volume),
                cost_price=cost,
                last_price=last,
            )
        )
    return Account(
        id=account_id,
        cash=money(asset.cash),
        frozen_cash=money(asset.frozen_cash),
        positions=tuple(held),
        paper=False,
    )


def price_args(request: OrderRequest, quote: Quote | None) -> tuple[int, float]:
    """xtquant's price_type and price: the limit, or best five rest cancelled (a STAR market
    order carries its protective price)."""
    if request.type is OrderType.LIMIT:
        assert request.price is not None
        return xt.FIX_PRICE, float(request.price)
    kind = request.market_kind or MarketKind.BEST5_IOC
    price_type = MARKET_PRICE_TYPES.get((request.symbol.exchange, kind))
    if price_type is None:
        exchange = request.symbol.exchange.value
        raise BrokerRejected(
            f"miniQMT 适配器不支持 {exchange} 市场的「{kind.label_zh}」市价委托，请用限价",
            f"{kind.value} market orders on {exchange} are not supported here; use a limit",
            code="market_kind",
        )
    if request.symbol.board is Board.STAR:
        protective = star_protective_price(request, quote)
        if protective is None:
            raise BrokerRejected(
                "科创板市价委托需要保护限价，但节点没有该股行情",
                "a STAR market order needs a protective price and the node has no quote for it",
                code="no_quote",
            )
        return price_type, float(protective)
    return price_type, 0.0
