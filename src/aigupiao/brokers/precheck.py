"""The checks a live adapter makes before an order reaches the broker's client.

The same rules as the paper broker (:mod:`aigupiao.brokers.paper.rules`):
account, trading hours, lot and odd-lot sells, tick, the market-order maximum,
price limits (when a quote gives them), T+1 available quantity for sells and
cash for buys. Obviously bad orders are refused here with the rule's code and
never reach the client's window; the client and the exchange still have the
last word on what these checks cannot see.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from aigupiao.domain.errors import RuleViolation
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import OrderType, Side
from aigupiao.domain.sessions import phase_at

from .base import BrokerRejected, OrderRequest
from .paper import rules
from .paper.fees import FeeSchedule

QuoteSource = Callable[[str], Quote | None]


class PreTradeCheck:
    """Validation for one account; ``quotes`` (optional) supplies price limits."""

    def __init__(
        self, account_id: str, quotes: QuoteSource | None = None, fees: FeeSchedule | None = None
    ) -> None:
        self.account_id = account_id
        self._quotes = quotes
        self._fees = fees or FeeSchedule()

    def quote(self, request: OrderRequest) -> Quote | None:
        return self._quotes(request.symbol.full) if self._quotes is not None else None

    def before_reading(self, request: OrderRequest, now: datetime) -> Quote | None:
        """What needs no account data: account, hours, market-order kind, lot, tick, limits.
        Returns the quote (None if the node has none).

        Raises:
            BrokerRejected: with the rule's code.
        """
        try:
            if request.account != self.account_id:
                raise rules.violation(
                    "account",
                    f"账户 {request.account} 不是本账户 {self.account_id}",
                    f"account {request.account} is not {self.account_id}",
                )
            rules.check_session(request.type, phase_at(now, request.symbol.exchange))
            rules.market_kind(request)
            if request.side is Side.BUY:
                rules.check_size(request, 0)
            quote = self.quote(request)
            if request.type is OrderType.LIMIT:
                limits = rules.day_limits(quote, now.date()) if quote else (None, None)
                rules.check_limit_price(request.symbol, request.price, limits)
            return quote
        except RuleViolation as exc:
            raise BrokerRejected.from_violation(exc) from exc

    def with_account(
        self,
        request: OrderRequest,
        quote: Quote | None,
        *,
        cash: Decimal,
        available: int,
        day: date,
    ) -> None:
        """Sells against the T+1 available quantity (odd lots included), buys against cash.

        A market buy without a quote has no worst price to check cash against; the
        client checks it.

        Raises:
            BrokerRejected: ``available``, ``lot`` or ``cash``.
        """
        try:
            if request.side is Side.SELL:
                rules.check_size(request, available)
                return
            if request.type is OrderType.MARKET and quote is None:
                return
            if quote is not None:
                limits = rules.day_limits(quote, day)
                rules.check_cash(request, quote, limits, cash=cash, fees=self._fees, day=day)
                return
            assert request.price is not None
            amount = request.price * request.quantity
            cost = amount + self._fees.fees(request.symbol, Side.BUY, amount, day).total
            if cost > cash:
                raise rules.violation(
                    "cash",
                    f"可用资金 {cash} 元不足，需要 {cost} 元",
                    f"available cash {cash} CNY is less than the {cost} CNY needed",
                )
        except RuleViolation as exc:
            raise BrokerRejected.from_violation(exc) from exc


def star_protective_price(request: OrderRequest, quote: Quote | None) -> Decimal | None:
    """STAR market orders carry a protective limit: 102% of the last price for a buy, 98% for a
    sell (the price cage), within the day's limits."""
    if quote is None or quote.last <= 0:
        return None
    tick = request.symbol.tick
    if request.side is Side.BUY:
        price = (quote.last * Decimal("1.02") / tick).to_integral_value(ROUND_FLOOR) * tick
        return min(price, quote.limit_up) if quote.limit_up is not None else price
    price = (quote.last * Decimal("0.98") / tick).to_integral_value(ROUND_CEILING) * tick
    return max(price, quote.limit_down) if quote.limit_down is not None else price
