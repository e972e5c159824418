"""Snapshot sequences for the fill-model tests, and the evidence budget fills must fit.

``Tape`` builds Level-1 snapshots the way a feed delivers them: the day's volume and
amount are cumulative, high and low are the day's, and each ``step`` says what traded
since the last one (shares by price) and what the book shows now.

``Evidence`` is the property the fill model promises, computed from the snapshots
alone (no knowledge of how the broker matches): what our orders get is never more
than the market traded plus the depth it displayed that nobody had taken.

* At placement, an order can take at most what the current snapshot shows at or
  better than its limit.
* From one snapshot to the next, all our orders together can get at most the volume
  traded in between plus the growth of every displayed level (a level that appears
  counts in full).
* One order, over its life, gets at most the volume traded after it was placed plus
  the depth shown at placement within its limit plus every later growth of the levels
  within its limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aigupiao.domain.market import Level, Quote
from aigupiao.domain.orders import Side, Trade
from aigupiao.domain.symbols import Symbol


def limits(previous_close: Decimal) -> tuple[Decimal, Decimal]:
    """Main-board limits (+-10%, half up to the cent)."""
    cent = Decimal("0.01")
    return (
        (previous_close * Decimal("1.1")).quantize(cent, ROUND_HALF_UP),
        (previous_close * Decimal("0.9")).quantize(cent, ROUND_HALF_UP),
    )


def levels(pairs: Iterable[tuple[str | Decimal, int]]) -> tuple[Level, ...]:
    return tuple(Level(Decimal(price), volume) for price, volume in pairs)


@dataclass
class Tape:
    """A day of one symbol's snapshots, built step by step."""

    symbol: Symbol
    previous_close: Decimal
    ts: datetime
    last: Decimal
    volume: int = 0
    amount: Decimal = Decimal(0)
    high: Decimal = Decimal(0)
    low: Decimal = Decimal(0)
    open: Decimal = Decimal(0)

    def quote(
        self, asks: Iterable[tuple[str | Decimal, int]], bids: Iterable[tuple[str | Decimal, int]]
    ) -> Quote:
        up, down = limits(self.previous_close)
        return Quote(
            symbol=self.symbol,
            name="测试",
            ts=self.ts,
            last=self.last,
            previous_close=self.previous_close,
            open=self.open or self.last,
            high=self.high or self.last,
            low=self.low or self.last,
            volume=self.volume,
            amount=self.amount,
            asks=levels(asks),
            bids=levels(bids),
            limit_up=up,
            limit_down=down,
        )

    def step(
        self,
        trades: Iterable[tuple[str | Decimal, int]] = (),
        *,
        asks: Iterable[tuple[str | Decimal, int]] = (),
        bids: Iterable[tuple[str | Decimal, int]] = (),
        seconds: float = 3,
        at: datetime | None = None,
    ) -> Quote:
        """The next snapshot: ``trades`` (price, shares) happened since the last one, in
        that order; the book now shows ``asks`` and ``bids``."""
        self.ts = at if at is not None else self.ts + timedelta(seconds=seconds)
        for price_text, shares in trades:
            price = Decimal(price_text)
            if shares <= 0:
                continue
            self.volume += shares
            self.amount += price * shares
            self.last = price
            self.high = max(self.high, price) if self.high else price
            self.low = min(self.low, price) if self.low else price
            if not self.open:
                self.open = price
        return self.quote(asks, bids)


def shown(quote: Quote) -> dict[tuple[bool, Decimal], int]:
    """Displayed shares by (is an ask, price)."""
    book = {(True, level.price): level.volume for level in quote.asks}
    book.update({(False, level.price): level.volume for level in quote.bids})
    return book


def within(price: Decimal, cap: Decimal | None, buying: bool) -> bool:
    return cap is None or (price <= cap if buying else price >= cap)


@dataclass
class Evidence:
    """Checks fills against what the snapshots show (see the module docstring)."""

    previous: Quote | None = None
    problems: list[str] = field(default_factory=list)
    # order id -> [side, limit or None, cumulative volume at placement, depth budget]
    orders: dict[str, list[Any]] = field(default_factory=dict)
    filled: dict[str, int] = field(default_factory=dict)

    def placed(
        self, order_id: str, side: Side, cap: Decimal | None, quote: Quote, fills: list[Trade]
    ) -> None:
        buying = side is Side.BUY
        opposite = quote.asks if buying else quote.bids
        visible = sum(lv.volume for lv in opposite if within(lv.price, cap, buying))
        got = sum(t.quantity for t in fills)
        if got > visible:
            self.problems.append(f"{order_id} took {got} of {visible} shown at placement")
        self.orders[order_id] = [side, cap, quote.volume, visible]
        self.filled[order_id] = got

    def moved(self, quote: Quote, fills: list[Trade]) -> None:
        """``quote`` was delivered and produced ``fills``."""
        previous = self.previous
        self.previous = quote
        if previous is None or quote.volume < previous.volume:
            if fills:
                self.problems.append(f"{quote.ts}: fills without a previous snapshot")
            return
        before, now = shown(previous), shown(quote)
        growth = {key: max(0, size - before.get(key, 0)) for key, size in now.items()}
        traded = quote.volume - previous.volume
        got = sum(t.quantity for t in fills)
        if got > traded + sum(growth.values()):
            self.problems.append(
                f"{quote.ts}: filled {got} > traded {traded} + new depth {sum(growth.values())}"
            )
        for entry in self.orders.values():
            side, cap, _, _ = entry
            buying = side is Side.BUY
            entry[3] += sum(
                size
                for (ask, price), size in growth.items()
                if ask is buying and within(price, cap, buying)
            )
        for trade in fills:
            self.filled[trade.order_id] = self.filled.get(trade.order_id, 0) + trade.quantity
        for order_id, got_total in self.filled.items():
            if order_id not in self.orders:
                continue
            _, _, volume_at_placement, depth = self.orders[order_id]
            budget = quote.volume - volume_at_placement + depth
            if got_total > budget:
                self.problems.append(
                    f"{quote.ts}: order {order_id} filled {got_total} > its budget {budget}"
                )
