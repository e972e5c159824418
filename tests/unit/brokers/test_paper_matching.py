"""The paper broker's market-order kinds, price cage, sessions, call auctions and new listings."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from aigupiao.brokers.base import OrderRequest
from aigupiao.brokers.paper import PaperBroker
from aigupiao.core.clock import ManualClock
from aigupiao.domain.orders import MarketKind, OrderStatus, Side
from aigupiao.domain.symbols import parse_symbol

from .helpers import MAOTAI, PINGAN, START_CASH, Market, at, make_quote, rejected, request

STAR = parse_symbol("sh688981")


def market_request(
    symbol=PINGAN, side: Side = Side.BUY, quantity: int = 100, kind: MarketKind | None = None
) -> OrderRequest:
    return dataclasses.replace(request(symbol, side, quantity), market_kind=kind)


def thin_book(market: Market) -> None:
    """sz000001: asks 10.92 x 300, 10.93 x 200; bids 10.91 x 400, 10.90 x 100."""
    market.set(
        make_quote(
            PINGAN,
            "10.91",
            asks=[("10.92", 300), ("10.93", 200)],
            bids=[("10.91", 400), ("10.90", 100)],
        )
    )


async def test_best_five_ioc_takes_the_depth_and_cancels_the_rest(
    broker: PaperBroker, market: Market
) -> None:
    thin_book(market)
    result = await broker.place_order(market_request(quantity=800))
    assert [(t.price, t.quantity) for t in result.trades] == [
        (Decimal("10.92"), 300),
        (Decimal("10.93"), 200),
    ]
    assert result.order.status is OrderStatus.CANCELLED
    assert result.order.status_zh == "部撤"
    assert result.order.market_kind is MarketKind.BEST5_IOC
    account = await broker.get_account()
    assert account.frozen_cash == 0  # the unfilled rest released its cash


async def test_best_five_to_limit_rests_the_rest_at_the_last_fill_price(
    broker: PaperBroker, market: Market
) -> None:
    thin_book(market)
    result = await broker.place_order(market_request(quantity=800, kind=MarketKind.BEST5_TO_LIMIT))
    assert result.order.status is OrderStatus.PARTIALLY_FILLED
    assert result.order.price == Decimal("10.93")
    assert result.order.remaining_quantity == 300
    # Sellers arrive at 10.93: the rest fills there.
    market.set(make_quote(PINGAN, "10.93", asks=[("10.93", 1000)], bids=[("10.92", 100)]))
    broker.on_quote(market.quotes[PINGAN.full])
    (order,) = await broker.get_orders()
    assert order.status is OrderStatus.FILLED


async def test_counterparty_best_is_a_limit_at_the_best_opposite_price(
    broker: PaperBroker, market: Market
) -> None:
    thin_book(market)
    result = await broker.place_order(
        market_request(quantity=500, kind=MarketKind.COUNTERPARTY_BEST)
    )
    assert result.order.price == Decimal("10.92")
    assert [(t.price, t.quantity) for t in result.trades] == [(Decimal("10.92"), 300)]
    assert result.order.status is OrderStatus.PARTIALLY_FILLED  # 200 rest at 10.92


async def test_own_best_rests_at_the_best_own_price(broker: PaperBroker, market: Market) -> None:
    thin_book(market)
    result = await broker.place_order(market_request(quantity=100, kind=MarketKind.OWN_BEST))
    assert result.order.price == Decimal("10.91")
    assert result.trades == ()
    assert result.order.status is OrderStatus.SUBMITTED


async def test_counterparty_best_with_an_empty_side_is_cancelled(
    broker: PaperBroker, market: Market
) -> None:
    market.set(make_quote(PINGAN, "12.00", previous_close="10.91", asks=[], bids=[("12.00", 5)]))
    result = await broker.place_order(market_request(kind=MarketKind.COUNTERPARTY_BEST))
    assert result.order.status is OrderStatus.CANCELLED
    assert (await broker.get_account()).cash == START_CASH


async def test_fill_or_kill_fills_all_or_nothing(broker: PaperBroker, market: Market) -> None:
    thin_book(market)
    killed = await broker.place_order(market_request(quantity=600, kind=MarketKind.FOK))
    assert killed.order.status is OrderStatus.CANCELLED and killed.trades == ()
    filled = await broker.place_order(market_request(quantity=500, kind=MarketKind.FOK))
    assert filled.order.status is OrderStatus.FILLED
    assert sum(t.quantity for t in filled.trades) == 500


async def test_shanghai_refuses_szse_only_kinds(broker: PaperBroker) -> None:
    error = await rejected(broker, market_request(MAOTAI, kind=MarketKind.FOK))
    assert error.code == "market_kind"
    assert "SH" in error.message_zh


async def test_a_limit_order_cannot_carry_a_market_kind(broker: PaperBroker) -> None:
    req = dataclasses.replace(request(PINGAN, price="10.91"), market_kind=MarketKind.IOC)
    assert (await rejected(broker, req)).code == "market_kind"


async def test_price_cage_on_the_main_board(
    broker: PaperBroker, market: Market, clock: ManualClock
) -> None:
    # Best ask 10.92: a buy may go up to max(10.92 x 1.02, 10.92 + 10 ticks) = 11.1384.
    thin_book(market)
    error = await rejected(broker, request(PINGAN, price="11.14"))
    assert error.code == "price_cage"
    assert "102%" in error.message_zh and "10 个价位" in error.message_zh
    accepted = await broker.place_order(request(PINGAN, price="11.13"))
    assert accepted.order.status is OrderStatus.FILLED
    # Next day, best bid 10.91: a sell may go down to min(10.91 x 0.98, 10.91 - 0.10) = 10.6918.
    clock.set(at(10, 0, date(2026, 3, 3)))
    market.set(
        make_quote(
            PINGAN,
            "10.91",
            asks=[("10.92", 300)],
            bids=[("10.91", 400)],
            day=date(2026, 3, 3),
            ts=at(10, 0, date(2026, 3, 3)),
        )
    )
    assert (await rejected(broker, request(PINGAN, Side.SELL, 100, "10.69"))).code == "price_cage"
    sold = await broker.place_order(request(PINGAN, Side.SELL, 100, "10.70"))
    assert sold.order.status is OrderStatus.FILLED


async def test_price_cage_on_star_is_two_percent(clock: ManualClock) -> None:
    market = Market()
    market.set(make_quote(STAR, "100.00", asks=[("100.00", 1000)], bids=[("99.99", 1000)]))
    broker = PaperBroker("paper-1", START_CASH, clock, market.get)
    error = await rejected(broker, request(STAR, quantity=200, price="102.01"))
    assert error.code == "price_cage"
    assert "102%" in error.message_zh
    result = await broker.place_order(request(STAR, quantity=200, price="102.00"))
    assert result.order.status is OrderStatus.FILLED


async def test_no_cage_in_the_call_auction(clock: ManualClock, market: Market) -> None:
    clock.set(at(9, 16))
    thin_book(market)
    broker = PaperBroker("paper-1", START_CASH, clock, market.get)
    result = await broker.place_order(request(PINGAN, price="11.50"))
    assert result.order.status is OrderStatus.SUBMITTED


@pytest.mark.parametrize(
    ("hour", "minute", "accepted"),
    [(9, 10, False), (9, 27, True), (12, 0, True), (15, 1, False), (14, 58, True)],
)
async def test_which_phases_take_limit_orders(
    clock: ManualClock, market: Market, hour: int, minute: int, accepted: bool
) -> None:
    clock.set(at(hour, minute))
    broker = PaperBroker("paper-1", START_CASH, clock, market.get)
    if accepted:
        result = await broker.place_order(request(PINGAN, price="10.91"))
        assert result.order.status is OrderStatus.SUBMITTED and result.trades == ()
    else:
        assert (await rejected(broker, request(PINGAN, price="10.91"))).code == "trading_hours"


async def test_market_orders_only_in_continuous_trading(clock: ManualClock, market: Market) -> None:
    clock.set(at(12, 0))
    broker = PaperBroker("paper-1", START_CASH, clock, market.get)
    assert (await rejected(broker, request(PINGAN))).code == "trading_hours"


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(9, 18, True), (9, 22, False), (9, 28, False), (12, 0, True), (14, 58, False)],
)
async def test_cancel_windows(
    clock: ManualClock, market: Market, hour: int, minute: int, allowed: bool
) -> None:
    clock.set(at(9, 16))
    broker = PaperBroker("paper-1", START_CASH, clock, market.get)
    placed = await broker.place_order(request(PINGAN, price="10.50"))
    clock.set(at(hour, minute))
    if allowed:
        cancelled = await broker.cancel_order(placed.order.id)
        assert cancelled.status is OrderStatus.CANCELLED
    else:
        with pytest.raises(Exception) as caught:
            await broker.cancel_order(placed.order.id)
        assert getattr(caught.value, "code", None) == "trading_hours"


async def test_opening_auction_fills_at_the_opening_price(
    clock: ManualClock, market: Market
) -> None:
    clock.set(at(9, 16))
    market.set(make_quote(PINGAN, "10.91"))
    broker = PaperBroker("paper-1", START_CASH, clock, market.get)
    crossing = await broker.place_order(request(PINGAN, quantity=300, price="11.00"))
    below = await broker.place_order(request(PINGAN, quantity=100, price="10.50"))
    clock.set(at(9, 30))
    opening = dataclasses.replace(
        make_quote(PINGAN, "10.95", asks=[("11.20", 100)], bids=[("10.40", 100)], ts=at(9, 30)),
        open=Decimal("10.95"),
        volume=200,  # the auction matched 200 shares
    )
    market.set(opening)
    broker.on_quote(opening)
    orders = {o.id: o for o in await broker.get_orders()}
    assert orders[crossing.order.id].filled_quantity == 200  # capped by the auction volume
    assert orders[crossing.order.id].average_price == Decimal("10.95")
    assert orders[below.order.id].filled_quantity == 0  # 10.50 < the opening price


async def test_closing_auction_fills_at_the_closing_price(
    clock: ManualClock, market: Market
) -> None:
    clock.set(at(14, 50))
    quote = dataclasses.replace(
        make_quote(PINGAN, "10.91", asks=[("10.95", 100)], bids=[("10.90", 100)]), volume=5000
    )
    market.set(quote)
    broker = PaperBroker("paper-1", START_CASH, clock, market.get)
    broker.on_quote(quote)
    clock.set(at(14, 58))
    placed = await broker.place_order(request(PINGAN, quantity=100, price="10.93"))
    assert placed.trades == ()  # nothing matches until 15:00
    clock.set(at(15, 0))
    close = dataclasses.replace(
        make_quote(PINGAN, "10.92", asks=[], bids=[], ts=at(15, 0)), volume=9000
    )
    broker.on_quote(close)
    (order,) = await broker.get_orders()
    assert order.status is OrderStatus.FILLED
    assert order.average_price == Decimal("10.92")


async def test_a_resting_order_fills_when_the_market_trades_through_it(
    broker: PaperBroker, market: Market
) -> None:
    thin_book(market)
    broker.on_quote(market.quotes[PINGAN.full])  # the feed delivered it (volume 1000)
    placed = await broker.place_order(request(PINGAN, quantity=300, price="10.85"))
    assert placed.order.status is OrderStatus.SUBMITTED
    through = dataclasses.replace(
        make_quote(PINGAN, "10.80", asks=[("10.86", 100)], bids=[("10.79", 100)], ts=at(10, 1)),
        volume=1200,  # 200 traded since the last snapshot
    )
    market.set(through)
    broker.on_quote(through)
    (order,) = await broker.get_orders()
    assert order.filled_quantity == 200
    assert order.average_price == Decimal("10.85")


async def test_new_star_listing_has_no_limit_for_five_days(clock: ManualClock) -> None:
    listed = date(2026, 2, 24)  # a Tuesday; 2026-03-02 is its fourth trading day
    market = Market()
    quote = dataclasses.replace(
        make_quote(STAR, "150.00", previous_close="100.00", asks=[("150.00", 1000)]),
        limit_up=None,
        limit_down=None,
    )
    market.set(quote)
    broker = PaperBroker("paper-1", START_CASH, clock, market.get, listed_on=lambda code: listed)
    result = await broker.place_order(request(STAR, quantity=200, price="150.00"))
    assert result.order.status is OrderStatus.FILLED
    # The same price on an old listing breaks the +20% limit.
    old = PaperBroker("paper-2", START_CASH, clock, market.get)
    req = dataclasses.replace(request(STAR, quantity=200, price="150.00"), account="paper-2")
    assert (await rejected(old, req)).code == "price_limit"


async def test_star_lots_two_hundred_then_steps_of_one(clock: ManualClock) -> None:
    market = Market()
    market.set(make_quote(STAR, "100.00"))
    broker = PaperBroker("paper-1", START_CASH, clock, market.get)
    assert (await rejected(broker, request(STAR, quantity=199, price="100.00"))).code == "lot"
    result = await broker.place_order(request(STAR, quantity=201, price="100.01"))
    assert result.order.quantity == 201


async def test_limit_up_with_no_sellers_does_not_fill_a_market_buy(
    broker: PaperBroker, market: Market
) -> None:
    sealed = make_quote(PINGAN, "12.00", previous_close="10.91", asks=[], bids=[("12.00", 9999)])
    market.set(sealed)
    result = await broker.place_order(market_request(quantity=100))
    assert result.trades == ()
    assert result.order.status is OrderStatus.CANCELLED


async def test_an_order_quote_level_is_taken_once_per_snapshot(
    broker: PaperBroker, market: Market
) -> None:
    thin_book(market)
    first = await broker.place_order(request(PINGAN, quantity=300, price="10.92"))
    second = await broker.place_order(request(PINGAN, quantity=300, price="10.92"))
    assert first.order.status is OrderStatus.FILLED
    assert second.trades == ()  # the 300 at 10.92 are gone from this snapshot
