"""The stock filter: each rule on its own, at its boundary, and the reasons it gives."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from aigupiao.domain.symbols import parse_symbol
from aigupiao.strategy.filters import StockFilterConfig, buy_mask, explain, sell_mask
from aigupiao.strategy.state import MarketState

from .build import NOW, PINGAN, TODAY, bars, quote

DEFAULT = StockFilterConfig()


def _allowed(*quotes, config: StockFilterConfig = DEFAULT, now=NOW) -> list[bool]:  # type: ignore[no-untyped-def]
    state = MarketState()
    state.on_quotes(list(quotes))
    return buy_mask(state, config, now).tolist()


def _why(q, config: StockFilterConfig = DEFAULT, now=NOW) -> list[str]:  # type: ignore[no-untyped-def]
    state = MarketState()
    state.on_quote(q)
    return explain(state, config, q.symbol.full, now)


def test_an_ordinary_stock_passes() -> None:
    assert _allowed(quote(PINGAN, "10.50")) == [True]
    assert _why(quote(PINGAN, "10.50")) == []


def test_funds_and_indexes_are_not_bought() -> None:
    etf, index = parse_symbol("sh510300"), parse_symbol("sh000001")
    assert _allowed(quote(etf, "4.000", "4.000"), quote(index, "3000.00", "3000.00")) == [
        False,
        False,
    ]


def test_st() -> None:
    st = quote(PINGAN, "10.00", name="*ST平安")
    assert _allowed(st) == [False]
    assert _why(st) == ["ST 股 (ST stock)"]
    assert _allowed(st, config=StockFilterConfig(exclude_st=False)) == [True]


def test_suspended_or_no_trade_after_the_open() -> None:
    quiet = quote(PINGAN, "10.00", volume=0)
    assert _allowed(quiet) == [False]
    assert _allowed(quiet, now=NOW.replace(hour=9, minute=26)) == [True]  # before 09:30: fine
    assert _allowed(quiet, config=StockFilterConfig(exclude_suspended=False)) == [True]


def test_limit_up_and_limit_down_exactly_at_the_price() -> None:
    assert _allowed(quote(PINGAN, "11.00")) == [False]  # 10.00 x 1.1
    assert _allowed(quote(PINGAN, "10.99")) == [True]
    assert _allowed(quote(PINGAN, "9.00")) == [False]
    assert _allowed(quote(PINGAN, "9.01")) == [True]
    assert _why(quote(PINGAN, "11.00")) == ["涨停 (at limit up)"]
    assert _allowed(quote(PINGAN, "9.00"), config=StockFilterConfig(exclude_limit_down=False)) == [
        True
    ]


def test_new_listing_by_name_and_by_date() -> None:
    assert _allowed(quote(PINGAN, "10.00", name="N平安")) == [False]
    assert _allowed(quote(PINGAN, "10.00", name="C平安")) == [False]
    state = MarketState()
    state.add_symbol(PINGAN, "平安", listed_on=TODAY - timedelta(days=7))  # 6th trading day
    state.on_quote(quote(PINGAN, "10.00"))
    assert buy_mask(state, DEFAULT, NOW).tolist() == [True]
    assert buy_mask(state, StockFilterConfig(new_listing_days=6), NOW).tolist() == [False]


def test_bse_only_when_allowed() -> None:
    bse = quote(parse_symbol("bj920001"), "10.00")
    assert _allowed(bse) == [False]
    assert _allowed(bse, config=StockFilterConfig(allow_bse=True)) == [True]


def test_price_bounds() -> None:
    config = StockFilterConfig(min_price=Decimal("2.00"), max_price=Decimal("100"))
    assert _allowed(quote(PINGAN, "1.99", "2.00"), config=config) == [False]
    assert _allowed(quote(PINGAN, "2.00", "2.00"), config=config) == [True]
    assert _allowed(quote(PINGAN, "100.00", "100.00"), config=config) == [True]
    assert _allowed(quote(PINGAN, "100.01", "100.00"), config=config) == [False]


def test_liquidity_from_average_turnover() -> None:
    state = MarketState()
    # 20 days of 1,000,000 shares at 10.00: 10 million CNY a day
    state.load_history(PINGAN, bars(PINGAN, [10.0] * 20, volume=1_000_000))
    state.on_quote(quote(PINGAN, "10.10"))
    assert buy_mask(state, DEFAULT, NOW).tolist() == [False]  # below 20 million
    enough = StockFilterConfig(min_avg_amount=Decimal("10000000"))
    assert buy_mask(state, enough, NOW).tolist() == [True]  # exactly at the bound
    assert explain(state, DEFAULT, "sz000001", NOW) == ["成交额不足 (turnover too low)"]


def test_without_history_liquidity_is_not_judged() -> None:
    assert _allowed(quote(PINGAN, "10.10", volume=100)) == [True]


def test_stale_quotes_are_not_bought() -> None:
    assert _allowed(quote(PINGAN, "10.10", now=NOW - timedelta(days=1)), now=NOW) == [False]
    assert _why(quote(PINGAN, "10.10", now=NOW - timedelta(days=1))) == [
        "行情不是今天的 (no quote today)"
    ]


def test_sells_only_need_a_trading_quote_not_at_limit_down() -> None:
    state = MarketState()
    st = parse_symbol("sh600000")
    state.on_quotes([quote(PINGAN, "9.00"), quote(st, "10.50", name="*ST浦发"),
                     quote(parse_symbol("sz000002"), "10.00", volume=0)])  # fmt: skip
    assert sell_mask(state, NOW).tolist() == [False, True, False]


def test_config_is_validated_and_frozen() -> None:
    with pytest.raises(ValueError):
        StockFilterConfig(new_listing_days=-1)
    with pytest.raises(ValueError):
        StockFilterConfig(unknown=True)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        DEFAULT.allow_bse = True  # type: ignore[misc]
