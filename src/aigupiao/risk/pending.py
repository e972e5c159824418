"""Open orders: what an account has asked for that has not happened yet.

An account snapshot shows the broker's books at the moment it was taken. A buy adds to
a position only as it fills, so every open buy still counts toward its symbol's value
and the number of symbols held. Cash and sellable shares are another matter: a broker
freezes them when it takes an order, so the snapshot's available cash and available
quantity already leave out what the orders it knew of hold (``frozen``). Only the
orders it could not know of (sent after it was taken, or still on their way) take
cash and shares from the snapshot's figures.

The cloud builds an :class:`OpenOrders` per account from the ``orders`` table and the
trade commands still in flight; the gate adds every order it accepts, so a second
order judged before the first is stored sees it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from aigupiao.domain.orders import Side


@dataclass(frozen=True, slots=True)
class PendingOrder:
    """The part of one order that has not filled yet.

    Attributes:
        code: the full code, e.g. ``sh600519``.
        quantity: shares not filled yet (positive).
        price: the limit price; None for a market order.
        frozen: the account snapshot already leaves out the cash (buy) or shares (sell)
            the broker froze for it.
        source: where it comes from, for messages: ``order:<id>``, ``command:<id>``, or
            ``accepted`` (judged this round, not stored yet).
    """

    code: str
    side: Side
    quantity: int
    price: Decimal | None
    frozen: bool = False
    source: str = ""


class OpenOrders:
    """One account's open orders, by symbol."""

    def __init__(self, orders: Iterable[PendingOrder] = ()) -> None:
        self._orders: list[PendingOrder] = []
        self._by_code: dict[str, list[PendingOrder]] = {}
        for order in orders:
            self.add(order)

    def add(self, order: PendingOrder) -> None:
        if order.quantity <= 0:
            return
        self._orders.append(order)
        self._by_code.setdefault(order.code, []).append(order)

    def __iter__(self) -> Iterator[PendingOrder]:
        return iter(self._orders)

    def __len__(self) -> int:
        return len(self._orders)

    def of(self, code: str) -> list[PendingOrder]:
        """The open orders of one symbol."""
        return self._by_code.get(code, [])

    def buy_codes(self) -> set[str]:
        """Symbols with an open buy."""
        return {
            code
            for code, orders in self._by_code.items()
            if any(o.side is Side.BUY for o in orders)
        }

    def unfrozen_sells(self, code: str) -> int:
        """Shares of ``code`` that open sells hold and the snapshot still shows available."""
        return sum(o.quantity for o in self.of(code) if o.side is Side.SELL and not o.frozen)

    def unfrozen_buys(self) -> list[PendingOrder]:
        """Open buys whose cash the snapshot still shows available."""
        return [o for o in self._orders if o.side is Side.BUY and not o.frozen]
