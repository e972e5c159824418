"""What the built-in trading strategies share: order sizing and price settings, the
stock filter, and building buy and sell signals from slots of the market state."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import Field

from aigupiao.domain.account import Position
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.sessions import previous_trading_day
from aigupiao.domain.symbols import board_lot

from .base import (
    BuiltinStrategy,
    Signal,
    StrategyConfig,
    StrategyContext,
    buy_size,
    order_price,
)
from .filters import StockFilterConfig, buy_mask, filter_series, sell_mask
from .patterns import BoolArray
from .series import SeriesKey
from .state import MarketState


class EntryConfig(StrategyConfig):
    """How a strategy sizes and prices its orders, and its stock filter."""

    lots: int = Field(default=1, ge=1, le=1000, description="每次买入手数 (board lots per buy)")
    target_weight: Decimal | None = Field(
        default=None,
        gt=0,
        le=1,
        description="目标仓位占权益比例，代替手数 (target weight of equity)",
    )
    price: Literal["market", "last"] = Field(
        default="market", description="市价或最新价限价 (order price)"
    )
    price_offset_ticks: int = Field(
        default=0, ge=-20, le=20, description="限价偏移跳数 (limit offset)"
    )
    filter: StockFilterConfig = StockFilterConfig()


E = TypeVar("E", bound=EntryConfig)


class EntryStrategy(BuiltinStrategy[E]):
    """A built-in strategy that buys filtered stocks and may sell what the account holds."""

    def series_needed(self) -> list[SeriesKey]:
        return filter_series(self.config.filter)

    def buy_slots(
        self, context: StrategyContext, market: MarketState, rule: BoolArray
    ) -> list[int]:
        """Slots where the rule holds, the filter lets a buy through, not yet proposed today."""
        allowed = buy_mask(market, self.config.filter, context.now) & rule
        codes = market.codes
        seen = self.proposed.seen
        return [slot for slot in np.flatnonzero(allowed).tolist() if not seen(codes[slot])]

    def held_slots(
        self, context: StrategyContext, market: MarketState, rule: BoolArray
    ) -> list[tuple[int, Position]]:
        """(slot, position) of held, sellable positions where the rule holds."""
        sellable = sell_mask(market, context.now) & rule
        found = []
        for position in context.positions:
            slot = market.slot(position.symbol.full)
            if slot is None or position.available <= 0 or self.proposed.seen(position.symbol.full):
                continue
            if sellable[slot]:
                found.append((slot, position))
        return found

    def buy(self, quote: Quote, reason: str, inputs: dict[str, Any], confidence: float) -> Signal:
        config = self.config
        self.proposed.add(quote.symbol.full)
        weighted = config.target_weight is not None
        return Signal(
            symbol=quote.symbol,
            side=Side.BUY,
            quantity=0 if weighted else self.lots_size(quote),
            price=order_price(quote, config.price, config.price_offset_ticks),
            reason=reason,
            inputs=inputs,
            confidence=_clip(confidence),
            target_weight=config.target_weight,
        )

    def lots_size(self, quote: Quote) -> int:
        """``lots`` board lots (200 shares each on STAR), at most one order's maximum."""
        market = self.config.price == "market"
        lots = self.config.lots * board_lot(quote.symbol)
        return buy_size(quote.symbol, lots, market=market)

    def sell(
        self,
        position: Position,
        quote: Quote,
        reason: str,
        inputs: dict[str, Any],
        confidence: float,
    ) -> Signal:
        """Sell every available share (T+1 shares bought today wait)."""
        self.proposed.add(quote.symbol.full)
        return Signal(
            symbol=position.symbol,
            side=Side.SELL,
            quantity=position.available,
            price=order_price(quote, self.config.price, -self.config.price_offset_ticks),
            reason=reason,
            inputs=inputs,
            confidence=_clip(confidence),
        )


def start(strategy: BuiltinStrategy[Any], context: StrategyContext) -> date:
    today = context.now.date()
    strategy.proposed.start(today)
    return today


def before_today(market: MarketState, today: date) -> BoolArray:
    """Slots whose latest completed bar is from before today (live values make sense)."""
    return np.asarray(market.bar_day < today.toordinal())


def yesterday_bar(market: MarketState, today: date) -> BoolArray:
    """Slots whose latest completed bar is from the previous trading day."""
    return np.asarray(market.bar_day == previous_trading_day(today).toordinal())


def pct(value: float) -> str:
    """A fraction as a percentage with two places: 0.0312 -> '3.12'."""
    return f"{value * 100:.2f}"


def _clip(value: float) -> float:
    if not value == value:  # nan
        return 0.5
    return min(1.0, max(0.0, float(value)))
