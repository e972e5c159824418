"""The paper broker's fill model never flatters (issue 13): depth taken stays taken (8),
orders wait behind the queue ahead of them (9), and fills from trades are bounded by
what volume and amount allow at their price (10). docs/paper-broker.md lists each
assumption with its test."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from aigupiao.brokers.base import OrderRequest
from aigupiao.brokers.paper import PaperBroker
from aigupiao.brokers.paper.store import PaperStore
from aigupiao.core.clock import ManualClock
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import MarketKind, Order, OrderStatus, OrderType, Side
from aigupiao.domain.sessions import next_trading_day
from aigupiao.domain.symbols import parse_symbol

from .helpers import DAY, at
from .tape import Tape

HONGTU = parse_symbol("sh600122")  # the real snapshots' stock (there at 11.99 the day before)
PINGAN = parse_symbol("sz000001")
CASH = Decimal("20000000.00")


class Desk:
    """A broker, its clock and the latest quote, fed as a feed would feed them."""

    def __init__(self, tape: Tape, clock_at: datetime, *, cash: Decimal = CASH) -> None:
        self.tape = tape
        self.clock = ManualClock(clock_at)
        self.quotes: dict[str, Quote] = {}
        self.broker = PaperBroker("paper-1", cash, self.clock, self.quotes.get)
        self.seq = 0

    def show(self, quote: Quote) -> Quote:
        """Deliver a snapshot (the clock moves to its time)."""
        self.clock.set(max(self.clock.now(), quote.ts))
        self.quotes[quote.symbol.full] = quote
        self.broker.on_quote(quote)
        return quote

    async def order(
        self,
        side: Side,
        quantity: int,
        price: str | None = None,
        *,
        kind: MarketKind | None = None,
        symbol=None,
    ) -> Order:
        self.seq += 1
        result = await self.broker.place_order(
            OrderRequest(
                account="paper-1",
                symbol=symbol or self.tape.symbol,
                side=side,
                type=OrderType.LIMIT if price is not None else OrderType.MARKET,
                quantity=quantity,
                price=Decimal(price) if price is not None else None,
                client_order_id=f"f{self.seq}",
                market_kind=kind,
            )
        )
        return result.order

    async def filled(self, order: Order) -> int:
        orders = {o.id: o for o in await self.broker.get_orders()}
        return orders[order.id].filled_quantity


def afternoon(previous_close: str = "11.99") -> Tape:
    """sh600122 at 14:19, as the real snapshots of 2017-04-20 show it (a day with a closing
    auction here, so 14:19 is continuous trading)."""
    tape = Tape(HONGTU, Decimal(previous_close), at(14, 19), Decimal("11.72"))
    tape.step([("11.65", 50_000), ("11.72", 50_000)], at=at(14, 19))  # the day so far
    return tape


BIDS = [("11.70", 8_100), ("11.69", 16_200), ("11.68", 3_700), ("11.67", 1_000), ("11.66", 13_500)]
ASKS_FROM_1173 = [("11.73", 12_100), ("11.74", 11_000), ("11.75", 7_600), ("11.76", 9_800)]


# -- 8: what we took from a level stays taken --------------------------------------


async def test_identical_snapshots_fill_the_shown_depth_once() -> None:
    """Issue 13 item 8: two identical snapshots 3 s apart, no trade between them, filled
    a buy at 11.72 for 6,600 and then again (13,200 in all)."""
    tape = afternoon()
    desk = Desk(tape, at(14, 19))
    desk.show(tape.quote(asks=ASKS_FROM_1173, bids=BIDS))
    buy = await desk.order(Side.BUY, 20_000, "11.72")  # rests: nobody sells at 11.72 yet
    assert buy.filled_quantity == 0
    shown = [("11.72", 6_600), *ASKS_FROM_1173]
    desk.show(tape.step(asks=shown, bids=BIDS))  # 14:19:34 in the real file
    assert await desk.filled(buy) == 6_600
    desk.show(tape.step(asks=shown, bids=BIDS))  # 14:19:37: the same book, nothing traded
    assert await desk.filled(buy) == 6_600


async def test_a_level_frees_only_what_it_shows_beyond_what_we_took() -> None:
    tape = afternoon()
    desk = Desk(tape, at(14, 19))
    desk.show(tape.quote(asks=[("11.72", 6_600), *ASKS_FROM_1173], bids=BIDS))
    buy = await desk.order(Side.BUY, 20_000, "11.72")
    assert buy.filled_quantity == 6_600
    desk.show(tape.step(asks=[("11.72", 7_600), *ASKS_FROM_1173], bids=BIDS))
    assert await desk.filled(buy) == 7_600  # 1,000 new shares


async def test_an_emptied_level_that_refills_is_no_new_liquidity() -> None:
    """Buyers lift the 6,600 we took: in our market they would have met the next
    sellers at 11.72, so a refill to 6,600 is theirs, and only what exceeds it is free."""
    tape = afternoon()
    desk = Desk(tape, at(14, 19))
    desk.show(tape.quote(asks=[("11.72", 6_600), *ASKS_FROM_1173], bids=BIDS))
    buy = await desk.order(Side.BUY, 20_000, "11.72")
    desk.show(tape.step([("11.72", 6_600)], asks=ASKS_FROM_1173, bids=BIDS))
    desk.show(tape.step(asks=[("11.72", 6_600), *ASKS_FROM_1173], bids=BIDS))
    assert await desk.filled(buy) == 6_600
    desk.show(tape.step(asks=[("11.72", 8_000), *ASKS_FROM_1173], bids=BIDS))
    assert await desk.filled(buy) == 8_000


async def test_market_orders_on_an_unchanged_book_do_not_refill() -> None:
    tape = afternoon()
    desk = Desk(tape, at(14, 19))
    book = [("11.72", 6_600), *ASKS_FROM_1173]
    desk.show(tape.quote(asks=book, bids=BIDS))
    first = await desk.order(Side.BUY, 6_600)
    assert first.filled_quantity == 6_600
    desk.show(tape.step(asks=book, bids=BIDS))  # a new snapshot of the same book
    second = await desk.order(Side.BUY, 6_600, kind=MarketKind.BEST5_IOC)
    assert second.filled_quantity == 6_600
    assert {t.price for t in await desk.broker.get_trades() if t.order_id == second.id} == {
        Decimal("11.73")
    }


# -- 9: the queue ahead -------------------------------------------------------------


def limit_up_morning() -> Tape:
    # Previous close 10.00: limit up 11.00.
    return Tape(HONGTU, Decimal("10.00"), at(9, 16), Decimal("10.00"))


async def test_a_limit_up_auction_buy_waits_behind_the_queue() -> None:
    """Issue 13 item 9: a one-price limit-up open matched 2,000,000 shares with
    50,000,000 still bid and no sellers; a 100,000 buy at 11.00 filled as if first."""
    tape = limit_up_morning()
    desk = Desk(tape, at(9, 16))
    desk.show(tape.quote(asks=[], bids=[("11.00", 52_000_000)]))  # the indicative book
    buy = await desk.order(Side.BUY, 100_000, "11.00")
    opening = tape.step([("11.00", 2_000_000)], asks=[], bids=[("11.00", 50_000_000)], at=at(9, 25))
    desk.show(opening)
    assert await desk.filled(buy) == 0
    # Continuous trading: 1,000,000 more trade at 11.00; 50,000,000 are still ahead.
    desk.show(
        tape.step([("11.00", 1_000_000)], asks=[], bids=[("11.00", 49_000_000)], at=at(9, 31))
    )
    assert await desk.filled(buy) == 0


async def test_an_auction_order_fills_from_the_volume_beyond_its_queue() -> None:
    tape = limit_up_morning()
    desk = Desk(tape, at(9, 16))
    desk.show(tape.quote(asks=[], bids=[("11.00", 1_000_000)]))
    buy = await desk.order(Side.BUY, 100_000, "11.00")
    desk.show(tape.step([("11.00", 1_050_000)], asks=[], bids=[("11.00", 10_000)], at=at(9, 25)))
    assert await desk.filled(buy) == 50_000


def quiet_book() -> tuple[Tape, list[tuple[str, int]]]:
    tape = Tape(PINGAN, Decimal("10.91"), at(10, 0), Decimal("10.91"))
    tape.step([("10.91", 50_000)], at=at(10, 0))
    return tape, [("10.91", 20_000), ("10.92", 20_000)]


async def test_a_resting_order_fills_only_beyond_the_queue_ahead() -> None:
    tape, asks = quiet_book()
    desk = Desk(tape, at(10, 0))
    desk.show(tape.quote(asks=asks, bids=[("10.90", 5_000), ("10.89", 9_000)]))
    buy = await desk.order(Side.BUY, 1_000, "10.90")  # behind 5,000 shares
    desk.show(tape.step([("10.90", 3_000)], asks=asks, bids=[("10.90", 2_000), ("10.89", 9_000)]))
    assert await desk.filled(buy) == 0  # 2,000 still ahead
    desk.show(tape.step([("10.90", 2_500)], asks=asks, bids=[("10.90", 4_000), ("10.89", 9_000)]))
    assert await desk.filled(buy) == 500  # the 500 that passed the queue


async def test_a_queue_beyond_the_shown_levels_is_unknown_until_seen() -> None:
    tape, asks = quiet_book()
    desk = Desk(tape, at(10, 0))
    five = [
        ("10.90", 1_000),
        ("10.89", 1_000),
        ("10.88", 1_000),
        ("10.87", 1_000),
        ("10.86", 1_000),
    ]
    desk.show(tape.quote(asks=asks, bids=five))
    buy = await desk.order(Side.BUY, 1_000, "10.85")  # below the fifth bid: queue unknown
    desk.show(tape.step([("10.85", 2_000)], asks=asks, bids=[("10.85", 3_000), ("10.84", 500)]))
    assert await desk.filled(buy) == 0  # it may have been behind all of those 2,000
    desk.show(tape.step([("10.85", 3_500)], asks=asks, bids=[("10.84", 500)]))
    assert await desk.filled(buy) == 500  # behind the 3,000 first seen at 10.85


async def test_cancellations_ahead_shorten_the_queue() -> None:
    tape, asks = quiet_book()
    desk = Desk(tape, at(10, 0))
    desk.show(tape.quote(asks=asks, bids=[("10.90", 5_000), ("10.89", 9_000)]))
    buy = await desk.order(Side.BUY, 1_000, "10.90")
    # Nothing traded, yet only 1,200 are shown at 10.90: at most 1,200 can be ahead.
    desk.show(tape.step(asks=asks, bids=[("10.90", 1_200), ("10.89", 9_000)]))
    desk.show(tape.step([("10.90", 1_500)], asks=asks, bids=[("10.89", 9_000)]))
    assert await desk.filled(buy) == 300


async def test_our_orders_share_the_traded_volume_best_price_first() -> None:
    tape, _ = quiet_book()
    desk = Desk(tape, at(10, 0))
    desk.show(tape.quote(asks=[("10.92", 20_000)], bids=[("10.89", 9_000)]))
    lower = await desk.order(Side.BUY, 1_000, "10.90")  # the older order
    higher = await desk.order(Side.BUY, 1_000, "10.91")  # the better price
    desk.show(tape.step([("10.90", 1_500)], asks=[("10.92", 20_000)], bids=[("10.89", 9_000)]))
    assert await desk.filled(higher) == 1_000
    assert await desk.filled(lower) == 500  # 1,500 traded in all


async def test_the_closing_auction_fills_beyond_the_queue_ahead() -> None:
    tape, asks = quiet_book()
    desk = Desk(tape, at(14, 50))
    desk.show(tape.step(asks=asks, bids=[("10.90", 1_000)], at=at(14, 50)))
    desk.clock.set(at(14, 58))
    closing_book = tape.step(asks=[("10.92", 500)], bids=[("10.93", 3_000)], at=at(14, 58))
    desk.show(closing_book)
    buy = await desk.order(Side.BUY, 2_000, "10.93")  # behind 3,000 at 10.93
    desk.show(tape.step([("10.92", 4_000)], asks=[], bids=[], at=at(15, 0)))
    assert await desk.filled(buy) == 1_000


# -- 10: trades at worse prices do not fill ------------------------------------------


def falling_day() -> Tape:
    tape = Tape(HONGTU, Decimal("10.00"), at(10, 0), Decimal("10.05"))
    tape.step([("9.90", 100), ("10.05", 100)], at=at(10, 0))  # the day's low and high
    return tape


UPPER_BIDS = [("10.04", 1_000), ("10.03", 1_000), ("10.02", 1_000), ("10.01", 1_000)]


async def test_a_trade_through_fill_is_bounded_by_volume_and_amount() -> None:
    """Issue 13 item 10: 1,000,100 shares traded, the amount says 1,000,000 of them at
    10.05; a resting buy of 500,000 at 10.00 filled 500,000."""
    tape = falling_day()
    desk = Desk(tape, at(10, 0))
    desk.show(tape.quote(asks=[("10.05", 50_000)], bids=UPPER_BIDS))
    buy = await desk.order(Side.BUY, 500_000, "10.00")
    # 1,000,000 at 10.05, then 100 at 9.99: the day's range stays 9.90-10.05.
    desk.show(tape.step([("10.05", 1_000_000), ("9.99", 100)], asks=[("10.05", 9_000)], bids=[]))
    # Volume 1,000,100 for 10,050,999.00 within [9.90, 10.05]: at most
    # (1,000,100 x 10.05 - 10,050,999) / (10.05 - 10.00) = 120 shares can have traded at
    # 10.00 or below (120 at 10.00 and the rest at 10.05 is one such tape).
    assert await desk.filled(buy) == 120


async def test_a_sell_is_bounded_the_same_way() -> None:
    tape = falling_day()
    desk = Desk(tape, at(10, 0))
    desk.show(tape.quote(asks=[("10.05", 50_000)], bids=UPPER_BIDS))
    await desk.order(Side.BUY, 50_000)  # bought today; sold tomorrow
    day = next_trading_day(DAY)
    tomorrow = Tape(HONGTU, Decimal("10.05"), at(10, 0, day), Decimal("10.05"))
    tomorrow.step([("9.95", 100), ("10.10", 100)], at=at(10, 0, day))
    desk.clock.set(at(10, 0, day))
    desk.tape = tomorrow
    desk.show(tomorrow.quote(asks=[("10.06", 1_000)], bids=[("10.05", 1_000)]))
    sell = await desk.order(Side.SELL, 50_000, "10.08")
    desk.show(tomorrow.step([("9.95", 400_000), ("10.09", 100)], asks=[], bids=[("9.95", 9_000)]))
    # (amount - volume x 9.95) / (10.08 - 9.95) = (0.14 x 100) / 0.13 = 107 at most.
    assert await desk.filled(sell) == 107


async def test_trades_that_never_reached_the_price_fill_nothing() -> None:
    """The bound alone would allow them (a mixture of 11.64 and the day's high 12.06
    can average 11.72); the snapshot shows the market never came down to 11.64."""
    tape = afternoon()
    desk = Desk(tape, at(14, 19))
    desk.show(tape.quote(asks=ASKS_FROM_1173, bids=BIDS))
    tape.high = Decimal("12.06")
    buy = await desk.order(Side.BUY, 10_000, "11.64")
    desk.show(tape.step([("11.72", 9_900)], asks=ASKS_FROM_1173, bids=BIDS))
    assert await desk.filled(buy) == 0


def test_the_bound_on_volume_at_or_better_than_a_price() -> None:
    from aigupiao.brokers.paper.matching import traded_at_or_better  # new in issue 13

    ten = Decimal("10.00")
    high, low = Decimal("10.05"), Decimal("9.90")
    # All at the average or better: all of it can be.
    assert (
        traded_at_or_better(1_000, Decimal("10000"), ten, buying=True, high=high, low=low) == 1_000
    )
    # 1,000,100 shares for 10,050,999: 120 at 10.00 and the rest at 10.05.
    assert (
        traded_at_or_better(1_000_100, Decimal("10050999"), ten, buying=True, high=high, low=low)
        == 120
    )
    # Beyond the range: nothing, or everything.
    assert (
        traded_at_or_better(500, Decimal("5000"), Decimal("9.80"), buying=True, high=high, low=low)
        == 0
    )
    assert (
        traded_at_or_better(500, Decimal("5000"), Decimal("9.80"), buying=False, high=high, low=low)
        == 500
    )
    # Sells: at or above the price, from the low end of the range.
    assert (
        traded_at_or_better(
            1_000, Decimal("9960"), Decimal("10.00"), buying=False, high=high, low=low
        )
        == 600  # (9960 - 1000 x 9.90) / (10.00 - 9.90)
    )


# -- what the broker keeps across a restart -------------------------------------------


async def test_depth_taken_and_queue_places_survive_a_restart(tmp_path: Path) -> None:
    tape, _ = quiet_book()
    clock = ManualClock(at(10, 0))
    quotes: dict[str, Quote] = {}

    def deliver(broker: PaperBroker, quote: Quote) -> None:
        clock.set(quote.ts)
        quotes[PINGAN.full] = quote
        broker.on_quote(quote)

    async def place(broker: PaperBroker, price: str, quantity: int, cid: str) -> Order:
        request = OrderRequest(
            "paper-1", PINGAN, Side.BUY, OrderType.LIMIT, quantity, Decimal(price), cid
        )
        return (await broker.place_order(request)).order

    asks, bids = [("10.91", 6_600), ("10.92", 20_000)], [("10.90", 5_000)]
    store = PaperStore(tmp_path / "paper.db")
    broker = PaperBroker("paper-1", CASH, clock, quotes.get, store=store)
    deliver(broker, tape.quote(asks=asks, bids=bids))
    taker = await place(broker, "10.91", 6_600, "taker")  # takes the 6,600 at 10.91
    waiter = await place(broker, "10.90", 1_000, "waiter")  # behind 5,000 at 10.90
    assert taker.status is OrderStatus.FILLED
    store.close()

    store = PaperStore(tmp_path / "paper.db")
    broker = PaperBroker("paper-1", CASH, clock, quotes.get, store=store)
    deliver(broker, tape.step(asks=asks, bids=bids))  # the same book again
    deliver(broker, tape.step([("10.90", 3_000)], asks=asks, bids=[("10.90", 2_000)]))
    orders = {o.client_order_id: o for o in await broker.get_orders()}
    assert orders["waiter"].id == waiter.id
    assert orders["waiter"].filled_quantity == 0  # 2,000 still ahead of it
    again = await place(broker, "10.91", 1_000, "again")
    assert again.filled_quantity == 0  # the 6,600 shown at 10.91 are the ones we took
    store.close()


async def test_an_order_status_after_partial_queue_fill_is_partial() -> None:
    tape, asks = quiet_book()
    desk = Desk(tape, at(10, 0))
    desk.show(tape.quote(asks=asks, bids=[("10.90", 100)]))
    buy = await desk.order(Side.BUY, 1_000, "10.90")
    desk.show(tape.step([("10.90", 600)], asks=asks, bids=[("10.89", 100)]))
    orders = {o.id: o for o in await desk.broker.get_orders()}
    assert orders[buy.id].status is OrderStatus.PARTIALLY_FILLED
    assert orders[buy.id].filled_quantity == 500


async def test_a_file_from_before_queues_were_kept_still_opens(tmp_path: Path) -> None:
    """A paper.db written before issue 13 has no queue column: it gains one, and its
    resting orders stand behind everything shown (their queue is unknown)."""
    tape, asks = quiet_book()
    clock = ManualClock(at(10, 0))
    quotes: dict[str, Quote] = {}
    store = PaperStore(tmp_path / "paper.db")
    broker = PaperBroker("paper-1", CASH, clock, quotes.get, store=store)
    quotes[PINGAN.full] = tape.quote(asks=asks, bids=[("10.90", 5_000)])
    request = OrderRequest(
        "paper-1", PINGAN, Side.BUY, OrderType.LIMIT, 1_000, Decimal("10.90"), "w"
    )
    await broker.place_order(request)
    store.close()
    with sqlite3.connect(tmp_path / "paper.db") as conn:  # back to the old layout
        conn.execute("ALTER TABLE orders DROP COLUMN queue")
        conn.execute("DROP TABLE tapes")
    conn.close()
    store = PaperStore(tmp_path / "paper.db")
    broker = PaperBroker("paper-1", CASH, clock, quotes.get, store=store)
    for quote in (
        tape.step(asks=asks, bids=[("10.90", 5_000)]),
        tape.step([("10.90", 3_000)], asks=asks, bids=[("10.90", 4_000)]),
    ):
        clock.set(quote.ts)
        quotes[PINGAN.full] = quote
        broker.on_quote(quote)
    (order,) = await broker.get_orders()
    assert order.filled_quantity == 0  # behind the 5,000 shown when it was first seen again
    store.close()
