"""How an order whose contract number never came back is found in 当日委托.

An order is ours when a 当日委托 row has the same code, side and quantity, the
same price (limit orders), an entry time from :data:`MATCH_BEFORE` before to
:data:`MATCH_AFTER` after we began sending (a grid without times matches on
the rest), and no other of our orders already holds that row. Our unlinked
orders of the day take the free rows in time order, so two identical orders
sent a minute apart get one row each.

Limits: a manual order with the same code, side, quantity and price entered in
the window could be taken for ours; a row the client does not show yet is not
found (ask again later); an earlier day's order cannot be looked for, since
当日委托 holds today only.
"""

from __future__ import annotations

from datetime import time, timedelta

from aigupiao.domain.orders import OrderStatus, OrderType

from ..client_orders import ClientOrder
from .mapping import EntrustRow

MATCH_BEFORE = timedelta(seconds=30)  # the PC's clock may run ahead of the counter's
MATCH_AFTER = timedelta(seconds=120)


def find_row(rows: list[EntrustRow], entrust_no: str) -> EntrustRow | None:
    return next((row for row in rows if row.entrust_no == entrust_no), None)


def fits(record: ClientOrder, row: EntrustRow) -> bool:
    if (row.symbol, row.side, row.quantity) != (record.symbol, record.side, record.quantity):
        return False
    if record.type is OrderType.LIMIT and record.price is not None and row.price != record.price:
        return False
    if row.at.time() == time(0, 0):  # the grid shows no time: code/side/size/price decide
        return True
    return record.placed_at - MATCH_BEFORE <= row.at <= record.placed_at + MATCH_AFTER


def assign(
    pending: list[ClientOrder], rows: list[EntrustRow], claimed: set[str]
) -> dict[str, EntrustRow]:
    """Our unlinked orders (oldest first) -> the free row each one takes, if any."""
    free = sorted((row for row in rows if row.entrust_no not in claimed), key=lambda r: r.at)
    taken: set[str] = set()
    pairs: dict[str, EntrustRow] = {}
    for record in sorted(pending, key=lambda r: r.placed_at):
        match = next((r for r in free if r.entrust_no not in taken and fits(record, r)), None)
        if match is not None:
            taken.add(match.entrust_no)
            pairs[record.client_order_id] = match
    return pairs


_CANCELLING = (OrderStatus.CANCEL_PENDING, OrderStatus.CANCELLED)


def newly_cancelled(before: EntrustRow | None, after: EntrustRow | None) -> bool:
    """The row went from open to cancel pending or cancelled between two reads."""
    if before is None or after is None:
        return False
    return after.status in _CANCELLING and before.status not in _CANCELLING


def cancelled_instead(before: list[EntrustRow], after: list[EntrustRow], target: str) -> list[str]:
    """Rows other than ``target`` that a cancel moved to cancelling while ``target`` stayed
    open: the cancel hit the wrong row (easytrader double-clicks a grid row by position)."""
    if newly_cancelled(find_row(before, target), find_row(after, target)):
        return []
    return [
        row.entrust_no
        for row in after
        if row.entrust_no != target and newly_cancelled(find_row(before, row.entrust_no), row)
    ]
