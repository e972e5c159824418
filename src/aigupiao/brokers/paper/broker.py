"""The paper broker: an ordinary adapter behind the Broker port, matching against quotes.

It applies the A-share rules a real broker would (``rules.py``): sessions, lots
and odd-lot sells, the market-order maximum, tick, daily price limits from the
security's facts (:mod:`aigupiao.domain.securities`: board, fund limits, special
treatment, date, new listings), the price cage, T+1 available quantity (T+0 for
cross-border, gold, commodity, bond and money funds: shares bought can be sold at
once), and cash including fees. Sessions follow the security's exchange and the date
(SSE had no closing call auction before 2018-08-20). A rejection names the rule, in
Chinese and English.

Matching, against the latest Level-1 snapshot of the symbol (``matching.py``):

* **Limit orders** fill against the opposite levels at or better than their
  price; the rest rests, behind the shares its side shows at its price. A
  resting order fills from later snapshots: from new depth the opposite side
  shows at or better than its price, and, at its price, from the volume traded
  since the last snapshot that can have been at or better than it (bounded by
  volume and amount) beyond the queue ahead of it.
* **Market orders** (continuous trading only) by kind: best five then cancel
  (the default); best five then the rest as a limit order at the last fill
  price; counterparty best and own best (a limit order at that price; cancelled
  when that side is empty); and on SZSE immediate-or-cancel and fill-or-kill.
  A buy never pays more than the day's limit up (a sell never below limit down).
* **Call auctions**: limit orders placed 9:15-9:25 fill at the opening price
  (the first snapshot from 9:25) when it crosses them, from the auction's
  volume beyond the queue ahead of them (their side's shares at their price
  and better when they arrived); orders resting at 14:57 or placed later fill
  at the closing price of the first snapshot from 15:00 the same way. Orders
  placed 9:25-9:30 or in the lunch break wait for continuous trading. A buy at
  limit up with no sellers does not fill.
* Depth taken is remembered per price level for the trading day: a level frees
  only what it shows beyond what we took (``matching.py``; the assumptions and
  their tests are listed in ``docs/paper-broker.md``).
* Open orders are day orders: they expire when the trading date changes, and
  at that moment every position becomes available (T+1).

Cash: a buy freezes its worst-case cost (limit price, or the limit-up price for
a market order, plus fees) and returns what it did not use when the order ends,
so cash never goes negative. Fees are charged per fill as the increase of the
order's costs, so the minimum commission is paid once per order.

With a :class:`~.store.PaperStore` the account survives restarts: every change is
written before the call returns. Several brokers (accounts) may share one store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
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
from aigupiao.domain.orders import (
    ORDER_TRANSITIONS,
    MarketKind,
    Order,
    OrderStatus,
    OrderType,
    Side,
    Trade,
)
from aigupiao.domain.securities import facts_for
from aigupiao.domain.sessions import Phase, has_closing_auction, phase_at
from aigupiao.domain.states import next_state
from aigupiao.domain.symbols import parse_symbol

from ..base import (
    BrokerListener,
    BrokerRejected,
    BrokerUnavailable,
    OrderRequest,
    OrderResult,
)
from . import matching, rules
from .fees import FeeSchedule
from .store import PaperStore, SavedAccount, SavedHolding, SavedOrder

OPENING_CANCEL_CUTOFF = time(9, 20)
CLOSING_AUCTION_START = time(14, 57)
MARKET_CLOSE = time(15, 0)
COST_PRICE_STEP = Decimal("0.001")
ALL_LEVELS = 10**6  # immediate-or-cancel and fill-or-kill may take every visible level

_MARKET_CANCELLED = "市价委托剩余部分已撤销 / unfilled rest of market order cancelled"
# The state the port's contract gives an accepted order (checked against the table once).
_SUBMITTED = next_state(ORDER_TRANSITIONS, OrderStatus.NEW, "submit", "委托/order")


@dataclass(slots=True)
class _Holding:
    symbol: str
    total: int = 0
    available: int = 0  # sellable now, net of shares held by open sell orders
    cost: Decimal = ZERO  # what the shares held cost, fees included

    def saved(self) -> SavedHolding:
        return SavedHolding(self.symbol, self.total, self.available, self.cost)


@dataclass(slots=True)
class _Tape:
    """What the broker remembers of a symbol's snapshots today."""

    # The shares our orders took from each price level today (matching.take): a level
    # frees only what it shows beyond them.
    asks: dict[Decimal, int] = dataclasses.field(default_factory=dict)
    bids: dict[Decimal, int] = dataclasses.field(default_factory=dict)
    volume_before_close: int = 0  # of the latest snapshot before the closing auction
    opened: bool = False  # the opening auction has been matched
    closed: bool = False  # the closing auction has been matched

    def saved(self) -> str:
        return json.dumps(
            {
                "asks": [[str(price), shares] for price, shares in self.asks.items()],
                "bids": [[str(price), shares] for price, shares in self.bids.items()],
            }
        )


