"""Moving-average cross (均线交叉): buy a golden cross, sell a held stock on a death cross."""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
from pydantic import Field, model_validator

from aigupiao.domain.market import Quote

from .base import Signal, StrategyContext, rounded
from .entry import EntryConfig, EntryStrategy, before_today, start
from .series import SeriesKey


class MACrossConfig(EntryConfig):
    fast: int = Field(default=5, ge=2, le=60, description="快线天数 (fast average, days)")
    slow: int = Field(default=20, ge=3, le=120, description="慢线天数 (slow average, days)")
    kind: Literal["sma", "ema"] = Field(
        default="sma", description="均线类型 (simple or exponential)"
    )
    sell_on_cross_down: bool = Field(
        default=True, description="死叉卖出持仓 (sell holdings on a death cross)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError("fast must be shorter than slow")
        return self


class MACross(EntryStrategy[MACrossConfig]):
    """均线交叉：日线收盘价的快线（默认 5 日）与慢线（默认 20 日）；昨日收盘时快线不高于慢线、
    把今天的最新价当作今日收盘价后快线高于慢线（金叉），买入；持仓在相反情形（死叉）卖出全部可用
    股数。每只股票每天至多一次；均线需有足够的日线历史。

    Moving-average cross: fast (default 5-day) and slow (20-day) averages of daily closes.
    Fast at or below slow at yesterday's close and above it with today's last price as
    today's close (a golden cross): buy. The opposite (a death cross) sells a held
    position's available shares. Once per symbol per day; needs enough daily history.
    """

    name = "ma_cross"
    title = "均线交叉 (moving-average cross)"
    config_type = MACrossConfig

    def series_needed(self) -> list[SeriesKey]:
        return [
            *super().series_needed(),
            *[
                SeriesKey(self.config.kind, self.config.fast),
                SeriesKey(self.config.kind, self.config.slow),
            ],
        ]

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        today = start(self, context)
        market = self.market(context)
        config = self.config
        fast = market.series(config.kind, config.fast)
        slow = market.series(config.kind, config.slow)
        size = market.size
        fast_now, slow_now = fast.live(market.last), slow.live(market.last)
        before = fast.value(size) - slow.value(size)
        now = fast_now - slow_now
        usable = before_today(market, today)
        # Averages equal to the last bits are equal: float noise is not a cross.
        tolerance = 1e-9 * np.abs(slow_now)
        with np.errstate(invalid="ignore"):
            golden = usable & (before <= 0) & (now > tolerance)
            death = usable & (before >= 0) & (now < -tolerance)
        signals = []
        for slot in self.buy_slots(context, market, golden):
            quote = market.quote_at(slot)
            if quote is not None:
                signals.append(
                    self.buy(
                        quote,
                        self._reason("金叉", "golden cross", "买入", "buy"),
                        self._inputs(quote, fast_now[slot], slow_now[slot], before[slot]),
                        0.6,
                    )
                )
        if config.sell_on_cross_down:
            for slot, position in self.held_slots(context, market, death):
                quote = market.quote_at(slot)
                if quote is not None:
                    signals.append(
                        self.sell(
                            position,
                            quote,
                            self._reason("死叉", "death cross", "卖出", "sell"),
                            self._inputs(quote, fast_now[slot], slow_now[slot], before[slot]),
                            0.6,
                        )
                    )
        return signals

    def _reason(self, cross_zh: str, cross_en: str, act_zh: str, act_en: str) -> str:
        config = self.config
        return (
            f"{config.fast} 日均线与 {config.slow} 日均线{cross_zh}，{act_zh}"
            f" ({config.fast}/{config.slow}-day {config.kind.upper()} {cross_en}: {act_en})"
        )

    def _inputs(self, quote: Quote, fast: float, slow: float, before: float) -> dict[str, str]:
        kind, config = self.config.kind, self.config
        return {
            "last": str(quote.last),
            f"{kind}{config.fast}": rounded(float(fast)),
            f"{kind}{config.slow}": rounded(float(slow)),
            "diff_yesterday": rounded(float(before)),
            "diff_now": rounded(float(fast - slow)),
        }
