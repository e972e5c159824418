"""Quotes and bars."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from aigupiao.domain.market import Bar, Level, Quote
from aigupiao.domain.symbols import parse_symbol

D = Decimal
SYMBOL = parse_symbol("600000")
TS = datetime(2026, 9, 14, 16, 14, 38)


def quote(last: str, previous_close: str) -> Quote:
    return Quote(
        symbol=SYMBOL,
        name="浦发银行",
        ts=TS,
        last=D(last),
        previous_close=D(previous_close),
        open=D("9.28"),
        high=D("9.43"),
        low=D("9.24"),
        volume=77_187_100,
        amount=D("725000000"),
        bids=(Level(D("9.39"), 114_500),),
        asks=(Level(D("9.40"), 2_000),),
        limit_up=D("10.19"),
        limit_down=D("8.33"),
    )


def test_change_pct_from_the_reference_line() -> None:
    q = quote("9.40", "9.26")
    # Tencent reports 1.51 (%) for this line
    assert round(q.change_pct * 100, 2) == D("1.51")
    assert q.change_pct == (D("9.40") - D("9.26")) / D("9.26")


def test_change_pct_negative_and_zero() -> None:
    assert quote("8.334", "9.26").change_pct == D("-0.1")
    assert quote("9.26", "9.26").change_pct == D(0)


def test_change_pct_with_zero_previous_close_is_zero_not_an_error() -> None:
    assert quote("9.40", "0").change_pct == D(0)


def test_quote_defaults_and_levels() -> None:
    q = Quote(
        symbol=SYMBOL,
        name="x",
        ts=TS,
        last=D("1"),
        previous_close=D("1"),
        open=D("1"),
        high=D("1"),
        low=D("1"),
        volume=0,
        amount=D(0),
    )
    assert q.bids == () and q.asks == ()
    assert q.limit_up is None and q.limit_down is None
    full = quote("9.40", "9.26")
    assert full.bids[0] == Level(price=D("9.39"), volume=114_500)
    with pytest.raises(AttributeError):
        full.last = D("1")  # type: ignore[misc]


def test_bar_holds_its_fields() -> None:
    bar = Bar(
        symbol=SYMBOL,
        freq="1m",
        end=datetime(2026, 9, 14, 9, 31),
        open=D("9.28"),
        high=D("9.30"),
        low=D("9.27"),
        close=D("9.29"),
        volume=12_300,
        amount=D("114267.00"),
    )
    assert bar.freq == "1m"
    assert bar.low <= bar.open <= bar.high
    assert bar == Bar(**{f: getattr(bar, f) for f in bar.__slots__})
