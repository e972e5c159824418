"""Matching against a Level-1 snapshot: pure functions over its price levels.

A snapshot shows five levels a side. What one order takes from a level is
recorded in ``used`` (shares per price), so the same snapshot never fills the
same shares twice, whether for one order or for several.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from aigupiao.domain.market import Level

DEPTH = 5  # the levels a Level-1 snapshot shows, and what "best five" may take

Fill = tuple[Decimal, int]  # (price, shares)


def _beyond(price: Decimal, cap: Decimal | None, buying: bool) -> bool:
    """True when ``price`` is worse for the order than its cap allows."""
    if cap is None:
        return False
    return price > cap if buying else price < cap


def take(
    levels: Sequence[Level],
    *,
    buying: bool,
    cap: Decimal | None,
    quantity: int,
    used: dict[Decimal, int],
    depth: int = DEPTH,
) -> list[Fill]:
    """Walk the opposite side best first, taking free shares at prices within ``cap``."""
    fills: list[Fill] = []
    for level in levels[:depth]:
        if quantity == 0 or _beyond(level.price, cap, buying):
            break
        free = level.volume - used.get(level.price, 0)
        if free <= 0:
            continue
        shares = free if free < quantity else quantity
        used[level.price] = used.get(level.price, 0) + shares
        fills.append((level.price, shares))
        quantity -= shares
    return fills


def available(
    levels: Sequence[Level],
    *,
    buying: bool,
    cap: Decimal | None,
    used: dict[Decimal, int],
    depth: int = DEPTH,
) -> int:
    """How many shares :func:`take` could get (to decide a fill-or-kill order)."""
    total = 0
    for level in levels[:depth]:
        if _beyond(level.price, cap, buying):
            break
        total += max(0, level.volume - used.get(level.price, 0))
    return total


def crosses(price: Decimal, reference: Decimal, buying: bool) -> bool:
    """True when a resting order at ``price`` would trade at ``reference`` (an auction
    price, or a last price that went through it)."""
    return reference <= price if buying else reference >= price


def through(price: Decimal, last: Decimal, buying: bool) -> bool:
    """True when the market traded strictly through a resting order's price: the order,
    ahead of those trades in time, would have been filled at its price."""
    return last < price if buying else last > price
