"""The orders an account has had accepted lately: for the order-rate and duplicate rules."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from aigupiao.domain.orders import Side

RATE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class AcceptedOrder:
    at: datetime
    code: str
    side: Side
    quantity: int
    client_order_id: str | None


class OrderHistory:
    """Accepted orders of one account, kept as long as any rule looks back (at least 60 s)."""

    def __init__(self) -> None:
        self._orders: deque[AcceptedOrder] = deque()

    def add(self, order: AcceptedOrder) -> None:
        self._orders.append(order)

    def forget_before(self, moment: datetime) -> None:
        while self._orders and self._orders[0].at < moment:
            self._orders.popleft()

    def count_since(self, moment: datetime) -> int:
        return sum(1 for order in self._orders if order.at >= moment)

    def duplicate_of(
        self,
        code: str,
        side: Side,
        quantity: int,
        client_order_id: str | None,
        since: datetime,
    ) -> AcceptedOrder | None:
        """The latest accepted order since ``since`` with the same code, side and quantity.

        Two orders that each carry their own client order id are meant as two orders
        (a retry reuses its id), so they are not duplicates of each other.
        """
        for order in reversed(self._orders):
            if order.at < since:
                return None
            if (order.code, order.side, order.quantity) != (code, side, quantity):
                continue
            distinct_ids = (
                client_order_id is not None
                and order.client_order_id is not None
                and order.client_order_id != client_order_id
            )
            if not distinct_ids:
                return order
        return None
