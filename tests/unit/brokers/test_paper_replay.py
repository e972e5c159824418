"""The whole real afternoon of sh600122 (2017-04-20, 13:51:03-14:59:52, 574 Sina
snapshots) replayed through the paper broker: fills never flatter (issue 13).

Every snapshot is delivered as the feed would deliver it, and every fill is checked
against what the snapshots show (tape.Evidence): never more than the volume traded
plus the depth displayed that nobody had taken.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from aigupiao.domain.orders import Side, Trade

from . import afternoon
from .tape import Evidence


def index_at(clock: time) -> int:
    return next(n for n, q in enumerate(afternoon.snapshots()) if q.ts.time() == clock)


async def replay(placements: dict[int, list[tuple[Side, int, str]]]):
    """Deliver every snapshot; after snapshot ``n``, place ``placements[n]``.

    Returns the evidence and, per snapshot index, the fills it produced by order id.
    """
    quotes = afternoon.snapshots()
    account = afternoon.Account(quotes[0])
    await account.setup()
    fills: list[Trade] = []
    account.broker.set_listener(lambda kind, item: fills.append(item) if kind == "trade" else None)
    evidence = Evidence()
    by_snapshot: list[dict[str, int]] = []
    placed: dict[tuple[int, int], str] = {}
    for n, quote in enumerate(quotes):
        fills.clear()
        account.deliver(quote)
        evidence.moved(quote, list(fills))
        got: dict[str, int] = {}
        for trade in fills:
            got[trade.order_id] = got.get(trade.order_id, 0) + trade.quantity
        by_snapshot.append(got)
        for k, (side, quantity, price) in enumerate(placements.get(n, [])):
            result = await account.place(side, quantity, Decimal(price))
            evidence.placed(result.order.id, side, Decimal(price), quote, list(result.trades))
            placed[(n, k)] = result.order.id
            got[result.order.id] = got.get(result.order.id, 0) + result.order.filled_quantity
    return evidence, by_snapshot, placed


async def test_a_big_resting_buy_fills_only_from_volume_and_new_depth() -> None:
    """Issue 13 item 8: replaying 13:51-14:57, a resting 990,000-share buy at 11.72 filled
    completely, 424,700 shares of it in intervals where the market traded nothing."""
    quotes = afternoon.snapshots()
    assert len(quotes) == 574
    evidence, by_snapshot, placed = await replay({0: [(Side.BUY, 990_000, "11.72")]})
    order_id = placed[(0, 0)]
    # At 13:51:03 the five asks (11.65-11.70) show 60,400 shares.
    assert by_snapshot[0][order_id] == 60_400
    idle = [
        got.get(order_id, 0)
        for n, got in enumerate(by_snapshot[1:], start=1)
        if quotes[n].volume == quotes[n - 1].volume
    ]
    assert sum(idle) == 0
    # By 14:18:40 998,855 shares had traded at an average of 11.6455, so all of them can
    # have been at 11.72 or below; less the 60,400 shown at 13:51:03, 938,455 could reach
    # the order: the 929,600 it still wanted.
    first_gap = by_snapshot[1].get(order_id, 0)
    assert quotes[1].ts.time() == time(14, 18, 40)
    assert first_gap == 929_600
    assert sum(got.get(order_id, 0) for got in by_snapshot) == 990_000
    assert evidence.problems == []


async def test_the_same_book_twice_fills_once() -> None:
    """Issue 13 item 8: 14:19:34 and 14:19:37 show the same book (11.72 x 6,600) with no
    trade between them; a buy at 11.72 got 6,600 from each."""
    placed_at = index_at(time(14, 19, 28))  # 11.72 x 6,200 offered
    first, second = index_at(time(14, 19, 34)), index_at(time(14, 19, 37))
    assert second == first + 1
    evidence, by_snapshot, placed = await replay({placed_at: [(Side.BUY, 100_000, "11.72")]})
    order_id = placed[(placed_at, 0)]
    assert by_snapshot[placed_at][order_id] == 6_200
    assert by_snapshot[first].get(order_id, 0) == 400  # 6,600 shown: 400 more than taken
    assert by_snapshot[second].get(order_id, 0) == 0
    assert evidence.problems == []


async def test_a_resting_buy_waits_behind_the_bids_at_its_price() -> None:
    """Issue 13 item 9 on the real tape: at 14:18:40 a buy at 11.70 joins 1,600 shares
    bid there; the first trades at 11.70 (3,000 shares by 14:19:43) fill it 1,400."""
    start = index_at(time(14, 18, 40))
    evidence, by_snapshot, placed = await replay({start: [(Side.BUY, 100_000, "11.70")]})
    order_id = placed[(start, 0)]
    fills = [(n, got[order_id]) for n, got in enumerate(by_snapshot) if got.get(order_id)]
    first_at, first_fill = fills[0]
    assert afternoon.snapshots()[first_at].ts.time() == time(14, 19, 43)
    assert first_fill == 1_400
    assert evidence.problems == []


async def test_resting_orders_on_both_sides_through_the_afternoon() -> None:
    start = index_at(time(14, 18, 40))
    evidence, by_snapshot, placed = await replay(
        {
            start: [
                (Side.BUY, 200_000, "11.69"),
                (Side.BUY, 200_000, "11.72"),
                (Side.SELL, 200_000, "11.75"),
                (Side.SELL, 200_000, "11.78"),
            ]
        }
    )
    assert evidence.problems == []
    totals = {
        order_id: sum(got.get(order_id, 0) for got in by_snapshot) for order_id in placed.values()
    }
    assert all(totals.values())  # each of them met the market at some point
