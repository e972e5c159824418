"""RSI reversion (RSI 超卖反弹): buy oversold stocks, sell overbought holdings."""

from __future__ import annotations

from typing import Self

import numpy as np
from pydantic import Field, model_validator

from .base import Signal, StrategyContext, rounded
from .entry import EntryConfig, EntryStrategy, before_today, start
from .series import SeriesKey


class RSIReversionConfig(EntryConfig):
    period: int = Field(default=14, ge=2, le=60, description="RSI 天数 (RSI period, days)")
    oversold: float = Field(default=30.0, gt=0, lt=50, description="超卖线 (oversold below)")
    overbought: float = Field(default=70.0, gt=50, lt=100, description="超买线 (overbought above)")
    sell_overbought: bool = Field(
        default=True, description="超买时卖出持仓 (sell holdings when overbought)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.overbought <= self.oversold:
            raise ValueError("overbought must be above oversold")
        return self


class RSIReversion(EntryStrategy[RSIReversionConfig]):
    """RSI 超卖反弹：日线收盘价的 Wilder RSI（默认 14 日），把今天的最新价当作今日收盘价计算；低于
    超卖线（默认 30）买入，持仓高于超买线（默认 70）卖出全部可用股数。每只股票每天至多一次；需要
    period + 1 根日线。

    RSI reversion: Wilder's RSI of daily closes (default 14 days) with today's last price
    as today's close; below oversold (30): buy; a holding above overbought (70): sell its
    available shares. Once per symbol per day; needs period + 1 daily bars.
    """

    name = "rsi_reversion"
    title = "RSI 超卖反弹 (RSI reversion)"
    config_type = RSIReversionConfig

    def series_needed(self) -> list[SeriesKey]:
        return [*super().series_needed(), *[SeriesKey("rsi", self.config.period)]]

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        today = start(self, context)
        market = self.market(context)
        config = self.config
        rsi = market.series("rsi", config.period).live(market.last)
        usable = before_today(market, today)
        with np.errstate(invalid="ignore"):
            oversold = usable & (rsi < config.oversold)
            overbought = usable & (rsi > config.overbought)
        signals = []
        for slot in self.buy_slots(context, market, oversold):
            quote = market.quote_at(slot)
            if quote is None:
                continue
            value = rounded(float(rsi[slot]), 2)
            signals.append(
                self.buy(
                    quote,
                    f"RSI{config.period} 为 {value}，低于超卖线 {config.oversold:g}，买入"
                    f" (RSI {value} below {config.oversold:g}: oversold, buy)",
                    {"last": str(quote.last), f"rsi{config.period}": value},
                    confidence=0.5 + 0.5 * (config.oversold - float(rsi[slot])) / config.oversold,
                )
            )
        if config.sell_overbought:
            for slot, position in self.held_slots(context, market, overbought):
                quote = market.quote_at(slot)
                if quote is None:
                    continue
                value = rounded(float(rsi[slot]), 2)
                top = 100 - config.overbought
                signals.append(
                    self.sell(
                        position,
                        quote,
                        f"RSI{config.period} 为 {value}，高于超买线 {config.overbought:g}，卖出"
                        f" (RSI {value} above {config.overbought:g}: overbought, sell)",
                        {"last": str(quote.last), f"rsi{config.period}": value},
                        confidence=0.5 + 0.5 * (float(rsi[slot]) - config.overbought) / top,
                    )
                )
        return signals
