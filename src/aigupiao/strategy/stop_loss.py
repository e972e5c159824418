"""Stop-loss: sell a position whose price has fallen ``risk_threshold`` below its cost.

Sells everything available (T+1 shares bought today cannot be sold and wait for
tomorrow). Each symbol is proposed at most once per trading day.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from aigupiao.domain.orders import Side

from .base import OncePerDay, Signal, StrategyContext


class StopLoss:
    name = "stop_loss"

    def __init__(self, risk_threshold: Decimal = Decimal("0.08")) -> None:
        self.risk_threshold = risk_threshold
        self.proposed = OncePerDay()

    def remember(self, day: date, codes: set[str]) -> None:
        self.proposed.remember(day, codes)

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
