"""Candlestick patterns (K线形态): act on a pattern of yesterday's daily bars."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from .base import Signal, StrategyContext, rounded
from .entry import EntryConfig, EntryStrategy, start, yesterday_bar
from .patterns import Pattern, PatternParams, from_flags
from .state import MarketState

ALL_PATTERNS = tuple(Pattern)
PRICES = ("open", "high", "low", "close")


class CandlesConfig(EntryConfig):
    patterns: tuple[Pattern, ...] = Field(
        default=ALL_PATTERNS, description="启用的形态 (patterns acted on)"
    )
    sell_bearish: bool = Field(
        default=True, description="看跌形态卖出持仓 (sell holdings on bearish ones)"
    )
    confidence: float = Field(default=0.6, ge=0, le=1, description="信号置信度 (signal confidence)")
    average_bars: int = Field(
        default=10, ge=5, le=12, description="平均实体/振幅的天数 (bars averaged)"
    )
    trend_days: int = Field(
        default=5, ge=0, le=12, description="形态前趋势的天数，0 不看 (trend days)"
    )
    near: float = Field(default=0.2, ge=0, le=1, description="'接近'：平均振幅的比例 (near)")
    far: float = Field(default=0.6, ge=0, le=2, description="'远小于'：平均振幅的比例 (far)")
    very_short_shadow: float = Field(
        default=0.1, ge=0, le=1, description="'极短影线'的比例 (very short)"
    )
    penetration: float = Field(
        default=0.5, ge=0, le=1, description="乌云盖顶的深入比例 (penetration)"
    )
    hammer_shadow_ratio: float = Field(
        default=2.0, ge=1, le=10, description="锤子线下影/实体 (hammer)"
    )

    @property
    def params(self) -> PatternParams:
        return PatternParams(
            average_bars=self.average_bars,
            trend_days=self.trend_days,
            near=self.near,
            far=self.far,
            very_short_shadow=self.very_short_shadow,
            penetration=self.penetration,
            hammer_shadow_ratio=self.hammer_shadow_ratio,
        )


class Candles(EntryStrategy[CandlesConfig]):
    """K线形态：在上一个交易日收盘的日K线上识别形态（定义见 patterns 模块与 docs/strategies.md：
    双飞乌鸦、乌云盖顶、红三兵、锤子线、下降受阻），下一个交易日开盘后按形态方向行动：看涨形态
    （红三兵、锤子线、下降受阻）经股票过滤后买入，看跌形态（双飞乌鸦、乌云盖顶）卖出持仓的全部可用
    股数。每只股票每天至多一次；形态只在它之后的那一个交易日有效。

    Candlestick patterns: patterns ending on the previous trading day's daily bar (upside
    gap two crows, dark cloud cover, three white soldiers, hammer, descent block; defined
    in the patterns module and docs/strategies.md) are acted on the next trading day:
    bullish ones buy (through the stock filter), bearish ones sell a holding's available
    shares. Once per symbol per day; a pattern is good for that one day only.
    """

    name = "candles"
    title = "K线形态 (candlestick patterns)"
    config_type = CandlesConfig

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        today = start(self, context)
        market = self.market(context)
        config = self.config
        found = market.patterns(config.params)
        bullish = sum(p.bit for p in config.patterns if p.bullish)
        bearish = sum(p.bit for p in config.patterns if not p.bullish)
        recent = yesterday_bar(market, today)
        signals = []
        for slot in self.buy_slots(context, market, recent & ((found & bullish) != 0)):
            quote = market.quote_at(slot)
            if quote is None:
                continue
            names = list(from_flags(int(found[slot]) & bullish))
            zh, en = "、".join(p.zh for p in names), ", ".join(p.en for p in names)
            signals.append(
                self.buy(
                    quote,
                    f"昨日K线出现{zh}（看涨），买入 (bullish {en} yesterday: buy)",
                    self._inputs(market, slot, names),
                    config.confidence,
                )
            )
        if config.sell_bearish:
            for slot, position in self.held_slots(
                context, market, recent & ((found & bearish) != 0)
            ):
                quote = market.quote_at(slot)
                if quote is None:
                    continue
                names = list(from_flags(int(found[slot]) & bearish))
                zh, en = "、".join(p.zh for p in names), ", ".join(p.en for p in names)
                signals.append(
                    self.sell(
                        position,
                        quote,
                        f"昨日K线出现{zh}（看跌），卖出 (bearish {en} yesterday: sell)",
                        self._inputs(market, slot, names),
                        config.confidence,
                    )
                )
        return signals

    @staticmethod
    def _inputs(market: MarketState, slot: int, patterns: list[Pattern]) -> dict[str, object]:
        bars = market.recent_bars(slot, max(p.bars for p in patterns))
        prices = {name: [rounded(v, 3) for v in bars[name].tolist()] for name in PRICES}
        return {
            "patterns": [p.value for p in patterns],
            "bar_date": date.fromordinal(int(market.bar_day[slot])).isoformat(),
            **prices,
        }
