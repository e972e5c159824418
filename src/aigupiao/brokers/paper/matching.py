"""Matching against Level-1 snapshots: pure functions over their price levels and tape.

Three pieces of evidence bound what a simulated order may get, and none of them may
be counted twice (``docs/paper-broker.md`` lists the assumptions and their tests):

* **Displayed depth.** What our orders took from a price level is remembered per side
  (``used``: shares by price) for the rest of the trading day, and a snapshot frees only
  what the level shows beyond it. The real market never saw our fills: the shares we
  took were the oldest at that price, and whoever traded or cancelled them there in the
  real market would, in ours, have met the next shares. A shrinking level, an emptied
  one or volume traded there is no new liquidity; only displayed size beyond what we
  took is.
* **Traded volume.** Between two snapshots the market traded ``volume`` shares for
  ``amount`` CNY, all at prices within the day's range. :func:`traded_at_or_better`
  bounds how many of them can have been at or better than a price.
* **Queue position.** A resting order stands behind the shares its side showed at its
  price when it arrived (:func:`place`); only volume beyond them reaches it.
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
    """Walk the opposite side best first, taking free shares at prices within ``cap``.

    ``used`` is the memory of that side (shares taken by price); it grows by what is taken.
    """
    fills: list[Fill] = []
    for level in levels[:depth]:
        if quantity == 0 or _beyond(level.price, cap, buying):
            break
        price = level.price
        taken = used.get(price, 0)
        free = level.volume - taken
        if free <= 0:
            continue
        shares = free if free < quantity else quantity
        used[price] = taken + shares
        fills.append((price, shares))
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


def place(
    own: Sequence[Level], opposite: Sequence[Level], price: Decimal, *, buying: bool
) -> tuple[int | None, int, int, int]:
    """Where an order at ``price`` stands in a snapshot: the shares its own side shows at
    its price (the queue ahead of a new order there; None when the price lies beyond the
    shown levels, so the queue is unknown), the shares its own side shows at better
    prices (ahead of it in a call auction), the shares the opposite side shows at or
    better than its price (what it could take, or what others could trade with there),
    and of those, the shares at strictly better prices."""
    better = 0
    shown: int | None = None
    for level in own:
        if level.price == price:
            shown = level.volume
            break
        if level.price < price if buying else level.price > price:
            shown = 0  # passed it: nothing rests at its price
            break
        better += level.volume
    else:
        if len(own) < DEPTH:
            shown = 0
    crossed = through = 0
    for level in opposite:
        if level.price > price if buying else level.price < price:
            break
        crossed += level.volume
        if level.price != price:
            through += level.volume
    return shown, better, crossed, through


def traded_at_or_better(
    volume: int,
    amount: Decimal,
    price: Decimal,
    *,
    buying: bool,
    high: Decimal,
    low: Decimal,
) -> int:
    """The most of ``volume`` shares, traded for ``amount`` CNY at prices within
    [``low``, ``high``], that can have traded at ``price`` or better for the order
    (at or below it for a buy, at or above it for a sell).

    If x shares traded at prices <= p and the rest at prices <= high, then
    amount <= x * p + (volume - x) * high, so x <= (volume * high - amount) / (high - p).
    For a sell, amount >= x * p + (volume - x) * low gives
    x <= (amount - volume * low) / (p - low). The bound is reached by the two-point
    mixture (x shares at p, the rest at high or low), so no smaller one is sound. When
    the average price (amount / volume) is already at or better than p, all of it can be.
    """
    if volume <= 0:
        return 0
    if buying:
        if price < low:
            return 0
        if price >= high or amount <= volume * price:
            return volume
        bound = (volume * high - amount) / (high - price)
    else:
        if price > high:
            return 0
        if price <= low or amount >= volume * price:
            return volume
        bound = (amount - volume * low) / (price - low)
    shares = int(bound)  # floor
    if shares <= 0:
        return 0
    return shares if shares < volume else volume


def crosses(price: Decimal, reference: Decimal, buying: bool) -> bool:
    """True when a resting order at ``price`` would trade at ``reference`` (an auction
    price, or a last price that went through it)."""
    return reference <= price if buying else reference >= price


def through(price: Decimal, last: Decimal, buying: bool) -> bool:
    """True when the market traded strictly through a resting order's price: the order,
    ahead of those trades in time, would have been filled at its price."""
    return last < price if buying else last > price
