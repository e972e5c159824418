"""The paper broker follows the security's facts (issue 13, "Exchange rules"): T+0
funds (3), SSE before its closing auction (4), no transfer fee on funds (6), and the
limits of BSE stocks, +-20% funds and new listings from the facts (1, 2, 7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.brokers.paper import FeeSchedule, PaperBroker
from aigupiao.cli.brokers import build_broker
from aigupiao.core.clock import ManualClock
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.orders import OrderStatus, Side
from aigupiao.domain.securities import current_securities, use_securities
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.local.settings import LocalSettings

from .helpers import DAY, START_CASH, Market, at, make_quote, rejected, request

D = Decimal


@pytest.fixture(autouse=True)
def restore_table() -> Iterator[None]:
    previous = current_securities()
    yield
    use_securities(previous)


def bare_quote(symbol: Symbol, previous_close: str, last: str, ts: datetime) -> Quote:
    """A quote without limits, as Sina and the replay feed give them."""
    price, tick = D(last), symbol.tick
    return Quote(
        symbol=symbol,
        name="测试",
        ts=ts,
        last=price,
        previous_close=D(previous_close),
        open=price,
        high=price,
        low=price,
        volume=10_000,
        amount=price * 10_000,
        bids=tuple(Level(price - i * tick, 10_000) for i in range(5)),
        asks=tuple(Level(price + i * tick, 10_000) for i in range(1, 6)),
    )


# -- 3. T+0 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "last"),
    [("513100", "1.442"), ("518880", "7.029"), ("511880", "100.399"), ("511010", "140.282")],
)
async def test_t_plus_0_funds_can_be_sold_the_day_they_are_bought(code: str, last: str) -> None:
    symbol = parse_symbol(code)
    market = Market()
    market.set(make_quote(symbol, last))
    broker = PaperBroker("paper-1", START_CASH, ManualClock(at(10, 0)), market.get)
    bought = await broker.place_order(request(symbol, Side.BUY, 1000))
    assert bought.order.status is OrderStatus.FILLED
    position = (await broker.get_account()).positions[0]
    assert (position.total, position.available) == (1000, 1000)
    sold = await broker.place_order(request(symbol, Side.SELL, 1000))
    assert sold.order.status is OrderStatus.FILLED
    assert (await broker.get_account()).positions == ()


async def test_a_domestic_equity_fund_stays_t_plus_1() -> None:
    etf = parse_symbol("510300")
    market = Market()
    market.set(make_quote(etf, "4.000"))
    broker = PaperBroker("paper-1", START_CASH, ManualClock(at(10, 0)), market.get)
    await broker.place_order(request(etf, Side.BUY, 1000))
    error = await rejected(broker, request(etf, Side.SELL, 1000))
    assert error.code == "available" and "T+1" in error.message_en


# -- 6. no transfer fee on funds ------------------------------------------------------------


def test_funds_pay_neither_stamp_duty_nor_transfer_fee() -> None:
    fees = FeeSchedule()
    amount = D("400000")
    for code in ("510300", "513100", "159915", "511880"):
        sell = fees.fees(parse_symbol(code), Side.SELL, amount, DAY)
        assert (sell.stamp_duty, sell.transfer_fee) == (0, 0), code
        assert sell.commission == D("100.00")
    stock = fees.fees(parse_symbol("600519"), Side.SELL, amount, DAY)
    assert (stock.stamp_duty, stock.transfer_fee) == (D("200.00"), D("4.00"))


async def test_an_etf_sell_is_not_charged_a_transfer_fee() -> None:
    money = parse_symbol("511880")
    market = Market()
    market.set(make_quote(money, "100.000"))
    broker = PaperBroker("paper-1", START_CASH, ManualClock(at(10, 0)), market.get)
    await broker.place_order(request(money, Side.BUY, 4000))
    sold = await broker.place_order(request(money, Side.SELL, 4000))
    (trade,) = sold.trades
    assert trade.amount == D("400000.000")  # was charged a transfer fee of 4.00
    assert trade.fees.transfer_fee == 0 and trade.fees.stamp_duty == 0


# -- 4. SSE before 2018-08-20 ---------------------------------------------------------------


async def test_sse_trades_continuously_at_14_58_before_its_closing_auction() -> None:
    day = date(2017, 4, 20)
    sse, szse = parse_symbol("600122"), parse_symbol("sz000001")
    then = at(14, 58, day)
    market = Market()
    market.set(bare_quote(sse, "11.99", "11.64", then))
    market.set(bare_quote(szse, "9.00", "9.00", then))
    broker = PaperBroker("paper-1", START_CASH, ManualClock(then), market.get)
    assert (await broker.place_order(request(sse, Side.BUY, 100))).order.status.is_final
    crossing = await broker.place_order(request(sse, Side.BUY, 100, "11.65"))
    assert crossing.order.status is OrderStatus.FILLED  # matched now, not in an auction
    error = await rejected(broker, request(szse, Side.BUY, 100))
    assert error.code == "trading_hours"  # SZSE: closing auction, limit orders only


# -- 1, 2, 7. limits from the facts ---------------------------------------------------------


async def test_limits_come_from_the_facts_when_the_quote_has_none() -> None:
    bse, star_fund = parse_symbol("430047"), parse_symbol("588000")
    market = Market()
    market.set(bare_quote(bse, "15.29", "19.80", at(10, 0)))
    market.set(bare_quote(star_fund, "1.074", "1.270", at(10, 0)))
    broker = PaperBroker("paper-1", START_CASH, ManualClock(at(10, 0)), market.get)
    assert (await rejected(broker, request(bse, Side.BUY, 100, "19.88"))).code == "price_limit"
    await broker.place_order(request(bse, Side.BUY, 100, "19.87"))
    await broker.place_order(request(star_fund, Side.BUY, 1000, "1.289"))
    assert (await rejected(broker, request(star_fund, Side.BUY, 1000, "1.290"))).code == (
        "price_limit"
    )


async def test_the_node_s_paper_broker_knows_new_listings(tmp_path: Path) -> None:
    """``cli/brokers.py`` builds the paper broker: a day-2 STAR listing takes 13.00."""
    star = parse_symbol("688999")
    table = current_securities()
    use_securities(table.overlaid({star.full: {"listed_on": date(2026, 3, 2)}}, "test"))
    settings = LocalSettings.load(None, node={"account": "paper-1", "data_dir": tmp_path / "node"})
    day2 = at(10, 0, date(2026, 3, 3))
    market = Market()
    market.set(bare_quote(star, "10.00", "12.80", day2))
    broker = build_broker(settings, ManualClock(day2), market.get)
    assert isinstance(broker, PaperBroker)
    result = await broker.place_order(request(star, Side.BUY, 200, "13.00"))
    assert result.order.status is OrderStatus.FILLED
