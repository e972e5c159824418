"""Each built-in's rule on hand-built history and quotes: it fires past its threshold and
not at it; sizing, prices and sells come out as configured."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import parse_symbol
from aigupiao.strategy.breakout import Breakout
from aigupiao.strategy.candles import Candles
from aigupiao.strategy.dip_buy import DipBuy
from aigupiao.strategy.filters import StockFilterConfig
from aigupiao.strategy.indicators import RSI
from aigupiao.strategy.ma_cross import MACross
from aigupiao.strategy.momentum import Momentum
from aigupiao.strategy.rsi_reversion import RSIReversion
from aigupiao.strategy.state import MarketState

from .build import MOUTAI, NOW, PINGAN, TODAY, bars, context, holding, quote
from .test_patterns import HAMMER, TWO_CROWS, falling, rising

OPEN = StockFilterConfig(min_avg_amount=Decimal(0))  # hand-built volumes are small


def _state(symbol=PINGAN, closes=(10.0,) * 20, volume=1_000_000, ohlc=None) -> MarketState:  # type: ignore[no-untyped-def]
    state = MarketState()
    state.load_history(symbol, bars(symbol, closes, volume=volume, ohlc=ohlc))
    return state


# -- dip buy on the shared market state --------------------------------------------------


def test_dip_buy_reads_the_shared_market_state() -> None:
    state = MarketState()
    state.on_quotes([quote(PINGAN, "9.49"), quote(MOUTAI, "9.51")])
    (signal,) = DipBuy().evaluate(context(state))
    assert signal.symbol == PINGAN and signal.quantity == 100 and signal.confidence == 1.0


def test_dip_buy_filter_applies() -> None:
    state = MarketState()
    state.on_quote(quote(PINGAN, "9.00", name="ST平安"))
    assert DipBuy().evaluate(context(state)) == []


# -- momentum ----------------------------------------------------------------------------


def test_momentum_buys_risers_on_heavy_volume() -> None:
    # 5-day average 4,800,000 shares; by 10:00 (30 minutes) 1,200,000 = volume ratio 2.0
    state = _state(volume=4_800_000)
    state.on_quote(quote(PINGAN, "10.30", volume=1_200_000))
    rule = Momentum.from_config({"filter": OPEN})
    (signal,) = rule.evaluate(context(state))
    assert signal.side is Side.BUY and signal.quantity == 100 and signal.price is None
    assert signal.inputs["change_pct"] == "3.00" and signal.inputs["volume_ratio"] == "2.00"
    assert "涨幅 3.00%" in signal.reason and "top mover" in signal.reason
    assert rule.evaluate(context(state)) == []  # once a day


@pytest.mark.parametrize(
    ("last", "volume"), [("10.29", 1_200_000), ("10.30", 1_199_000), ("10.81", 1_200_000)]
)
def test_momentum_thresholds(last: str, volume: int) -> None:
    state = _state(volume=4_800_000)
    state.on_quote(quote(PINGAN, last, volume=volume))
    assert Momentum.from_config({"filter": OPEN}).evaluate(context(state)) == []


def test_momentum_takes_the_top_n_strongest() -> None:
    state = MarketState()
    codes = [f"sz000{n:03d}" for n in range(1, 6)]
    for n, code in enumerate(codes):
        symbol = parse_symbol(code)
        state.load_history(symbol, bars(symbol, [10.0] * 5, volume=4_800_000))
        state.on_quote(quote(symbol, f"{10.3 + 0.1 * n:.2f}", volume=2_000_000))
    signals = Momentum.from_config({"filter": OPEN, "top": 2}).evaluate(context(state))
    assert [s.code for s in signals] == ["sz000005", "sz000004"]


def test_momentum_waits_for_continuous_trading() -> None:
    state = _state(volume=4_800_000)
    state.on_quote(quote(PINGAN, "10.50", volume=1_200_000, now=NOW.replace(hour=9, minute=26)))
    rule = Momentum.from_config({"filter": OPEN})
    assert rule.evaluate(context(state, now=NOW.replace(hour=9, minute=26))) == []


# -- moving-average cross ----------------------------------------------------------------

# fast 2, slow 3 over closes ... 10, 10, 9: yesterday fast 9.5 < slow 9.67; with today's
# price p, fast (9 + p) / 2 > slow (19 + p) / 3 exactly when p > 11
CROSS_HISTORY = (10.0,) * 10 + (10.0, 10.0, 9.0)


def test_golden_cross_buys() -> None:
    config = MACross.from_config({"fast": 2, "slow": 3, "filter": OPEN}).config
    for last, fires in (("11.00", False), ("11.01", True)):
        state = _state(closes=CROSS_HISTORY)
        state.on_quote(quote(PINGAN, last, "10.50"))
        signals = MACross(config=config).evaluate(context(state))
        assert bool(signals) is fires, last
    assert signals[0].inputs["sma2"] == "10.0050" and signals[0].inputs["sma3"] == "10.0033"
    assert "金叉" in signals[0].reason and "golden cross" in signals[0].reason


def test_death_cross_sells_a_holding() -> None:
    # ... 10, 10, 10.2: yesterday fast 10.1 > slow 10.067; a cross down when p < 9.8
    history = (10.0,) * 10 + (10.0, 10.0, 10.2)
    rule = MACross.from_config({"fast": 2, "slow": 3, "filter": OPEN})
    state = _state(closes=history)
    state.on_quote(quote(PINGAN, "9.80", "10.20"))
    assert rule.evaluate(context(state, positions=[holding(PINGAN, 700)])) == []
    state.on_quote(quote(PINGAN, "9.79", "10.20"))
    (signal,) = rule.evaluate(context(state, positions=[holding(PINGAN, 700)]))
    assert signal.side is Side.SELL and signal.quantity == 700 and "死叉" in signal.reason
    state.on_quote(quote(PINGAN, "9.79", "10.20"))
    assert MACross.from_config({"fast": 2, "slow": 3}).evaluate(context(state)) == []  # not held


def test_ma_cross_config_bounds() -> None:
    with pytest.raises(ValueError):
        MACross.from_config({"fast": 20, "slow": 10})


# -- RSI reversion -----------------------------------------------------------------------


def _rsi_after(closes: list[float], last: float) -> float:
    rsi = RSI(14)
    for close in closes:
        rsi.update(close)
    value = rsi.peek(last)
    assert value is not None
    return value


def test_rsi_oversold_buys_and_overbought_sells() -> None:
    closes = [10.0 + 0.1 * (i % 2) for i in range(20)]  # RSI about 50
    state = _state(closes=closes)
    oversold_last = 9.05
    assert _rsi_after(closes, oversold_last) < 30
    state.on_quote(quote(PINGAN, f"{oversold_last:.2f}", "10.00"))
    (buy,) = RSIReversion.from_config({"filter": OPEN}).evaluate(context(state))
    assert buy.side is Side.BUY and float(buy.inputs["rsi14"]) == pytest.approx(
        _rsi_after(closes, oversold_last), abs=0.01
    )
    state = _state(closes=closes)
    state.on_quote(quote(PINGAN, "10.90", "10.00"))
    assert _rsi_after(closes, 10.90) > 70
    (sell,) = RSIReversion.from_config({"filter": OPEN}).evaluate(
        context(state, positions=[holding(PINGAN)])
    )
    assert sell.side is Side.SELL


def test_rsi_threshold_is_strict() -> None:
    closes = [10.0 + 0.1 * (i % 2) for i in range(20)]
    value = _rsi_after(closes, 9.50)
    state = _state(closes=closes)
    state.on_quote(quote(PINGAN, "9.50", "10.00"))
    below = RSIReversion.from_config({"filter": OPEN, "oversold": value + 0.01})
    at = RSIReversion.from_config({"filter": OPEN, "oversold": value - 0.0001})
    assert len(below.evaluate(context(state))) == 1
    assert at.evaluate(context(state)) == []


def test_rsi_needs_history() -> None:
    state = _state(closes=[10.0] * 10)
    state.on_quote(quote(PINGAN, "9.10", "10.00"))
    assert RSIReversion.from_config({"filter": OPEN}).evaluate(context(state)) == []


# -- breakout ----------------------------------------------------------------------------


def test_breakout_above_the_n_day_high_with_volume() -> None:
    # highs of 10.2 and one of 10.5; average volume 4,800,000 a day, so 1,200,000 by 10:00
    # is a volume ratio of exactly 2.0
    rows = [(10.0, 10.5 if i == 3 else 10.2, 9.8, 10.0) for i in range(20)]
    rule = Breakout.from_config({"filter": OPEN, "min_volume_ratio": 2.0})
    cases = (("10.51", 1_200_000, True), ("10.50", 1_200_000, False), ("10.51", 1_199_000, False))
    for last, volume, fires in cases:
        state = _state(ohlc=rows, volume=4_800_000)
        state.on_quote(quote(PINGAN, last, volume=volume))
        got = Breakout(config=rule.config).evaluate(context(state))
        assert bool(got) is fires, (last, volume)
        if fires:
            assert got[0].inputs == {
                "last": "10.51", "highest_high_20": "10.500", "volume_ratio": "2.00"}  # fmt: skip
    assert "period 个交易日（默认 20" in Breakout.rule()


def test_breakout_ignores_highs_older_than_the_period() -> None:
    rows = [(10.0, 12.0 if i == 0 else 10.2, 9.8, 10.0) for i in range(21)]
    state = _state(ohlc=rows, volume=4_800_000)
    state.on_quote(quote(PINGAN, "10.30", volume=2_400_000))
    (signal,) = Breakout.from_config({"filter": OPEN}).evaluate(context(state))
    assert signal.inputs["highest_high_20"] == "10.200"


# -- candlestick patterns ----------------------------------------------------------------


def test_a_bullish_pattern_buys_the_next_day() -> None:
    state = _state(ohlc=falling() + HAMMER)
    state.on_quote(quote(PINGAN, "14.60", "14.50"))
    (signal,) = Candles.from_config({"filter": OPEN}).evaluate(context(state))
    assert signal.side is Side.BUY and signal.inputs["patterns"] == ["hammer"]
    assert "锤子线" in signal.reason and signal.confidence == 0.6
    assert signal.inputs["close"] == ["14.500"]


def test_a_bearish_pattern_sells_a_holding() -> None:
    state = _state(ohlc=rising() + TWO_CROWS)
    state.on_quote(quote(PINGAN, "17.20", "17.25"))
    rule = Candles.from_config({"filter": OPEN})
    assert rule.evaluate(context(state)) == []  # nothing held
    (signal,) = rule.evaluate(context(state, positions=[holding(PINGAN, 300)]))
    assert signal.side is Side.SELL and signal.quantity == 300 and "双飞乌鸦" in signal.reason


def test_a_pattern_is_only_good_for_the_next_day() -> None:
    state = _state(ohlc=falling() + HAMMER)
    later = NOW + timedelta(days=1)
    state.on_quote(quote(PINGAN, "14.60", "14.50", now=later))
    assert Candles.from_config({"filter": OPEN}).evaluate(context(state, now=later)) == []


def test_disabled_patterns_are_ignored() -> None:
    state = _state(ohlc=falling() + HAMMER)
    state.on_quote(quote(PINGAN, "14.60", "14.50"))
    rule = Candles.from_config({"filter": OPEN, "patterns": ["three_white_soldiers"]})
    assert rule.evaluate(context(state)) == []


# -- sizing and prices -------------------------------------------------------------------


def test_lots_target_weight_and_limit_prices() -> None:
    star = parse_symbol("sh688981")
    state = _state(symbol=star, closes=(100.0,) * 5, volume=480_000)
    state.on_quote(quote(star, "103.00", "100.00", volume=120_000))
    config = {"filter": OPEN, "lots": 2, "price": "last", "price_offset_ticks": 3}
    (signal,) = Momentum.from_config(config).evaluate(context(state))
    assert signal.quantity == 400  # two STAR lots of 200
    assert signal.price == Decimal("103.03")
    weighted = Momentum.from_config({"filter": OPEN, "target_weight": "0.05"})
    (signal,) = weighted.evaluate(context(state))
    assert signal.quantity == 0 and signal.target_weight == Decimal("0.05")


def test_a_limit_price_stays_inside_the_limits() -> None:
    state = _state(volume=4_800_000)
    state.on_quote(quote(PINGAN, "10.80", volume=1_200_000))
    config = {"filter": OPEN, "price": "last", "price_offset_ticks": 20, "max_change": 0.09}
    (signal,) = Momentum.from_config(config).evaluate(context(state))
    assert signal.price == Decimal("11.00")  # 10.80 + 0.20 is the limit up exactly


def test_today_is_a_trading_day() -> None:
    assert TODAY.weekday() < 5
