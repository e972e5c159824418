"""The paper broker: an ordinary adapter behind the Broker port, matching against quotes.

It applies the A-share rules a real broker would: lots and odd-lot sells,
tick, daily price limits, trading hours (market orders only in continuous
trading), T+1 available quantity, and cash including fees.

Matching, against the latest Level-1 snapshot of the symbol:

* A market order walks up to five levels of the opposite side; what the depth
  cannot fill is cancelled (best five, immediate or cancel). With the opposite
  side empty (a buy at limit up) it fills nothing and is cancelled.
* A limit order fills against the levels at or better than its price; the rest
  rests as an open order and is matched by :meth:`PaperBroker.on_quote` on
  later snapshots. Orders placed in a call auction rest until continuous trading.
* Depth taken from one snapshot is remembered, so the same snapshot never
  fills the same shares twice.
* Open orders are day orders: they expire when the trading date changes, and
  at that moment every position becomes available (T+1).

Cash: a buy freezes its worst-case cost (limit price, or the limit-up price for
a market order, plus fees) and returns what it did not use when the order ends,
so cash never goes negative.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from aigupiao.core.clock import Clock
from aigupiao.domain.account import Account, Position
from aigupiao.domain.errors import RuleViolation
from aigupiao.domain.market import Quote
from aigupiao.domain.money import ZERO, cny, round_half_up, to_decimal
from aigupiao.domain.orders import Order, OrderType, Side, Trade
from aigupiao.domain.sessions import Phase, phase_at
from aigupiao.domain.symbols import Symbol

from ..base import (
    BrokerListener,
    BrokerRejected,
    BrokerUnavailable,
    OrderRequest,
    OrderResult,
)
from . import rules
from .fees import FeeSchedule

OPENING_CANCEL_CUTOFF = time(9, 20)
COST_PRICE_STEP = Decimal("0.001")
DEPTH = 5


@dataclass(slots=True)
class _Holding:
    symbol: Symbol
    total: int = 0
    available: int = 0  # sellable now, net of shares held by open sell orders
    cost: Decimal = ZERO  # what the shares held cost, fees included


class PaperBroker:
    """A simulated account at a simulated broker.

    Args:
        account_id: the account the orders must name.
        cash: the starting cash in CNY.
        clock: the trading clock (sessions, T+1 day changes, timestamps).
        quotes: the latest quote of a symbol by its prefixed code (``sh600519``).
        fee_schedule: the costs charged per fill; REFERENCE.md defaults if None.
        latency: seconds each order takes to place (to rehearse a slow client).
    """

    name = "paper"

    def __init__(
        self,
        account_id: str,
        cash: Decimal,
        clock: Clock,
        quotes: Callable[[str], Quote | None],
        fee_schedule: FeeSchedule | None = None,
        latency: float = 0.0,
    ) -> None:
        self.account_id = account_id
        self._latency = latency
        self._cash = to_decimal(cash)
        if self._cash < 0:
            raise ValueError("starting cash must not be negative")
        self._frozen_cash = ZERO
        self._clock = clock
        self._quotes = quotes
        self._fees = fee_schedule or FeeSchedule()
        self._lock = asyncio.Lock()
        self._day: date = clock.now().date()
        self._holdings: dict[str, _Holding] = {}
        self._orders: dict[str, Order] = {}
        self._open: dict[str, str] = {}  # open order id -> symbol
        self._reserved: dict[str, Decimal] = {}  # open buy order id -> cash still frozen for it
        self._by_client: dict[str, str] = {}
        self._trades: list[Trade] = []
        self._depth_used: dict[str, tuple[datetime, dict[Decimal, int]]] = {}
        # Ids stay unique across restarts (state is in memory for now), so stored
        # orders and fills of an earlier run are never overwritten or mistaken for duplicates.
        self._run = secrets.token_hex(3)
        self._order_seq = 0
        self._trade_seq = 0
        self._closed = False
        self._listener: BrokerListener | None = None

    # -- the port ----------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderResult:
        async with self._lock:
            if self._latency:
                # Stands in for the seconds a desktop client takes per order; held under the
                # lock because a GUI serves one order at a time.
                await asyncio.sleep(self._latency)
            now = self._begin()
            try:
                quote, reserve = self._validate(request, now)
            except RuleViolation as exc:
                raise BrokerRejected.from_violation(exc) from exc
            return self._accept(request, quote, reserve, now)

    async def cancel_order(self, order_id: str) -> Order:
        async with self._lock:
            now = self._begin()
            order = self._orders.get(order_id)
            if order is None:
                raise BrokerRejected("委托不存在", f"no order {order_id}", code="unknown_order")
            if order.status.is_final:
                raise BrokerRejected(
                    f"委托已{order.status.label_zh}，不能撤单",
                    f"order is {order.status.value} and cannot be cancelled",
                    code="order_final",
                )
            phase = phase_at(now)
            opening_cancel = phase is Phase.OPENING_AUCTION and now.time() < OPENING_CANCEL_CUTOFF
            if not (opening_cancel or phase in (Phase.CONTINUOUS, Phase.LUNCH)):
                raise BrokerRejected(
                    "当前时段不接受撤单", "cancels are not accepted now", code="trading_hours"
                )
            order = order.request_cancel().cancel("用户撤单 / cancelled by user")
            self._finish(order)
            return order

    async def get_account(self) -> Account:
        # Snapshots never await, so they need not queue behind an order in flight.
        self._begin()
        positions = tuple(
            self._position(holding) for holding in self._holdings.values() if holding.total
        )
        return Account(
            id=self.account_id,
            cash=self._cash,
            frozen_cash=self._frozen_cash,
            positions=positions,
            paper=True,
        )

    async def get_orders(self) -> list[Order]:
        # Snapshots never await, so they need not queue behind an order in flight.
        self._begin()
        return [o for o in self._orders.values() if o.created_at.date() == self._day]

    async def get_trades(self) -> list[Trade]:
        # Snapshots never await, so they need not queue behind an order in flight.
        self._begin()
        return [t for t in self._trades if t.ts.date() == self._day]

    async def find_order(self, client_order_id: str) -> Order | None:
        async with self._lock:
            self._begin()
            order_id = self._by_client.get(client_order_id)
            return self._orders[order_id] if order_id is not None else None

    async def close(self) -> None:
        self._closed = True

    def on_quote(self, quote: Quote) -> None:
        """Match the open orders of ``quote``'s symbol against it (a bus handler).

        It never awaits, so it runs atomically with respect to the async methods,
        which do not await while they hold the lock either.
        """
        if self._closed:
            return
        now = self._clock.now()
        self._roll(now.date())
        if phase_at(now) is not Phase.CONTINUOUS:
            return
        full = quote.symbol.full
        for order_id in [oid for oid, symbol in self._open.items() if symbol == full]:
            order, trades = self._match(self._orders[order_id], quote, now)
            if order.status.is_final:
                self._finish(order)
            else:
                self._orders[order_id] = order
            if trades:
                self._push("order_update", order)
                for trade in trades:
                    self._push("trade", trade)

    def set_listener(self, listener: BrokerListener | None) -> None:
        self._listener = listener

    def _push(self, kind: str, item: Order | Trade) -> None:
        if self._listener is not None:
            self._listener(kind, item)

    # -- validation --------------------------------------------------------------

    def _begin(self) -> datetime:
        if self._closed:
            raise BrokerUnavailable("模拟券商已关闭", "the paper broker is closed")
        now = self._clock.now()
        self._roll(now.date())
        return now

    def _validate(self, request: OrderRequest, now: datetime) -> tuple[Quote, Decimal]:
        """Check every rule; returns the quote and the cash a buy must freeze."""
        symbol = request.symbol
        if request.account != self.account_id:
            raise rules.violation(
                "account",
                f"账户 {request.account} 不是本账户 {self.account_id}",
                f"account {request.account} is not {self.account_id}",
            )
        if request.client_order_id in self._by_client:
            raise rules.violation(
                "duplicate",
                f"客户委托号 {request.client_order_id} 已使用",
                f"client order id {request.client_order_id} was already used",
            )
        rules.check_session(request.type, now)
        quote = self._quotes(symbol.full)
        if quote is None:
            raise rules.violation(
                "no_quote", f"{symbol.full} 暂无行情", f"no quote for {symbol.full} yet"
            )
        holding = self._holdings.get(symbol.full)
        rules.check_size(request, holding.available if holding is not None else 0)
        limits = rules.day_limits(quote, self._day)
        if request.type is OrderType.LIMIT:
            rules.check_limit_price(symbol, request.price, limits)
        reserve = rules.check_cash(
            request, quote, limits, cash=self._cash, fees=self._fees, day=self._day
        )
        return quote, reserve

    # -- orders, fills, books ----------------------------------------------------

    def _accept(
        self, request: OrderRequest, quote: Quote, reserve: Decimal, now: datetime
    ) -> OrderResult:
        self._order_seq += 1
        order_id = f"P{self._run}-{self._order_seq:06d}"
        order = Order(
            id=order_id,
            account=self.account_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            quantity=request.quantity,
            price=request.price if request.type is OrderType.LIMIT else None,
            created_at=now,
            client_order_id=request.client_order_id,
        ).submit(broker_order_id=order_id)
        if request.side is Side.BUY:
            self._cash -= reserve
            self._frozen_cash += reserve
            self._reserved[order_id] = reserve
        else:
            self._holdings[request.symbol.full].available -= request.quantity
        self._by_client[request.client_order_id] = order_id
        self._orders[order_id] = order
        self._open[order_id] = request.symbol.full
        trades: list[Trade] = []
        if phase_at(now) is Phase.CONTINUOUS:
            order, trades = self._match(order, quote, now)
        if order.type is OrderType.MARKET and not order.status.is_final:
            order = order.cancel("市价委托剩余部分已撤销 / unfilled rest of market order cancelled")
        if order.status.is_final:
            self._finish(order)
        else:
            self._orders[order_id] = order
        return OrderResult(order, tuple(trades))

    def _match(self, order: Order, quote: Quote, now: datetime) -> tuple[Order, list[Trade]]:
        """Fill ``order`` against the opposite side of ``quote`` as far as its price allows."""
        buying = order.side is Side.BUY
        levels = quote.asks if buying else quote.bids
        # A market order is capped by the day's limit, the price its cash was reserved at.
        up, down = rules.day_limits(quote, self._day)
        cap = order.price if order.price is not None else (up if buying else down)
        used = self._used_depth(quote)
        trades: list[Trade] = []
        for level in levels[:DEPTH]:
            if order.remaining_quantity == 0:
                break
            if cap is not None and (level.price > cap if buying else level.price < cap):
                break
            free = level.volume - used.get(level.price, 0)
            if free <= 0:
                continue
            quantity = min(free, order.remaining_quantity)
            used[level.price] = used.get(level.price, 0) + quantity
            order, trade = self._fill(order, quantity, level.price, now)
            trades.append(trade)
        return order, trades

    def _used_depth(self, quote: Quote) -> dict[Decimal, int]:
        """Shares already taken from each price level of this very snapshot."""
        full = quote.symbol.full
        entry = self._depth_used.get(full)
        if entry is None or entry[0] != quote.ts:
            entry = (quote.ts, {})
            self._depth_used[full] = entry
        return entry[1]

    def _fill(
        self, order: Order, quantity: int, price: Decimal, now: datetime
    ) -> tuple[Order, Trade]:
        amount = price * quantity
        fees = self._fees.fill_fees(
            order.symbol, order.side, order.filled_amount, amount, self._day
        )
        self._trade_seq += 1
        trade = Trade(
            id=f"T{self._run}-{self._trade_seq:06d}",
            order_id=order.id,
            account=self.account_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            amount=amount,
            fees=fees,
            ts=now,
        )
        holding = self._holdings.setdefault(order.symbol.full, _Holding(order.symbol))
        if order.side is Side.BUY:
            cost = amount + fees.total
            self._reserved[order.id] -= cost
            self._frozen_cash -= cost
            holding.total += quantity
            holding.cost += cost
        else:
            sold_cost = cny(holding.cost * quantity / holding.total)
            holding.total -= quantity
            holding.cost = holding.cost - sold_cost if holding.total else ZERO
            self._cash += amount - fees.total
        self._trades.append(trade)
        return order.fill(quantity, price), trade

    def _finish(self, order: Order) -> None:
        """Record a final order and release what it still held (cash or shares)."""
        self._orders[order.id] = order
        self._open.pop(order.id, None)
        if order.side is Side.BUY:
            leftover = self._reserved.pop(order.id, ZERO)
            self._frozen_cash -= leftover
            self._cash += leftover
        else:
            holding = self._holdings.get(order.symbol.full)
            if holding is not None:
                holding.available += order.remaining_quantity

    def _roll(self, day: date) -> None:
        """On a new trading date: expire yesterday's open orders; T+1 shares become available."""
        if day <= self._day:
            return
        for order_id in list(self._open):
            expired = self._orders[order_id].expire()
            self._finish(expired)
            self._push("order_update", expired)
        for full, holding in list(self._holdings.items()):
            if holding.total == 0:
                del self._holdings[full]
            else:
                holding.available = holding.total
        self._depth_used.clear()
        self._day = day

    def _position(self, holding: _Holding) -> Position:
        quote = self._quotes(holding.symbol.full)
        return Position(
            symbol=holding.symbol,
            total=holding.total,
            available=holding.available,
            cost_price=round_half_up(holding.cost / holding.total, COST_PRICE_STEP),
            last_price=quote.last if quote is not None else None,
        )
