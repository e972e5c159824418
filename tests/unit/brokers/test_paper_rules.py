"""The paper broker rejects what breaks a rule, and changes nothing when it does."""

from datetime import datetime
from decimal import Decimal

import pytest

from aigupiao.brokers.base import BrokerRejected, BrokerUnavailable
from aigupiao.brokers.paper import PaperBroker
from aigupiao.core.clock import BEIJING, ManualClock
from aigupiao.domain.orders import OrderStatus, Side
from aigupiao.domain.sessions import next_trading_day
from aigupiao.domain.symbols import parse_symbol

from .helpers import DAY, PINGAN, Market, at, make_quote, rejected, request


async def test_odd_lot_rejected(broker: PaperBroker) -> None:
    assert (await rejected(broker, request(quantity=150))).code == "lot"
    assert (await rejected(broker, request(quantity=0))).code == "lot"


async def test_star_market_order_maximum(broker: PaperBroker, market: Market) -> None:
    star = parse_symbol("sh688981")
    market.set(make_quote(star, "115.82"))
    assert (await rejected(broker, request(star, quantity=60_000))).code == "max_order_size"


async def test_off_tick_price_rejected(broker: PaperBroker) -> None:
    assert (await rejected(broker, request(price="1466.805"))).code == "tick"


async def test_price_outside_limits_rejected(broker: PaperBroker, clock: ManualClock) -> None:
    # previous close 1466.80: limits 1613.48 / 1320.12
    assert (await rejected(broker, request(price="1613.49"))).code == "price_limit"
    assert (await rejected(broker, request(price="1320.11"))).code == "price_limit"
    clock.set(at(9, 16))  # in the call auction the price cage does not apply
    result = await broker.place_order(request(price="1613.48"))
    assert result.order.status is OrderStatus.SUBMITTED


@pytest.mark.parametrize(
    ("moment", "limit_ok", "market_ok"),
    [
        (at(9, 0), False, False),
        (at(9, 16), True, False),  # opening auction: limit orders only
        (at(9, 27), True, False),  # queued for 9:30
        (at(10, 0), True, True),
        (at(12, 0), True, False),  # lunch: queued for 13:00 as brokers do
        (at(14, 58), True, False),  # closing auction
        (at(15, 1), False, False),
        (datetime(2026, 3, 7, 10, 0, tzinfo=BEIJING), False, False),  # Saturday
    ],
)
async def test_trading_hours(
    broker: PaperBroker, clock: ManualClock, moment: datetime, limit_ok: bool, market_ok: bool
) -> None:
    clock.set(moment)
    for req, ok in ((request(price="1466.80"), limit_ok), (request(), market_ok)):
        if ok:
            await broker.place_order(req)
        else:
            assert (await rejected(broker, req)).code == "trading_hours"


async def test_insufficient_cash(clock: ManualClock, market: Market) -> None:
    broker = PaperBroker("paper-1", Decimal("100000"), clock, market.get)
    error = await rejected(broker, request(quantity=100))  # needs 1613.48 x 100 reserved
    assert error.code == "cash"
    assert (await rejected(broker, request(quantity=100, price="1466.80"))).code == "cash"
    assert (await broker.get_account()).cash == Decimal("100000")


async def test_market_buy_reserves_at_limit_up(clock: ManualClock, market: Market) -> None:
    # 150,000 covers 100 shares at the ask but not at the limit-up price of 1613.48
    broker = PaperBroker("paper-1", Decimal("150000"), clock, market.get)
    assert (await rejected(broker, request())).code == "cash"
    result = await broker.place_order(request(price="1466.80"))
    assert result.order.status is OrderStatus.FILLED


async def test_no_cancel_in_closing_auction(broker: PaperBroker, clock: ManualClock) -> None:
    clock.set(at(14, 58))
    result = await broker.place_order(request(PINGAN, quantity=100, price="10.80"))
    with pytest.raises(BrokerRejected) as caught:
        await broker.cancel_order(result.order.id)
    assert caught.value.code == "trading_hours"


async def test_sell_without_position_and_odd_lot_remainder(
    broker: PaperBroker, clock: ManualClock, market: Market
) -> None:
    assert (await rejected(broker, request(PINGAN, Side.SELL, 100))).code == "available"
    star = parse_symbol("sh688981")  # STAR: at least 200 shares, then steps of 1
    market.set(make_quote(star, "115.82"))
    await broker.place_order(request(star, quantity=250))
    clock.set(at(10, 0, next_trading_day(DAY)))
    market.set(make_quote(star, "115.82", day=clock.today()))
    await broker.place_order(request(star, Side.SELL, 201, "115.82"))
    (position,) = (await broker.get_account()).positions
    assert (position.total, position.available) == (49, 49)
    assert (await rejected(broker, request(star, Side.SELL, 40, "115.82"))).code == "lot"
    result = await broker.place_order(request(star, Side.SELL, 49, "115.82"))
    assert result.order.status is OrderStatus.FILLED
    assert (await broker.get_account()).positions == ()


async def test_other_rejections(broker: PaperBroker) -> None:
    assert (await rejected(broker, request(parse_symbol("sh600036")))).code == "no_quote"
    assert (await rejected(broker, request(account="someone-else"))).code == "account"
    await broker.place_order(request(client_order_id="same"))
    with pytest.raises(BrokerRejected) as caught:
        await broker.place_order(request(client_order_id="same"))
    assert caught.value.code == "duplicate"
    assert len(await broker.get_orders()) == 1


async def test_closed_broker_is_unavailable(broker: PaperBroker) -> None:
    await broker.close()
    with pytest.raises(BrokerUnavailable):
        await broker.place_order(request())
    with pytest.raises(BrokerUnavailable):
        await broker.get_account()
