"""Top movers (涨幅榜动量): buy the day's strongest risers that trade on heavy volume."""

from __future__ import annotations

from typing import Self

import numpy as np
from pydantic import Field, model_validator

from .base import Signal, StrategyContext, rounded
from .entry import EntryConfig, EntryStrategy, pct, start
from .series import SeriesKey


class MomentumConfig(EntryConfig):
    min_change: float = Field(default=0.03, gt=0, lt=0.3, description="最小涨幅 (minimum change)")
    max_change: float = Field(
        default=0.08,
        gt=0,
        le=0.3,
        description="最大涨幅，不追涨停 (maximum change: no limit-up chasing)",
    )
    min_volume_ratio: float = Field(
        default=2.0, gt=0, le=50, description="最小量比 (minimum volume ratio)"
    )
    volume_days: int = Field(
        default=5, ge=1, le=60, description="量比的均量天数 (days of average volume)"
    )
    top: int = Field(default=5, ge=1, le=100, description="每次最多买入几只 (buys per evaluation)")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_change <= self.min_change:
            raise ValueError("max_change must be above min_change")
        return self


class Momentum(EntryStrategy[MomentumConfig]):
    """涨幅榜动量：今日涨幅在 [min_change, max_change]（默认 3%～8%）之间、量比（今日每分钟成交量
    ÷ 近 volume_days 日平均每分钟成交量，默认 5 日）不低于 min_volume_ratio（默认 2）的股票，
    按涨幅从高到低，每次至多买入 top（默认 5）只；每只股票每天至多一次。09:30 前不交易（量比无从
    计算），没有日线历史的股票没有量比，不买。

    Top movers: stocks up between min_change and max_change today (default 3%..8%) whose
    volume ratio (today's volume per trading minute over the average daily volume per
    minute of the last volume_days days, default 5) is at least min_volume_ratio
    (default 2) are bought, strongest first, at most ``top`` (5) per evaluation and once
    per symbol per day.
    """

    name = "momentum"
    title = "涨幅榜动量 (top movers)"
    config_type = MomentumConfig

    def series_needed(self) -> list[SeriesKey]:
        return [*super().series_needed(), *[SeriesKey("sma", self.config.volume_days, "volume")]]

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        start(self, context)
        market = self.market(context)
        config = self.config
        change = market.change()
        ratio = market.volume_ratio(context.now, config.volume_days)
        with np.errstate(invalid="ignore"):
            rule = (
                (change >= config.min_change)
                & (change <= config.max_change)
                & (ratio >= config.min_volume_ratio)
            )
        slots = self.buy_slots(context, market, rule)
        slots.sort(key=lambda slot: (-change[slot], -ratio[slot]))
        signals = []
        for slot in slots[: config.top]:
            quote = market.quote_at(slot)
            if quote is None:
                continue
            up, vr = pct(float(change[slot])), rounded(float(ratio[slot]), 2)
            signals.append(
                self.buy(
                    quote,
                    f"涨幅 {up}%，量比 {vr}，位列涨幅榜前 {config.top}，买入"
                    f" (up {up}% on volume ratio {vr}: a top mover)",
                    {
                        "last": str(quote.last),
                        "previous_close": str(quote.previous_close),
                        "change_pct": up,
                        "volume_ratio": vr,
                        "volume": quote.volume,
                    },
                    confidence=0.5
                    + 0.5 * min(1.0, float(ratio[slot]) / (2 * config.min_volume_ratio)),
                )
            )
        return signals
