"""DipBuy: the seed's default rule, buy a stock that fell more than 5% today."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from aigupiao.core.clock import BEIJING
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.strategy.base import Signal, StrategyContext
from aigupiao.strategy.dip_buy import DipBuy

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING)
TOMORROW = NOW + timedelta(days=1)
PINGAN = parse_symbol("sz000001")
MOUTAI = parse_symbol("sh600519")
ETF = parse_symbol("sh510300")
INDEX = parse_symbol("sh000001")


def _quote(
    symbol: Symbol, last: str, previous_close: str = "100.00", *, ts: datetime = NOW
) -> Quote:
    price = Decimal(last)
    return Quote(
        symbol=symbol,
        name="测试",
        ts=ts,
        last=price,
        previous_close=Decimal(previous_close),
        open=price,
        high=price,
        low=price,
        volume=1000,
        amount=price * 1000,
    )


def _context(*quotes: Quote, now: datetime = NOW) -> StrategyContext:
    return StrategyContext(now=now, quotes={q.symbol.full: q for q in quotes}, account=None)


def test_buys_a_stock_below_the_threshold() -> None:
    (signal,) = DipBuy().evaluate(_context(_quote(PINGAN, "94.99")))
    assert signal == Signal(
        symbol=PINGAN,
        side=Side.BUY,
        quantity=100,
        price=None,
        reason=signal.reason,
        inputs={
            "last": "94.99",
            "previous_close": "100.00",
            "change_pct": "-5.01",
            "quote_ts": NOW.isoformat(),
        },
    )
    assert "跌幅 -5.01%" in signal.reason
    assert "fell -5.01%" in signal.reason
    assert "-5.00%" in signal.reason  # the threshold
    assert "100 股" in signal.reason


def test_exactly_the_threshold_does_not_trigger() -> None:
    assert DipBuy().evaluate(_context(_quote(PINGAN, "95.00"))) == []


@pytest.mark.parametrize("last", ["95.01", "100.00", "110.00"])
def test_smaller_falls_and_rises_do_not_trigger(last: str) -> None:
    assert DipBuy().evaluate(_context(_quote(PINGAN, last))) == []


def test_threshold_and_quantity_are_configurable() -> None:
    rule = DipBuy(threshold=Decimal("-0.02"), quantity=300)
    (signal,) = rule.evaluate(_context(_quote(PINGAN, "97.99")))
    assert signal.quantity == 300
    assert signal.inputs["change_pct"] == "-2.01"
    assert DipBuy(threshold=Decimal("-0.02")).evaluate(_context(_quote(PINGAN, "98.00"))) == []


def test_change_pct_is_rounded_to_two_places() -> None:
    (signal,) = DipBuy().evaluate(_context(_quote(MOUTAI, "1394.59", "1468.00")))
    # (1394.59 - 1468.00) / 1468.00 = -5.0007%, just below the threshold
    assert signal.inputs == {
        "last": "1394.59",
        "previous_close": "1468.00",
        "change_pct": "-5.00",
        "quote_ts": NOW.isoformat(),
    }


def test_once_per_symbol_per_trading_day() -> None:
    rule = DipBuy()
    assert len(rule.evaluate(_context(_quote(PINGAN, "90.00")))) == 1
    assert rule.evaluate(_context(_quote(PINGAN, "90.00"))) == []
    assert rule.evaluate(_context(_quote(PINGAN, "80.00"))) == []  # deeper, still not again
    (again,) = rule.evaluate(_context(_quote(PINGAN, "90.00", ts=TOMORROW), now=TOMORROW))
    assert again.symbol == PINGAN


def test_once_per_symbol_not_once_per_day() -> None:
    rule = DipBuy()
    (first,) = rule.evaluate(_context(_quote(PINGAN, "90.00"), _quote(MOUTAI, "100.00")))
    assert first.symbol == PINGAN
    (second,) = rule.evaluate(_context(_quote(PINGAN, "90.00"), _quote(MOUTAI, "90.00")))
    assert second.symbol == MOUTAI


def test_several_symbols_in_one_evaluation() -> None:
    signals = DipBuy().evaluate(_context(_quote(PINGAN, "90.00"), _quote(MOUTAI, "91.00")))
    assert {s.symbol for s in signals} == {PINGAN, MOUTAI}


@pytest.mark.parametrize("symbol", [ETF, INDEX], ids=["fund", "index"])
def test_ignores_funds_and_indices(symbol: Symbol) -> None:
    assert DipBuy().evaluate(_context(_quote(symbol, "90.00"))) == []


def test_ignores_a_quote_from_another_day() -> None:
    yesterday = NOW - timedelta(days=1)
    assert DipBuy().evaluate(_context(_quote(PINGAN, "90.00", ts=yesterday))) == []


def test_a_stale_quote_does_not_use_up_the_day() -> None:
    rule = DipBuy()
    assert rule.evaluate(_context(_quote(PINGAN, "90.00", ts=NOW - timedelta(days=1)))) == []
    assert len(rule.evaluate(_context(_quote(PINGAN, "90.00")))) == 1


def test_ignores_a_quote_without_a_previous_close() -> None:
    assert DipBuy().evaluate(_context(_quote(PINGAN, "90.00", previous_close="0"))) == []


def test_remember_restores_todays_memory() -> None:
    rule = DipBuy()
    rule.remember(NOW.date(), {"sz000001"})
    assert rule.evaluate(_context(_quote(PINGAN, "90.00"))) == []
    (signal,) = rule.evaluate(_context(_quote(PINGAN, "90.00"), _quote(MOUTAI, "90.00")))
    assert signal.symbol == MOUTAI


def test_remember_copies_the_set() -> None:
    codes = {"sz000001"}
    rule = DipBuy()
    rule.remember(NOW.date(), codes)
    codes.clear()
    assert rule.evaluate(_context(_quote(PINGAN, "90.00"))) == []


def test_memory_of_another_day_is_forgotten() -> None:
    rule = DipBuy()
    rule.remember(date(2026, 11, 23), {"sz000001"})
    assert len(rule.evaluate(_context(_quote(PINGAN, "90.00")))) == 1
