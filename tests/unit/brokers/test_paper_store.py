"""Paper accounts survive restarts, and several live side by side in one store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.brokers.paper import PaperBroker
from aigupiao.brokers.paper.store import PaperStore
from aigupiao.core.clock import ManualClock
from aigupiao.domain.orders import OrderStatus, Side

from .helpers import MAOTAI, PINGAN, START_CASH, Market, at, make_quote, request

NEXT_DAY = date(2026, 3, 3)


@pytest.fixture
def store(tmp_path: Path) -> PaperStore:
    return PaperStore(tmp_path / "paper.db")


async def test_an_account_is_the_same_after_a_restart(
    tmp_path: Path, clock: ManualClock, market: Market
) -> None:
    store = PaperStore(tmp_path / "paper.db")
    broker = PaperBroker("paper-1", START_CASH, clock, market.get, store=store)
    filled = await broker.place_order(request(PINGAN, quantity=500, client_order_id="buy-1"))
    resting = await broker.place_order(request(PINGAN, quantity=200, price="10.50"))
    before = (await broker.get_account(), await broker.get_orders(), await broker.get_trades())
    store.close()

    reopened = PaperStore(tmp_path / "paper.db")
    again = PaperBroker("paper-1", Decimal("1"), clock, market.get, store=reopened)
    after = (await again.get_account(), await again.get_orders(), await again.get_trades())
    assert after == before  # the starting cash argument is ignored for a known account
    assert (await again.find_order("buy-1")) == filled.order
    # The resting order still rests, with its cash frozen, and fills on a later quote.
    market.set(make_quote(PINGAN, "10.50", asks=[("10.50", 1000)], ts=at(10, 5)))
    again.on_quote(market.quotes[PINGAN.full])
    orders = {o.id: o for o in await again.get_orders()}
    assert orders[resting.order.id].status is OrderStatus.FILLED
    assert (await again.get_account()).frozen_cash == 0
    # New ids never collide with the earlier run's.
    third = await again.place_order(request(PINGAN, quantity=100))
    assert third.order.id not in {filled.order.id, resting.order.id}
    assert {t.id for t in third.trades}.isdisjoint({t.id for t in filled.trades})


async def test_t_plus_one_and_expiry_carry_over_a_restart(
    store: PaperStore, clock: ManualClock, market: Market
) -> None:
    broker = PaperBroker("paper-1", START_CASH, clock, market.get, store=store)
    await broker.place_order(request(PINGAN, quantity=300))
    resting = await broker.place_order(request(PINGAN, quantity=100, price="10.00"))
    clock.set(at(10, 0, NEXT_DAY))
    market.set(make_quote(PINGAN, "10.91", day=NEXT_DAY, ts=at(10, 0, NEXT_DAY)))
    again = PaperBroker("paper-1", START_CASH, clock, market.get, store=store)
    (position,) = (await again.get_account()).positions
    assert (position.total, position.available) == (300, 300)
    assert await again.get_orders() == []  # yesterday's orders are not today's
    expired = await again.find_order(resting.order.client_order_id or "")
    assert expired is not None and expired.status is OrderStatus.EXPIRED
    sold = await again.place_order(request(PINGAN, Side.SELL, 300, price="10.91"))
    assert sold.order.status is OrderStatus.FILLED


async def test_several_accounts_side_by_side(
    store: PaperStore, clock: ManualClock, market: Market
) -> None:
    first = PaperBroker("paper-1", START_CASH, clock, market.get, store=store)
    second = PaperBroker("paper-2", Decimal("50000"), clock, market.get, store=store)
    await first.place_order(request(MAOTAI, quantity=100))
    await second.place_order(request(PINGAN, quantity=100, account="paper-2"))
    one, two = await first.get_account(), await second.get_account()
    assert [p.symbol for p in one.positions] == [MAOTAI]
    assert [p.symbol for p in two.positions] == [PINGAN]
    assert two.cash < Decimal("50000") and one.cash < START_CASH
    assert store.accounts() == ["paper-1", "paper-2"]
    reopened = PaperBroker("paper-2", START_CASH, clock, market.get, store=store)
    assert await reopened.get_account() == two
