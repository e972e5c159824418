"""MarketState: quotes into arrays, limits, day changes into daily bars, history, indicators."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from aigupiao.domain.sessions import next_trading_day
from aigupiao.domain.symbols import parse_symbol, price_limits
from aigupiao.strategy.indicators import SMA
from aigupiao.strategy.patterns import Pattern
from aigupiao.strategy.state import NOT_NEW, MarketState

from .build import MOUTAI, NOW, PINGAN, TODAY, bars, quote

STAR = parse_symbol("sh688981")
BSE = parse_symbol("bj920001")


def test_quotes_land_in_their_slots() -> None:
    state = MarketState()
    state.on_quotes([quote(PINGAN, "10.50"), quote(MOUTAI, "1500.00", "1480.00", volume=100)])
    pingan, moutai = state.slot("sz000001"), state.slot("sh600519")
    assert (pingan, moutai) == (0, 1) and state.codes == ["sz000001", "sh600519"]
    assert state.last[moutai] == 1500.0 and state.previous_close[moutai] == 1480.0
    assert state.volume[moutai] == 100.0
    assert state.change()[pingan] == pytest.approx(0.05)
    assert state.quote("sz000001") is state.quotes["sz000001"]
    assert state.fresh(TODAY).all() and not state.fresh(TODAY + timedelta(days=1)).any()
    assert set(state.quotes) == {"sz000001", "sh600519"} and len(state.quotes) == 2


def test_the_last_quote_of_a_symbol_in_a_batch_wins() -> None:
    state = MarketState()
    state.on_quotes([quote(PINGAN, "10.10"), quote(PINGAN, "10.20")])
    assert state.last[0] == pytest.approx(10.2) and len(state) == 1


def test_arrays_are_read_only() -> None:
    state = MarketState()
    state.on_quote(quote(PINGAN, "10.10"))
    with pytest.raises(ValueError):
        state.last[0] = 1.0
    with pytest.raises(ValueError):
        state.change()[0] = 1.0


def test_capacity_grows() -> None:
    state = MarketState(capacity=2)
    codes = [f"sz000{n:03d}" for n in range(1, 40)]
    state.on_quotes([quote(parse_symbol(code), "10.00") for code in codes])
    assert len(state) == 39 and state.codes == codes


@pytest.mark.parametrize(
    ("symbol", "previous", "name"),
    [(parse_symbol("sh600000"), "9.26", "浦发银行"), (STAR, "115.82", "中芯国际"),
     (BSE, "20.00", "测试"), (parse_symbol("sz000001"), "5.00", "*ST测试"),
     (parse_symbol("sh600000"), "0.05", "测试")],
)  # fmt: skip
def test_limits_follow_the_domain_rule_when_the_quote_has_none(symbol, previous, name) -> None:  # type: ignore[no-untyped-def]
    state = MarketState()
    state.on_quote(quote(symbol, previous, previous, name=name))
    up, down = price_limits(symbol, Decimal(previous), TODAY, is_st=state.is_st[0])  # type: ignore[misc]
    assert state.limit_up[0] == pytest.approx(float(up))
    assert state.limit_down[0] == pytest.approx(float(down))


def test_limits_from_the_quote_win_and_follow_a_new_previous_close() -> None:
    state = MarketState()
    state.on_quote(quote(PINGAN, "9.40", "9.26", limits=("10.19", "8.33")))
    assert (state.limit_up[0], state.limit_down[0]) == (10.19, 8.33)
    state.on_quote(quote(PINGAN, "11.00", "10.00"))  # a corrected previous close, no limits
    assert (state.limit_up[0], state.limit_down[0]) == (11.0, 9.0)


def test_st_and_listing_day_facts() -> None:
    state = MarketState()
    state.on_quotes([quote(PINGAN, "5.00", name="*ST平安"), quote(MOUTAI, "5.00", name="N茅台")])
    assert state.is_st.tolist() == [True, False]
    assert state.listing_day.tolist() == [NOT_NEW, 1]
    state.add_symbol(PINGAN, listed_on=TODAY - timedelta(days=1), is_st=False)  # facts given win
    assert state.is_st[0] == np.False_
    assert state.listing_day[0] == 2  # yesterday (a Monday) was its first trading day
    assert not state.is_bse.any() and state.is_stock.all()


def test_a_new_day_turns_yesterdays_quotes_into_a_daily_bar() -> None:
    state = MarketState()
    yesterday = NOW - timedelta(days=1)
    state.on_quote(quote(PINGAN, "10.30", open_="10.00", high="10.50", low="9.90", now=yesterday,
                         amount="10300000"))  # fmt: skip
    assert state.bar_count[0] == 0
    state.on_quote(quote(PINGAN, "10.40", "10.30"))
    assert state.bar_count[0] == 1 and state.bar_day[0] == (TODAY - timedelta(days=1)).toordinal()
    bar = state.recent_bars(0, 1)
    assert [bar[k][0] for k in ("open", "high", "low", "close", "volume", "amount")] == [
        10.0, 10.5, 9.9, 10.3, 1_000_000.0, 10_300_000.0]  # fmt: skip


def test_close_day_once_and_not_for_symbols_that_did_not_trade() -> None:
    state = MarketState()
    state.on_quotes([quote(PINGAN, "10.00"), quote(MOUTAI, "1500.00", "1500.00", volume=0)])
    assert state.close_day() == 1
    assert state.close_day() == 0  # already closed
    assert state.bar_count.tolist() == [1, 0]
    state.on_daily_bar(bars(PINGAN, [10.0], before=TODAY + timedelta(days=1))[0])  # same day
    assert state.bar_count[0] == 1


def test_load_history_appends_only_new_days_in_order() -> None:
    state = MarketState(keep_bars=20)
    history = bars(PINGAN, [float(n) for n in range(1, 31)])
    assert state.load_history(PINGAN, history[:10]) == 10
    assert state.load_history(PINGAN, history) == 20  # the first ten are known
    assert state.bar_count[0] == 30
    kept = state.recent_bars(0, 100)["close"]
    assert kept.tolist() == [float(n) for n in range(11, 31)]  # the ring keeps 20
    with pytest.raises(ValueError):
        state.load_history(MOUTAI, [history[1], history[0]])


def test_a_series_registered_late_equals_one_fed_from_the_start() -> None:
    early, late = MarketState(), MarketState()
    early.series("sma", 5)
    closes = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
    for state in (early, late):
        state.load_history(PINGAN, bars(PINGAN, closes))
    assert early.series("sma", 5).value(1)[0] == late.series("sma", 5).value(1)[0] == 14.0
    assert early.series("sma", 5).previous(1)[0] == 13.0


def test_live_values_use_todays_last_price() -> None:
    state = MarketState()
    state.load_history(PINGAN, bars(PINGAN, [10.0, 11.0, 12.0, 13.0]))
    state.on_quote(quote(PINGAN, "14.00", "13.00"))
    sma = state.series("sma", 3)
    reference = SMA(3)
    for x in (10.0, 11.0, 12.0, 13.0):
        reference.update(x)
    assert sma.live(state.last)[0] == pytest.approx(reference.peek(14.0))
    assert sma.live(state.last)[0] == pytest.approx(13.0)


def test_volume_ratio_needs_history_and_trading_time() -> None:
    state = MarketState()
    state.load_history(PINGAN, bars(PINGAN, [10.0] * 5, volume=4_800_000))
    state.on_quote(quote(PINGAN, "10.00", volume=1_500_000))
    assert state.volume_ratio(NOW)[0] == pytest.approx(2.5)  # 10:00 is 30 minutes in
    assert math.isnan(state.volume_ratio(NOW.replace(hour=9, minute=20))[0])


def test_patterns_are_cached_until_a_bar_is_added() -> None:
    state = MarketState()
    first = state.patterns()
    assert state.patterns() is first
    state.on_quote(quote(PINGAN, "10.00"))  # quotes do not change completed bars
    assert state.patterns() is first
    state.load_history(PINGAN, bars(PINGAN, [10.0] * 20))
    assert state.patterns() is not first
    assert state.patterns()[0] & Pattern.HAMMER.bit == 0


def test_start_day_prepares_rules_before_any_quote() -> None:
    state = MarketState()
    state.add_symbol(STAR, "中芯国际", listed_on=TODAY)
    state.start_day(TODAY)
    assert state.day == TODAY and state.listing_day[0] == 1
    state.start_day(next_trading_day(TODAY))
    assert state.listing_day[0] == 2


def test_keep_bars_has_a_floor() -> None:
    with pytest.raises(ValueError):
        MarketState(keep_bars=5)


def test_listing_far_in_the_past_is_not_new() -> None:
    state = MarketState()
    state.add_symbol(PINGAN, listed_on=date(1991, 4, 3))
    state.start_day(TODAY)
    assert state.listing_day[0] == NOT_NEW
