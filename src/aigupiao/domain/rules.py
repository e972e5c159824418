"""Exchange rules an order must keep, shared by the brokers and the risk gate.

Pure functions of the order, the quote and the trading date. Each check raises
:class:`~aigupiao.domain.errors.RuleViolation` whose ``code`` names the rule:
``trading_hours``, ``lot``, ``max_order_size``, ``available``, ``price``,
``tick``, ``price_limit``, ``price_cage``. Every message is in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from .errors import RuleViolation
from .market import Quote
from .orders import OrderType, Side, check_price_tick, check_quantity
from .securities import SecurityFacts, facts_for, limit_prices
from .sessions import Phase
from .symbols import Board, Symbol

# Limit orders are taken whenever the broker takes orders; those placed outside
# continuous trading wait for the auction (9:15-9:25, 14:57-15:00) or the next
# continuous session (9:25-9:30 and the lunch break, as brokers queue them).
LIMIT_ORDER_PHASES = frozenset(
    {Phase.OPENING_AUCTION, Phase.PRE_OPEN, Phase.CONTINUOUS, Phase.LUNCH, Phase.CLOSING_AUCTION}
)
MARKET_ORDER_MAXIMUM = {Board.STAR: 50_000, Board.CHINEXT: 150_000}  # [?] REFERENCE.md

Limits = tuple[Decimal | None, Decimal | None]


@dataclass(frozen=True, slots=True)
class CageRule:
    """Continuous trading: a buy may not be priced above max(ref x (1 + pct), ref + ticks),
    a sell not below min(ref x (1 - pct), ref - ticks); ``ref`` is the best opposite price."""

    pct: Decimal
    ticks: int
    since: date


# [?] REFERENCE.md: STAR since its launch, ChiNext since its reform, main boards since the
# 2023 registration reform, BSE +-5% (or 10 ticks). Funds have no cage.
CAGES: dict[Board, CageRule] = {
    Board.STAR: CageRule(Decimal("0.02"), 0, date(2019, 7, 22)),
    Board.CHINEXT: CageRule(Decimal("0.02"), 0, date(2020, 8, 24)),
    Board.SH_MAIN: CageRule(Decimal("0.02"), 10, date(2023, 4, 10)),
    Board.SZ_MAIN: CageRule(Decimal("0.02"), 10, date(2023, 4, 10)),
    Board.BSE: CageRule(Decimal("0.05"), 10, date(2021, 11, 15)),
}


def violation(code: str, message_zh: str, message_en: str) -> RuleViolation:
    return RuleViolation(message_zh, message_en, code=code)


def check_session(order_type: OrderType, phase: Phase) -> None:
    """Market orders only in continuous trading; limit orders whenever orders are taken."""
    if order_type is OrderType.MARKET and phase is not Phase.CONTINUOUS:
        raise violation(
            "trading_hours",
            "市价委托只能在连续竞价时段（9:30-11:30，13:00-14:57）提交；集合竞价只接受限价委托",
            "market orders are accepted only in continuous trading (9:30-11:30, 13:00-14:57); "
            "the call auctions take limit orders only",
        )
    if phase not in LIMIT_ORDER_PHASES:
        raise violation(
            "trading_hours",
            "非交易时段，不接受委托（交易日 9:15-11:30，13:00-15:00）",
            "outside trading hours (trading days 9:15-11:30, 13:00-15:00)",
        )


def check_cancel(phase: Phase, *, before_opening_cutoff: bool) -> None:
    """Cancels: not 9:20-9:30 (the opening match) nor in the closing auction."""
    allowed = phase in (Phase.CONTINUOUS, Phase.LUNCH) or (
        phase is Phase.OPENING_AUCTION and before_opening_cutoff
    )
    if not allowed:
        raise violation(
            "trading_hours",
            "当前时段不接受撤单（9:20-9:30 与 14:57-15:00 不可撤单）",
            "cancels are not accepted now (none 9:20-9:30 and 14:57-15:00)",
        )


def check_order_size(
    symbol: Symbol, side: Side, quantity: int, order_type: OrderType, available: int
) -> None:
    """Lot rules, the market-order maximum, and (for sells) the T+1 available quantity."""
    check_quantity(symbol, side, quantity, available=available if side is Side.SELL else None)
    maximum = MARKET_ORDER_MAXIMUM.get(symbol.board)
    if order_type is OrderType.MARKET and maximum is not None and quantity > maximum:
        raise violation(
            "max_order_size",
            f"市价委托单笔最多 {maximum} 股",
            f"at most {maximum} shares per market order",
        )
    if side is Side.SELL and quantity > available:
        if facts_for(symbol).t_plus_zero:
            why_zh, why_en = "", ""
        else:
            why_zh = "（T+1：当日买入次日可卖）"
            why_en = " (T+1: shares bought today can be sold from the next trading day)"
        raise violation(
            "available",
            f"{symbol.full} 可卖 {available} 股，不足 {quantity} 股{why_zh}",
            f"{symbol.full} has {available} shares available, not {quantity}{why_en}",
        )


def day_limits(
    quote: Quote,
    day: date,
    listed_on: date | None = None,
    facts: SecurityFacts | None = None,
) -> Limits:
    """(limit up, limit down) from the quote, else computed from its previous close and
    the security's facts; (None, None) when the security has no limit today (a new
    listing, which a quote may say with ``no_limit``).

    Args:
        listed_on: the listing date, where the caller knows better than the facts.
        facts: the security's facts; default those of the table in use
            (:func:`~aigupiao.domain.securities.facts_for`). The quote's name is
            fresher than either: it decides special treatment.
    """
    if quote.no_limit:
        return None, None
    if quote.limit_up is not None and quote.limit_down is not None:
        return quote.limit_up, quote.limit_down
    known = facts if facts is not None else facts_for(quote.symbol)
    if listed_on is not None:
        known = replace(known, listed_on=listed_on)
    limits = limit_prices(known.seen_as(quote.name, day), quote.previous_close, day)
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


def cage_reference(side: Side, quote: Quote) -> Decimal:
    """The price a cage is measured from: the best opposite price, else the best own
    price, else the last price, else the previous close."""
    opposite, own = (quote.asks, quote.bids) if side is Side.BUY else (quote.bids, quote.asks)
    if opposite:
        return opposite[0].price
    if own:
        return own[0].price
    return quote.last if quote.last > 0 else quote.previous_close


def cage_bound(symbol: Symbol, side: Side, quote: Quote, day: date) -> Decimal | None:
    """The highest buy (lowest sell) price the cage allows now; None when no cage applies."""
    rule = CAGES.get(symbol.board)
    if rule is None or day < rule.since:
        return None
    ref = cage_reference(side, quote)
    if ref <= 0:
        return None
    step = symbol.tick * rule.ticks
    if side is Side.BUY:
        return max(ref * (1 + rule.pct), ref + step)
    return min(ref * (1 - rule.pct), ref - step)


def check_cage(symbol: Symbol, side: Side, price: Decimal, quote: Quote, day: date) -> None:
    """A limit order in continuous trading must be priced inside the board's price cage."""
    bound = cage_bound(symbol, side, quote, day)
    if bound is None:
        return
    rule = CAGES[symbol.board]
    ref = cage_reference(side, quote)
    step = symbol.tick * rule.ticks
    if side is Side.BUY and price > bound:
        raise violation(
            "price_cage",
            f"{symbol.full} 买入价格 {price} 超出价格笼子：不得高于基准价 {ref} 的"
            f"{_percent(1 + rule.pct)}%" + (f"或基准价加 {rule.ticks} 个价位" if step else ""),
            f"{symbol.full} buy price {price} is outside the price cage: at most "
            f"{_percent(1 + rule.pct)}% of the reference price {ref}"
            + (f" or {rule.ticks} ticks above it" if step else ""),
        )
    if side is Side.SELL and price < bound:
        raise violation(
            "price_cage",
            f"{symbol.full} 卖出价格 {price} 超出价格笼子：不得低于基准价 {ref} 的"
            f"{_percent(1 - rule.pct)}%" + (f"或基准价减 {rule.ticks} 个价位" if step else ""),
            f"{symbol.full} sell price {price} is outside the price cage: at least "
            f"{_percent(1 - rule.pct)}% of the reference price {ref}"
            + (f" or {rule.ticks} ticks below it" if step else ""),
        )


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}"


def worst_price(
    side: Side, order_type: OrderType, price: Decimal | None, quote: Quote, limits: Limits
) -> Decimal:
    """The worst price an order may fill at, which a broker freezes cash against.

    The limit price, or for a market order the limit-up price (limit down for a sell),
    or the farthest level of the book when there are no limits.
    """
    up, down = limits
    if order_type is OrderType.LIMIT and price is not None:
        return price
    if side is Side.BUY:
        return up or max((level.price for level in quote.asks), default=quote.last)
    return down or min((level.price for level in quote.bids), default=quote.last)
