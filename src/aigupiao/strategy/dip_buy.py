"""The seed's default rule: buy a stock that has fallen more than 5% today.

Each symbol is bought at most once per trading day, whatever the risk gate
later says, so a rejected dip is not re-proposed every few seconds. The order is
sized in the board's lot (``quantity`` shares, raised to 200 on STAR), or by value
(``target_weight`` of equity).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from pydantic import Field

from aigupiao.domain.orders import Side

from .base import BuiltinStrategy, Signal, StrategyConfig, StrategyContext, buy_size
from .filters import StockFilterConfig, buy_mask, filter_series
from .series import SeriesKey


class DipBuyConfig(StrategyConfig):
    threshold: Decimal = Field(
        default=Decimal("-0.05"), gt=-1, lt=0, description="跌幅阈值 (change below which to buy)"
    )
    quantity: int = Field(
        default=100,
        gt=0,
        le=1_000_000,
        description="买入股数，按板块交易单位取整：科创板至少 200 股 "
        "(shares to buy, fitted to the board's lot: at least 200 on STAR)",
    )
    target_weight: Decimal | None = Field(
        default=None,
        gt=0,
        le=1,
        description="按金额买入：目标仓位占权益比例，代替股数 "
        "(buy by value: target weight of equity)",
    )
    # The seed's rule buys a dip however deep: a limit-down stock (sellers waiting, a
    # buy fills) stays in unless ``exclude_limit_down`` is switched on.
    filter: StockFilterConfig = StockFilterConfig(exclude_limit_down=False)


class DipBuy(BuiltinStrategy[DipBuyConfig]):
    """跌幅买入：今日跌幅低于阈值（默认 -5%，严格低于）的股票，市价买入 100 股（按板块交易单位：
    科创板最少 200 股；或按 target_weight 以权益比例买入）；每只股票每个交易日至多一次。只看
    今天的行情，需有昨收价；股票过滤器（ST、停牌、涨停、新股、北交所、价格、成交额）先行；
    跌停默认不排除（种子规则：跌得再深也买）。

    Dip buy (the seed's rule): a stock whose change from the previous close is below the
    threshold (default -5%, strictly) is bought, 100 shares at market (in the board's lot:
    at least 200 on STAR; or by value, with target_weight), at most once per symbol per
    trading day. Only today's quotes with a previous close count; the stock filter
    applies first, except that limit-down stocks stay in by default (the seed's rule
    buys however deep the dip).
    """

    name = "dip_buy"
    title = "跌幅买入 (dip buy)"
    config_type = DipBuyConfig

    def __init__(
        self,
        threshold: Decimal | None = None,
        quantity: int | None = None,
        *,
        config: DipBuyConfig | None = None,
    ) -> None:
        config = config if config is not None else DipBuyConfig()
        changes = {
            key: value
            for key, value in (("threshold", threshold), ("quantity", quantity))
            if value is not None
        }
        if changes:
            config = DipBuyConfig.model_validate({**config.model_dump(), **changes})
        super().__init__(config)

    @property
    def threshold(self) -> Decimal:
        return self.config.threshold

    @property
    def quantity(self) -> int:
        return self.config.quantity

    def series_needed(self) -> list[SeriesKey]:
        return filter_series(self.config.filter)

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        today = context.now.date()
        self.proposed.start(today)
        market = self.market(context)
        threshold, weight = self.threshold, self.config.target_weight
        # A float screen with a margin, then the exact Decimal rule on the few left.
        with np.errstate(invalid="ignore"):
            falling = market.change() < float(threshold) + 1e-9
        candidates = buy_mask(market, self.config.filter, context.now) & falling
        signals = []
        for slot in np.flatnonzero(candidates).tolist():
            quote = market.quote_at(slot)
            code = market.codes[slot]
            if quote is None or self.proposed.seen(code) or not quote.symbol.is_stock:
                continue
            if quote.ts.date() != today or quote.previous_close <= 0:
                continue
            change = quote.change_pct
            if change < threshold:
                self.proposed.add(code)
                pct = (change * 100).quantize(Decimal("0.01"))
                if weight is None:
                    quantity = buy_size(quote.symbol, self.quantity, market=True)
                    zh, en = f"买入 {quantity} 股", f"buying {quantity}"
                else:
                    quantity = 0
                    zh = f"买入至权益的 {weight * 100}%"
                    en = f"buying up to {weight * 100}% of equity"
                signals.append(
                    Signal(
                        symbol=quote.symbol,
                        side=Side.BUY,
                        quantity=quantity,
                        price=None,
                        reason=f"跌幅 {pct}% 低于 {threshold * 100}%，{zh}"
                        f" (fell {pct}%, below {threshold * 100}%; {en})",
                        inputs={
                            "last": str(quote.last),
                            "previous_close": str(quote.previous_close),
                            "change_pct": str(pct),
                            "quote_ts": quote.ts.isoformat(),
                        },
                        target_weight=weight,
                    )
                )
        return signals