@dataclass(slots=True)
class _Queue:
    """Where a resting order stands in the market, as far as the snapshots show."""

    ahead: int | None  # shares ahead of it at its price; None while that price is not shown
    better: int  # shares its side shows at better prices (ahead of it in a call auction)
    crossed: int  # opposite shares shown at or better than its price in ``seen``
    crossed_through: int = 0  # of those, the shares shown at strictly better prices
    seen: Quote | None = None  # the last snapshot it was matched against (None: none yet)

    def saved(self) -> str:
        return json.dumps({"ahead": self.ahead, "better": self.better})


@dataclass(slots=True)
class _Change:
    """What one call changed, to write to the store in one transaction."""

    orders: dict[str, Order] = dataclasses.field(default_factory=dict)
    holdings: set[str] = dataclasses.field(default_factory=set)
    trades: list[Trade] = dataclasses.field(default_factory=list)
    tapes: set[str] = dataclasses.field(default_factory=set)  # symbols whose memory changed


class PaperBroker:
    """A simulated account at a simulated broker.

    Args:
        account_id: the account the orders must name.
        cash: the starting cash in CNY (ignored when ``store`` already holds the account).
        clock: the trading clock (sessions, T+1 day changes, timestamps).
        quotes: the latest quote of a symbol by its prefixed code (``sh600519``).
        fee_schedule: the costs charged per fill; REFERENCE.md defaults if None.
        latency: seconds each order takes to place (to rehearse a slow client).
        store: where the account is kept across restarts; in memory only if None.
        listed_on: the listing date of a symbol (for the no-limit days of new listings).
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
        *,
        store: PaperStore | None = None,
        listed_on: Callable[[str], date | None] | None = None,
    ) -> None:
        self.account_id = account_id
        self._latency = latency
        self._clock = clock
        self._quotes = quotes
        self._fees = fee_schedule or FeeSchedule()
        self._store = store
        self._listed_on = listed_on
        self._lock = asyncio.Lock()
        self._holdings: dict[str, _Holding] = {}
        self._orders: dict[str, Order] = {}  # today's and open ones
        self._open: dict[str, bool] = {}  # open order id -> waits for the opening auction
        self._resting: dict[str, dict[str, None]] = {}  # symbol -> its open order ids
        self._reserved: dict[str, Decimal] = {}  # open buy order id -> cash still frozen
        self._by_client: dict[str, str] = {}
        self._trades: list[Trade] = []  # today's
        self._tapes: dict[str, _Tape] = {}
        self._queues: dict[str, _Queue] = {}  # open order id -> its place in the market
        self._rank: dict[str, tuple[bool, Decimal]] = {}  # open order id -> (side, price) priority
        self._limits: dict[str, rules.Limits] = {}  # today's, by symbol
        self._closed = False
        self._listener: BrokerListener | None = None
        saved = store.load(account_id) if store is not None else None
        if saved is not None:
            self._restore(saved)
        else:
            self._cash = to_decimal(cash)
            if self._cash < 0:
                raise ValueError("starting cash must not be negative")
            self._frozen_cash = ZERO
            self._day: date = clock.now().date()
            # Ids stay unique across runs, so stored orders and fills of an earlier run
            # are never overwritten or mistaken for duplicates.
            self._run = secrets.token_hex(3)
            self._order_seq = 0
            self._trade_seq = 0
            self._save(_Change())

    # -- the port ----------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderResult:
        async with self._lock:
            if self._latency:
                # Stands in for the seconds a desktop client takes per order; held under the
                # lock because a GUI serves one order at a time.
                await asyncio.sleep(self._latency)
            now = self._begin()
            try:
                return self._place(request, now)
            except RuleViolation as exc:
                raise BrokerRejected.from_violation(exc) from exc

    async def cancel_order(self, order_id: str) -> Order:
        async with self._lock:
            now = self._begin()
            order = self._orders.get(order_id)
            if order is None:
                raise BrokerRejected("委托不存在", f"no order {order_id}", code="unknown_order")
            if order.status.is_final:
                raise BrokerRejected(
                    f"委托已{order.status_zh}，不能撤单",
                    f"order is {order.status.value} and cannot be cancelled",
                    code="order_final",
                )
            try:
                rules.check_cancel(
                    phase_at(now, order.symbol.exchange),
                    before_opening_cutoff=now.time() < OPENING_CANCEL_CUTOFF,
                )
            except RuleViolation as exc:
                raise BrokerRejected.from_violation(exc) from exc
            change = _Change()
            order = order.request_cancel().cancel("用户撤单 / cancelled by user")
            self._finish(order, change)
            self._save(change)
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
        self._begin()
        return [o for o in self._orders.values() if o.created_at.date() == self._day]

    async def get_trades(self) -> list[Trade]:
        self._begin()
        return list(self._trades)

    async def find_order(self, client_order_id: str) -> Order | None:
        async with self._lock:
            self._begin()
            order_id = self._by_client.get(client_order_id)
            if order_id is not None:
                return self._orders[order_id]
            if self._store is not None:  # an order of an earlier day
                return self._store.find_order(self.account_id, client_order_id)
            return None

    async def close(self) -> None:
        self._closed = True

    def set_listener(self, listener: BrokerListener | None) -> None:
        self._listener = listener

    def on_quote(self, quote: Quote) -> None:
        """Match the open orders of ``quote``'s symbol against it (a bus handler).

        It never awaits, so it runs atomically with respect to the async methods,
        which do not await while they hold the lock either.
        """
        if self._closed:
            return
        now = self._clock.now()
        self._roll(now.date())
        full = quote.symbol.full
        tape = self._tapes.get(full)
        if tape is None:
            tape = self._tapes[full] = _Tape()
        phase = phase_at(now, quote.symbol.exchange)  # SSE had no closing auction before 2018
        if phase is Phase.CONTINUOUS and now.time() < CLOSING_AUCTION_START:
            tape.volume_before_close = quote.volume
        resting = self._resting.get(full)
        if not resting:
            if phase in (Phase.PRE_OPEN, Phase.CONTINUOUS) and quote.open > 0:
                tape.opened = True
            return
        change = _Change()
        if phase in (Phase.PRE_OPEN, Phase.CONTINUOUS) and not tape.opened:
            tape.opened = True  # the first snapshot after the opening match carries its price
            self._auction(resting, quote, quote.open, quote.volume, now, change, opening=True)
            for order_id in list(resting):  # the auction's volume is spent: start from here
                queue = self._queues.get(order_id)
                if queue is not None:
                    self._observe(self._orders[order_id], queue, quote)
        elif (
            phase is Phase.CLOSED
            and now.time() >= MARKET_CLOSE
            and not tape.closed
            and has_closing_auction(quote.symbol.exchange, now.date())
        ):
            tape.closed = True
            volume = quote.volume - tape.volume_before_close
            self._auction(resting, quote, quote.last, volume, now, change, opening=False)
        if phase is Phase.CONTINUOUS:
            self._match_continuous(resting, quote, now, change)
        self._publish(change)

    # -- placing -----------------------------------------------------------------

    def _begin(self) -> datetime:
        if self._closed:
            raise BrokerUnavailable("模拟券商已关闭", "the paper broker is closed")
        now = self._clock.now()
        self._roll(now.date())
        return now

    def _place(self, request: OrderRequest, now: datetime) -> OrderResult:
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
        phase = phase_at(now, symbol.exchange)
        rules.check_session(request.type, phase)
        kind = rules.market_kind(request)
        quote = self._quotes(symbol.full)
        if quote is None:
            raise rules.violation(
                "no_quote", f"{symbol.full} 暂无行情", f"no quote for {symbol.full} yet"
            )
        holding = self._holdings.get(symbol.full)
        rules.check_size(request, holding.available if holding is not None else 0)
        limits = self._day_limits(quote)
        if request.type is OrderType.LIMIT:
            rules.check_limit_price(symbol, request.price, limits)
            if phase is Phase.CONTINUOUS:
                assert request.price is not None
                rules.check_cage(symbol, request.side, request.price, quote, self._day)
        reserve = rules.check_cash(
            request, quote, limits, cash=self._cash, fees=self._fees, day=self._day
        )
        return self._accept(request, kind, quote, limits, reserve, phase, now)

    def _accept(
        self,
        request: OrderRequest,
        kind: MarketKind | None,
        quote: Quote,
        limits: rules.Limits,
        reserve: Decimal,
        phase: Phase,
        now: datetime,
    ) -> OrderResult:
        change = _Change()
        self._order_seq += 1
        order_id = f"P{self._run}-{self._order_seq:06d}"
        full = request.symbol.full
        price = request.price if request.type is OrderType.LIMIT else None
        if kind is MarketKind.COUNTERPARTY_BEST or kind is MarketKind.OWN_BEST:
            # A limit order at the best price of the side its kind names (none: cancelled).
            counterparty = kind is MarketKind.COUNTERPARTY_BEST
            side = quote.asks if (request.side is Side.BUY) == counterparty else quote.bids
            price = side[0].price if side else None
        # Accepted is submitted: built in that state at once (new -> submit), as orders are
        # placed by the thousand.
        order = Order(
            id=order_id,
            account=self.account_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            quantity=request.quantity,
            price=price,
            created_at=now,
            status=_SUBMITTED,
            broker_order_id=order_id,
            client_order_id=request.client_order_id,
            market_kind=kind,
        )
        if request.side is Side.BUY:
            self._cash -= reserve
            self._frozen_cash += reserve
            self._reserved[order_id] = reserve
        else:
            self._holdings[full].available -= request.quantity
            change.holdings.add(full)
        self._by_client[request.client_order_id] = order_id
        self._orders[order_id] = order
        self._open[order_id] = phase is Phase.OPENING_AUCTION
        before = len(change.trades)
        if phase is Phase.CONTINUOUS:
            if kind is None:
                order = self._take(order, quote, order.price, matching.DEPTH, now, change)
            else:
                order = self._market(order, kind, quote, limits, now, change)
        if order.status.is_final:
            self._finish(order, change)
        else:
            self._orders[order_id] = order
            change.orders[order_id] = order
            self._enter(order, quote)
        self._save(change)
        return OrderResult(order, tuple(change.trades[before:]))

    def _market(
        self,
        order: Order,
        kind: MarketKind,
        quote: Quote,
        limits: rules.Limits,
        now: datetime,
        change: _Change,
    ) -> Order:
        """Fill a market order as its kind says; returns it final, or resting as a limit order."""
        buying = order.side is Side.BUY
        up, down = limits
        cap = up if buying else down  # the price its cash was reserved at
        opposite = quote.asks if buying else quote.bids
        if kind is MarketKind.COUNTERPARTY_BEST or kind is MarketKind.OWN_BEST:
            if order.price is None:  # its side was empty (``_accept`` set the price)
                return order.cancel(
                    f"{kind.label_zh}：无可用价格，委托已撤销 / no {kind.value} price; cancelled"
                )
            return self._take(order, quote, order.price, matching.DEPTH, now, change)
        if kind is MarketKind.FOK:
            tape = self._tape(quote)
            if (
                matching.available(
                    opposite,
                    buying=buying,
                    cap=cap,
                    used=tape.asks if buying else tape.bids,
                    depth=ALL_LEVELS,
                )
                < order.quantity
            ):
                return order.cancel(
                    "全额成交或撤销：深度不足，委托已撤销 / fill-or-kill: not enough depth"
                )
        depth = (
            matching.DEPTH
            if kind in (MarketKind.BEST5_IOC, MarketKind.BEST5_TO_LIMIT)
            else ALL_LEVELS
        )
        filled = self._take(order, quote, cap, depth, now, change)
        if filled.status.is_final:
            return filled
        if kind is MarketKind.BEST5_TO_LIMIT and filled.filled_quantity:
            last_price = change.trades[-1].price
            return dataclasses.replace(filled, price=last_price)  # the rest rests at it
        return filled.cancel(_MARKET_CANCELLED)

    # -- matching ----------------------------------------------------------------

    def _tape(self, quote: Quote) -> _Tape:
        full = quote.symbol.full
        tape = self._tapes.get(full)
        if tape is None:
            tape = self._tapes[full] = _Tape()
        return tape

    def _take(
        self,
        order: Order,
        quote: Quote,
        cap: Decimal | None,
        depth: int,
        now: datetime,
        change: _Change,
    ) -> Order:
        buying = order.side is Side.BUY
        tape = self._tape(quote)
        fills = matching.take(
            quote.asks if buying else quote.bids,
            buying=buying,
            cap=cap,
            quantity=order.remaining_quantity,
            used=tape.asks if buying else tape.bids,
            depth=depth,
        )
        if fills:
            change.tapes.add(quote.symbol.full)
            for price, quantity in fills:
                order = self._fill(order, quantity, price, now, change)
        return order

    def _enter(self, order: Order, quote: Quote) -> None:
        """Put an order that rests at the back of its price's queue in ``quote``.

        Ranked only now, after its first matching (which never awaits, so no snapshot can
        come in between): its price may have been set there (best five to limit), and an
        order that ends at once (most market orders) never needs a rank.
        """
        self._rest(order)
        if order.price is None:
            return
        queue = _Queue(None, 0, 0)
        self._queues[order.id] = queue
        self._observe(order, queue, quote)

    def _observe(self, order: Order, queue: _Queue, quote: Quote) -> None:
        """Update a resting order's place from a snapshot it has been matched against.

        The shares ahead of it can only be fewer than its side now shows at its price
        (the rest were traded or cancelled); all of those may still be ahead of it.
        """
        price = order.price
        assert price is not None
        if order.side is Side.BUY:
            shown, queue.better, queue.crossed, queue.crossed_through = matching.place(
                quote.bids, quote.asks, price, buying=True
            )
        else:
            shown, queue.better, queue.crossed, queue.crossed_through = matching.place(
                quote.asks, quote.bids, price, buying=False
            )
        if shown is not None and (queue.ahead is None or shown < queue.ahead):
            queue.ahead = shown
        if queue.seen is None or quote.volume >= queue.seen.volume:
            queue.seen = quote

    def _match_continuous(
        self, resting: dict[str, None], quote: Quote, now: datetime, change: _Change
    ) -> None:
        """Match the resting orders of ``quote``'s symbol, best price first, then oldest.

        The volume traded since the last snapshot is shared: what one of our orders
        got from it, no other gets.
        """
        ids = list(resting)
        if len(ids) > 1:
            ids.sort(key=self._rank.__getitem__)
        high = quote.high if quote.high > quote.last else quote.last
        low = quote.low if 0 < quote.low < quote.last else quote.last
        shared = 0
        for order_id in ids:
            order = self._orders[order_id]
            shared += self._match_resting(order, quote, shared, high, low, now, change)

    def _rest(self, order: Order) -> None:
        """Count an order among the resting ones of its symbol, ranked by its price."""
        price = order.price if order.price is not None else ZERO
        buying = order.side is Side.BUY
        self._rank[order.id] = (not buying, -price if buying else price)
        self._resting.setdefault(order.symbol.full, {})[order.id] = None

    def _match_resting(
        self,
        order: Order,
        quote: Quote,
        shared: int,
        high: Decimal,
        low: Decimal,
        now: datetime,
        change: _Change,
    ) -> int:
        """Fill a resting order from a new snapshot; returns the traded shares it used.

        First (in time) the trades since the snapshot it last saw, if this one shows the
        market reached its price (the last price, or a new low for a buy / high for a
        sell, at or through it): of the volume that can have traded at or better than its
        price, less the opposite depth shown at those prices then (taken already, or
        lifted by buyers there), what passes the queue ahead of it; or, when the market
        went strictly through its price (the queue had to be gone first), what can have
        traded strictly through it, less the opposite depth shown strictly through it;
        less what ``shared`` of it went to our other orders. Then the new depth shown at
        or better than its price.
        """
        price = order.price
        assert price is not None
        buying = order.side is Side.BUY
        queue = self._queues.get(order.id)
        if queue is None:  # restored without a place: behind everything shown now
            queue = self._queues[order.id] = _Queue(None, 0, 0)
        seen = queue.seen
        filled = order
        traded = 0
        if seen is not None and quote.volume > seen.volume:
            if buying:
                extreme = quote.low if 0 < quote.low < seen.low else quote.last
                reached, went_through = extreme <= price, extreme < price
            else:
                extreme = quote.high if quote.high > seen.high else quote.last
                reached, went_through = extreme >= price, extreme > price
            last = quote.last
            if last != extreme:  # the last price may reach it where the new extreme did not
                reached = reached or matching.crosses(price, last, buying)
                went_through = went_through or matching.through(price, last, buying)
        else:
            reached = went_through = False
        if reached:
            assert seen is not None
            volume = quote.volume - seen.volume
            amount = quote.amount - seen.amount
            reach = matching.traded_at_or_better(
                volume, amount, price, buying=buying, high=high, low=low
            ) - queue.crossed  # fmt: skip
            beyond = -1 if queue.ahead is None else reach - queue.ahead
            if went_through:
                tick = order.symbol.tick
                through = matching.traded_at_or_better(
                    volume, amount, price - tick if buying else price + tick,
                    buying=buying, high=high, low=low,
                ) - queue.crossed_through  # fmt: skip
                beyond = max(beyond, through)
            traded = min(filled.remaining_quantity, beyond - shared)
            if traded > 0:
                filled = self._fill(filled, traded, price, now, change)
            else:
                traded = 0
            if went_through:
                queue.ahead = 0  # the market traded through its price: nobody is ahead
            elif queue.ahead is not None and reach > 0:
                queue.ahead = max(0, queue.ahead - reach)
        opposite = quote.asks if buying else quote.bids
        if opposite and matching.crosses(price, opposite[0].price, buying):
            if not filled.status.is_final:
                filled = self._take(filled, quote, price, matching.DEPTH, now, change)
        if filled is not order:
            self._settle(filled, change)
        if not filled.status.is_final:
            self._observe(filled, queue, quote)
        return traded

    def _auction(
        self,
        resting: dict[str, None],
        quote: Quote,
        price: Decimal,
        volume: int,
        now: datetime,
        change: _Change,
        *,
        opening: bool,
    ) -> None:
        """Fill the orders that take part in a call auction at its price, oldest first,
        from the auction's volume beyond the queue ahead of each (its side's shares at
        its price and better; unknown: it does not fill); the rest go on resting."""
        used = 0
        for order_id in list(resting):
            waits_for_opening = self._open.get(order_id, False)
            if opening and not waits_for_opening:
                continue
            self._open[order_id] = False
            order = self._orders[order_id]
            queue = self._queues.get(order_id)
            if order.price is None or price <= 0 or volume <= 0 or queue is None:
                continue
            if queue.ahead is None or not matching.crosses(
                order.price, price, order.side is Side.BUY
            ):
                continue
            ahead = queue.ahead + queue.better
            quantity = min(order.remaining_quantity, volume - ahead - used)
            # The auction's volume went to the better prices first, then to this queue.
            queue.ahead = max(0, queue.ahead - max(0, volume - queue.better))
            if quantity > 0:
                used += quantity
                self._settle(self._fill(order, quantity, price, now, change), change)

    def _settle(self, order: Order, change: _Change) -> None:
        if order.status.is_final:
            self._finish(order, change)
        else:
            self._orders[order.id] = order
            change.orders[order.id] = order

    def _fill(
        self, order: Order, quantity: int, price: Decimal, now: datetime, change: _Change
    ) -> Order:
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
        full = order.symbol.full
        holding = self._holdings.get(full)
        if holding is None:
            holding = self._holdings[full] = _Holding(full)
        if order.side is Side.BUY:
            cost = amount + fees.total
            self._reserved[order.id] -= cost
            self._frozen_cash -= cost
            holding.total += quantity
            holding.cost += cost
            if facts_for(order.symbol).t_plus_zero:  # cross-border, gold, bond, money funds
                holding.available += quantity
        else:
            sold_cost = cny(holding.cost * quantity / holding.total)
            holding.total -= quantity
            holding.cost = holding.cost - sold_cost if holding.total else ZERO
            self._cash += amount - fees.total
        change.holdings.add(full)
        self._trades.append(trade)
        change.trades.append(trade)
        return order.fill(quantity, price)

    def _finish(self, order: Order, change: _Change) -> None:
        """Record a final order and release what it still held (cash or shares)."""
        self._orders[order.id] = order
        change.orders[order.id] = order
        self._open.pop(order.id, None)
        self._queues.pop(order.id, None)
        self._rank.pop(order.id, None)
        full = order.symbol.full
        resting = self._resting.get(full)
        if resting is not None:
            resting.pop(order.id, None)
        if order.side is Side.BUY:
            leftover = self._reserved.pop(order.id, ZERO)
            self._frozen_cash -= leftover
            self._cash += leftover
        else:
            holding = self._holdings.get(full)
            if holding is not None:
                holding.available += order.remaining_quantity
                change.holdings.add(full)

    # -- the day, the store, events ---------------------------------------------------

    def _roll(self, day: date) -> None:
        """On a new trading date: expire open orders; T+1 shares become available."""
        if day <= self._day:
            return
        change = _Change()
        for order_id in list(self._open):
            self._finish(self._orders[order_id].expire(), change)
        for full, holding in list(self._holdings.items()):
            holding.available = holding.total
            change.holdings.add(full)
            if holding.total == 0:
                del self._holdings[full]
        self._day = day
        if self._store is not None:  # earlier days stay findable in the store
            self._orders = {oid: o for oid, o in self._orders.items() if not o.status.is_final}
            self._by_client = {
                o.client_order_id: oid for oid, o in self._orders.items() if o.client_order_id
            }
        self._trades = []
        self._tapes.clear()
        self._limits.clear()
        self._publish(change)

    def _day_limits(self, quote: Quote) -> rules.Limits:
        if quote.limit_up is not None and quote.limit_down is not None:
            return quote.limit_up, quote.limit_down
        full = quote.symbol.full
        limits = self._limits.get(full)
        if limits is None:
            listed_on = self._listed_on(full) if self._listed_on is not None else None
            limits = self._limits[full] = rules.day_limits(quote, self._day, listed_on)
        return limits

    def _publish(self, change: _Change) -> None:
        """Store a change made outside a call and tell the listener about it."""
        self._save(change)
        if self._listener is not None:
            for order in change.orders.values():
                self._listener("order_update", order)
            for trade in change.trades:
                self._listener("trade", trade)

    def _save(self, change: _Change) -> None:
        if self._store is None:
            return
        self._store.save(
            {
                "id": self.account_id,
                "cash": self._cash,
                "frozen_cash": self._frozen_cash,
                "day": self._day,
                "order_seq": self._order_seq,
                "trade_seq": self._trade_seq,
                "run": self._run,
            },
            holdings=[
                self._holdings[full].saved()
                if full in self._holdings
                else SavedHolding(full, 0, 0, ZERO)
                for full in change.holdings
            ],
            orders=[
                SavedOrder(
                    order,
                    open=order.id in self._open,
                    auction=self._open.get(order.id, False),
                    reserved=self._reserved.get(order.id, ZERO),
                    queue=queue.saved() if (queue := self._queues.get(order.id)) else None,
                )
                for order in change.orders.values()
            ],
            trades=change.trades,
            tapes=[(full, self._tapes[full].saved()) for full in change.tapes],
        )

    def _restore(self, saved: SavedAccount) -> None:
        self._cash, self._frozen_cash, self._day = saved.cash, saved.frozen_cash, saved.day
        self._run, self._order_seq, self._trade_seq = saved.run, saved.order_seq, saved.trade_seq
        for holding in saved.holdings:
            self._holdings[holding.symbol] = _Holding(
                holding.symbol, holding.total, holding.available, holding.cost
            )
        for entry in saved.orders:
            order = entry.order
            self._orders[order.id] = order
            if order.client_order_id:
                self._by_client[order.client_order_id] = order.id
            if entry.open:
                self._open[order.id] = entry.auction
                self._rest(order)
                if order.side is Side.BUY:
                    self._reserved[order.id] = entry.reserved
                if entry.queue is not None:  # where it stood; it sees trades from the next quote
                    place = json.loads(entry.queue)
                    self._queues[order.id] = _Queue(place["ahead"], place["better"], 0)
        for symbol, data in saved.tapes:
            memory = json.loads(data)
            self._tapes[symbol] = _Tape(
                asks={Decimal(price): shares for price, shares in memory["asks"]},
                bids={Decimal(price): shares for price, shares in memory["bids"]},
            )
        self._trades = list(saved.trades)

    def _position(self, holding: _Holding) -> Position:
        quote = self._quotes(holding.symbol)
        return Position(
            symbol=quote.symbol if quote is not None else parse_symbol(holding.symbol),
            total=holding.total,
            available=holding.available,
            cost_price=round_half_up(holding.cost / holding.total, COST_PRICE_STEP),
            last_price=quote.last if quote is not None else None,
        )
