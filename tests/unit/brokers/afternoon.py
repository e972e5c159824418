"""The real Level-1 snapshots of sh600122 on the afternoon of 2017-04-20, and an account
that holds the stock (bought the day before), for the fill-model tests.

../shared/data/quotes/fswzb_Debug_A/realtime_quotes.csv: 574 Sina snapshots, 13:51:03
to 14:59:52, read by the replay feed (shares and CNY; the book in shares).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time
from decimal import Decimal

from aigupiao.brokers.base import OrderRequest, OrderResult
from aigupiao.brokers.paper import PaperBroker
from aigupiao.core.clock import ManualClock
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.orders import OrderType, Side
from aigupiao.domain.sessions import BEIJING
from aigupiao.market.feeds.replay import AS_FAST_AS_POSSIBLE, ReplayFeed

from ...conftest import SHARED, service_missing

FILE = SHARED / "data/quotes/fswzb_Debug_A/realtime_quotes.csv"
DAY_BEFORE = date(2017, 4, 19)
HELD = 600_000  # shares bought the day before, to sell


@functools.cache
def _read() -> tuple[Quote, ...]:
    feed = ReplayFeed(FILE, AS_FAST_AS_POSSIBLE)
    feed.load()
    return tuple(quote for _, batch in feed._batches() for quote in batch)


def snapshots() -> tuple[Quote, ...]:
    """The afternoon's snapshots in time order (skips, or fails in CI, without ../shared)."""
    if not FILE.is_file():
        service_missing("the shared data folder ../shared")
    return _read()


class Account:
    """A paper account holding ``HELD`` shares of sh600122, its clock and latest quote."""

    def __init__(self, first: Quote, cash: Decimal = Decimal("100000000.00")) -> None:
        self.clock = ManualClock(datetime.combine(DAY_BEFORE, time(14, 0), BEIJING))
        self.quotes: dict[str, Quote] = {}
        self.broker = PaperBroker("paper-1", cash, self.clock, self.quotes.get)
        self.seq = 0
        self.symbol = first.symbol
        # The day before: the stock closed at 11.99 (the afternoon's previous close).
        close = first.previous_close
        self.quotes[first.symbol.full] = Quote(
            symbol=first.symbol,
            name=first.name,
            ts=self.clock.now(),
            last=close,
            previous_close=close,
            open=close,
            high=close,
            low=close,
            volume=HELD,
            amount=close * HELD,
            asks=(Level(close, HELD),),
            bids=(Level(close - Decimal("0.01"), 1_000),),
            limit_up=Decimal("13.19"),
            limit_down=Decimal("10.79"),
        )

    async def setup(self) -> None:
        await self.place(Side.BUY, HELD, None)

    def deliver(self, quote: Quote) -> None:
        self.clock.set(max(self.clock.now(), quote.ts))
        self.quotes[quote.symbol.full] = quote
        self.broker.on_quote(quote)

    async def place(self, side: Side, quantity: int, price: Decimal | None) -> OrderResult:
        self.seq += 1
        return await self.broker.place_order(
            OrderRequest(
                account="paper-1",
                symbol=self.symbol,
                side=side,
                type=OrderType.LIMIT if price is not None else OrderType.MARKET,
                quantity=quantity,
                price=price,
                client_order_id=f"r{self.seq}",
            )
        )
