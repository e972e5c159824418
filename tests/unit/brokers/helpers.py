"""Quotes, requests and checks shared by the paper broker tests."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from aigupiao.brokers.base import BrokerRejected, OrderRequest
from aigupiao.brokers.paper import PaperBroker
from aigupiao.core.clock import BEIJING
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.orders import OrderType, Side
from aigupiao.domain.symbols import Symbol, parse_symbol, price_limits

DAY = date(2026, 3, 2)  # a Monday
MAOTAI = parse_symbol("sh600519")
PINGAN = parse_symbol("sz000001")
START_CASH = Decimal("1000000.00")


def at(hour: int, minute: int, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), BEIJING)


def make_quote(
    symbol: Symbol,
    last: str,
    *,
    previous_close: str | None = None,
    asks: list[tuple[str, int]] | None = None,
    bids: list[tuple[str, int]] | None = None,
    ts: datetime | None = None,
    day: date = DAY,
) -> Quote:
    price = Decimal(last)
    prev = Decimal(previous_close or last)
    tick = symbol.tick
    if asks is None:
        asks = [(str(price + i * tick), 10_000) for i in range(1, 6)]
    if bids is None:
        bids = [(str(price - i * tick), 10_000) for i in range(5)]
    limits = price_limits(symbol, prev, day)
    assert limits is not None
    return Quote(
        symbol=symbol,
        name="测试",
        ts=ts or at(10, 0, day),
        last=price,
        previous_close=prev,
        open=price,
        high=price,
        low=price,
        volume=1000,
        amount=price * 1000,
        bids=tuple(Level(Decimal(p), v) for p, v in bids),
        asks=tuple(Level(Decimal(p), v) for p, v in asks),
        limit_up=limits[0],
        limit_down=limits[1],
    )


class Market:
    """The quotes the broker sees, set by the test."""

    def __init__(self) -> None:
        self.quotes: dict[str, Quote] = {}

    def set(self, quote: Quote) -> Quote:
        self.quotes[quote.symbol.full] = quote
        return quote

    def get(self, symbol_full: str) -> Quote | None:
        return self.quotes.get(symbol_full)


_ids = iter(range(1, 1_000_000))


def request(
    symbol: Symbol = MAOTAI,
    side: Side = Side.BUY,
    quantity: int = 100,
    price: str | None = None,
    *,
    account: str = "paper-1",
    client_order_id: str | None = None,
) -> OrderRequest:
    return OrderRequest(
        account=account,
        symbol=symbol,
        side=side,
        type=OrderType.MARKET if price is None else OrderType.LIMIT,
        quantity=quantity,
        price=Decimal(price) if price is not None else None,
        client_order_id=client_order_id or f"c{next(_ids)}",
    )


async def rejected(broker: PaperBroker, req: OrderRequest) -> BrokerRejected:
    before = (await broker.get_account(), await broker.get_orders(), await broker.get_trades())
    with pytest.raises(BrokerRejected) as caught:
        await broker.place_order(req)
    after = (await broker.get_account(), await broker.get_orders(), await broker.get_trades())
    assert after == before  # a rejected request changes nothing
    assert await broker.find_order(req.client_order_id) is None
    assert caught.value.message_zh and caught.value.message_en
    return caught.value
