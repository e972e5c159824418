"""Stop-loss: sell a position whose price has fallen ``risk_threshold`` below its cost.

Sells everything available (T+1 shares bought today cannot be sold and wait for
tomorrow). Each symbol is proposed at most once per trading day.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from aigupiao.domain.orders import Side

from .base import BuiltinStrategy, Signal, StrategyConfig, StrategyContext


class StopLossConfig(StrategyConfig):
    risk_threshold: Decimal = Field(
        default=Decimal("0.08"), gt=0, lt=1, description="低于成本的止损比例 (loss below cost)"
    )


class StopLoss(BuiltinStrategy[StopLossConfig]):
    """止损：持仓现价低于成本价 ×（1 - risk_threshold，默认 8%）时，卖出全部可用股数（T+1 当日
    买入的不能卖）；每只股票每个交易日至多一次。

    Stop-loss: a position whose last price is below cost x (1 - risk_threshold, default
    8%) is sold, every available share at market; once per symbol per trading day.
    """

    name = "stop_loss"
    title = "止损 (stop-loss)"
    config_type = StopLossConfig

    def __init__(
        self, risk_threshold: Decimal | None = None, *, config: StopLossConfig | None = None
    ) -> None:
        config = config if config is not None else StopLossConfig()
        if risk_threshold is not None:
            config = StopLossConfig.model_validate(
                {**config.model_dump(), "risk_threshold": risk_threshold}
            )
        super().__init__(config)

    @property
    def risk_threshold(self) -> Decimal:
        return self.config.risk_threshold

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        today = context.now.date()
        self.proposed.start(today)
        if context.account is None:
            return []
        signals = []
        for position in context.account.positions:
            code = position.symbol.full
            quote = context.quotes.get(code)
            if quote is None or position.available <= 0 or self.proposed.seen(code):
                continue
            floor = position.cost_price * (1 - self.risk_threshold)
            if position.cost_price > 0 and quote.last < floor:
                self.proposed.add(code)
                loss = ((quote.last / position.cost_price - 1) * 100).quantize(Decimal("0.01"))
                signals.append(
                    Signal(
                        symbol=position.symbol,
                        side=Side.SELL,
                        quantity=position.available,
                        price=None,
                        reason=f"现价 {quote.last} 低于成本 {position.cost_price} 的止损线"
                        f"（{loss}%），卖出 {position.available} 股"
                        f" (stop-loss: {loss}% below cost)",
                        inputs={
                            "last": str(quote.last),
                            "cost_price": str(position.cost_price),
                            "loss_pct": str(loss),
                            "risk_threshold": str(self.risk_threshold),
                        },
                    )
                )
        return signals
