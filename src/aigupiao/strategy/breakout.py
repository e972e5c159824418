"""Breakout (突破): buy a new N-day high confirmed by volume."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Signal, StrategyContext, rounded
from .entry import EntryConfig, EntryStrategy, before_today, pct, start
from .series import SeriesKey


class BreakoutConfig(EntryConfig):
    period: int = Field(default=20, ge=5, le=120, description="突破前 N 日最高价 (days of highs)")
    margin: float = Field(
        default=0.0, ge=0, le=0.1, description="超出最高价的幅度 (margin above the high)"
    )
    min_volume_ratio: float = Field(
        default=1.5, gt=0, le=50, description="最小量比 (minimum volume ratio)"
    )
    volume_days: int = Field(
        default=5, ge=1, le=60, description="量比的均量天数 (days of average volume)"
    )


class Breakout(EntryStrategy[BreakoutConfig]):
    """突破：最新价高于此前 period 个交易日（默认 20，不含今天）的最高价 ×（1 + margin），且量比
    （今日每分钟成交量 ÷ 近 volume_days 日平均每分钟成交量）不低于 min_volume_ratio（默认 1.5）
    确认，买入。每只股票每天至多一次；需要 period 根日线。

    Breakout: the last price above the highest high of the previous ``period`` trading days
    (default 20, today excluded) x (1 + margin), confirmed by a volume ratio of at least
    min_volume_ratio (1.5): buy. Once per symbol per day; needs ``period`` daily bars.
    """

    name = "breakout"
    title = "突破 (breakout)"
    config_type = BreakoutConfig

    def series_needed(self) -> list[SeriesKey]:
        return [
            *super().series_needed(),
            *[
                SeriesKey("max", self.config.period, "high"),
                SeriesKey("sma", self.config.volume_days, "volume"),
            ],
        ]

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        today = start(self, context)
        market = self.market(context)
        config = self.config
        highest = market.series("max", config.period, "high").value(market.size)
        ratio = market.volume_ratio(context.now, config.volume_days)
        last = market.last
        with np.errstate(invalid="ignore"):
            rule = (
                before_today(market, today)
                & (last > highest * (1 + config.margin))
                & (ratio >= config.min_volume_ratio)
            )
        signals = []
        for slot in self.buy_slots(context, market, rule):
            quote = market.quote_at(slot)
            if quote is None:
                continue
            high, vr = rounded(float(highest[slot]), 3), rounded(float(ratio[slot]), 2)
            above = pct(float(last[slot] / highest[slot] - 1))
            signals.append(
                self.buy(
                    quote,
                    f"最新价 {quote.last} 突破 {config.period} 日最高价 {high}（高出 {above}%），"
                    f"量比 {vr}，买入 (broke the {config.period}-day high {high} by {above}%"
                    f" on volume ratio {vr})",
                    {
                        "last": str(quote.last),
                        f"highest_high_{config.period}": high,
                        "volume_ratio": vr,
                    },
                    confidence=0.5
                    + 0.5 * min(1.0, float(ratio[slot]) / (3 * config.min_volume_ratio)),
                )
            )
        return signals
