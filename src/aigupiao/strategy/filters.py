"""The stock filter every built-in strategy applies before it proposes a buy.

A symbol may be bought when its latest quote is from today and none of these holds
(each can be switched off or tuned in :class:`StockFilterConfig`):

* not a stock (a fund, an index);
* ST / \\*ST (from the name, or as given to the market state);
* suspended: no trade today after the opening auction (volume 0 from 09:30 on), or
  no price;
* at its limit up now (a buy there rarely fills and chases a sealed board) or at its
  limit down (a falling knife; the seed rule "buy the dip" must not buy a sealed
  limit-down);
* a new listing in its first ``new_listing_days`` trading days (from the listing
  date given to the market state, or the exchange's N/C name prefix);
* on the Beijing exchange (BSE), unless ``allow_bse``;
* priced below ``min_price`` or above ``max_price``;
* illiquid: average daily turnover (成交额) over the last ``amount_days`` completed
  days below ``min_avg_amount``. A symbol without that much history passes this one
  check (nothing to judge it by).

Sells of held positions only need a fresh quote, no suspension and no sealed limit
down (:func:`sell_mask`).
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

import numpy as np
from pydantic import Field

from .base import StrategyConfig
from .patterns import BoolArray
from .series import SeriesKey
from .state import MarketState

CONTINUOUS_START = time(9, 30)


class StockFilterConfig(StrategyConfig):
    """股票过滤 (stock filter) settings."""

    exclude_st: bool = Field(default=True, description="排除 ST/*ST (exclude ST)")
    exclude_suspended: bool = Field(default=True, description="排除停牌 (exclude suspended)")
    exclude_limit_up: bool = Field(default=True, description="排除涨停 (exclude at limit up)")
    exclude_limit_down: bool = Field(default=True, description="排除跌停 (exclude at limit down)")
    new_listing_days: int = Field(
        default=5, ge=0, le=250, description="排除上市前 N 个交易日的新股 (exclude new listings)"
    )
    allow_bse: bool = Field(default=False, description="允许北交所 (allow the Beijing exchange)")
    min_price: Decimal = Field(
        default=Decimal("2"), ge=0, description="最低价 (minimum price, CNY)"
    )
    max_price: Decimal | None = Field(default=None, gt=0, description="最高价 (maximum price, CNY)")
    min_avg_amount: Decimal = Field(
        default=Decimal("20000000"),
        ge=0,
        description="日均成交额下限 (minimum average turnover, CNY)",
    )
    amount_days: int = Field(
        default=20, ge=1, le=120, description="日均成交额的天数 (days averaged)"
    )


def filter_series(config: StockFilterConfig) -> list[SeriesKey]:
    """The daily indicators the filter reads."""
    if config.min_avg_amount > 0:
        return [SeriesKey("sma", config.amount_days, "amount")]
    return []


def _exclusions(
    market: MarketState, config: StockFilterConfig, now: datetime
) -> list[tuple[str, str, BoolArray]]:
    """(reason in Chinese, in English, excluded slots) for each rule that is on."""
    last = market.last
    tick = market.tick
    rules: list[tuple[str, str, BoolArray]] = [("非股票", "not a stock", ~market.is_stock)]
    if config.exclude_st:
        rules.append(("ST 股", "ST stock", market.is_st))
    if config.exclude_suspended:
        quiet = market.volume <= 0 if now.time() >= CONTINUOUS_START else np.zeros_like(last, bool)
        rules.append(("停牌或今日无成交", "suspended or no trade today", quiet | ~(last > 0)))
    with np.errstate(invalid="ignore"):
        if config.exclude_limit_up:
            rules.append(("涨停", "at limit up", last >= market.limit_up - tick / 2))
        if config.exclude_limit_down:
            rules.append(("跌停", "at limit down", last <= market.limit_down + tick / 2))
    if config.new_listing_days:
        new = market.listing_day <= config.new_listing_days
        rules.append((f"上市不足 {config.new_listing_days} 个交易日", "new listing", new))
    if not config.allow_bse:
        rules.append(("北交所", "Beijing exchange", market.is_bse))
    low = float(config.min_price)
    rules.append((f"价格低于 {config.min_price}", f"price below {config.min_price}", last < low))
    if config.max_price is not None:
        high = float(config.max_price)
        rules.append(
            (f"价格高于 {config.max_price}", f"price above {config.max_price}", last > high)
        )
    if config.min_avg_amount > 0:
        average = market.series("sma", config.amount_days, "amount").value(market.size)
        thin = average < float(config.min_avg_amount)  # nan (no history) is not thin
        rules.append(("成交额不足", "turnover too low", thin))
    return rules


def buy_mask(market: MarketState, config: StockFilterConfig, now: datetime) -> BoolArray:
    """Slots that may be bought now (fresh quote of ``now``'s day, no rule excludes them)."""

    def compute() -> BoolArray:
        allowed = market.fresh(now.date()).copy()
        for _, _, excluded in _exclusions(market, config, now):
            allowed &= ~excluded
        return allowed

    key = ("buy_mask", config, now.date(), now.time() >= CONTINUOUS_START)
    return market.memo(key, compute)


def sell_mask(market: MarketState, now: datetime) -> BoolArray:
    """Slots whose held shares can be sold now: a fresh quote, trading, not sealed at
    the limit down."""

    def compute() -> BoolArray:
        config = StockFilterConfig(
            exclude_st=False, exclude_limit_up=False, new_listing_days=0, allow_bse=True,
            min_price=Decimal(0), min_avg_amount=Decimal(0),
        )  # fmt: skip
        allowed = market.fresh(now.date()).copy()
        for _, _, excluded in _exclusions(market, config, now)[1:]:  # funds may be sold
            allowed &= ~excluded
        return allowed

    return market.memo(("sell_mask", now.date(), now.time() >= CONTINUOUS_START), compute)


def explain(market: MarketState, config: StockFilterConfig, code: str, now: datetime) -> list[str]:
    """Why the filter keeps ``code`` from being bought now (empty: it may be bought)."""
    slot = market.slot(code)
    if slot is None:
        return ["没有行情 (no quote)"]
    reasons = []
    if not market.fresh(now.date())[slot]:
        reasons.append("行情不是今天的 (no quote today)")
    for zh, en, excluded in _exclusions(market, config, now):
        if excluded[slot]:
            reasons.append(f"{zh} ({en})")
    return reasons
