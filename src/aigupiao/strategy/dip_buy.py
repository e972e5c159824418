"""The seed's default rule: buy a stock that has fallen more than 5% today.

Each symbol is bought at most once per trading day, whatever the risk gate
later says, so a rejected dip is not re-proposed every few seconds.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from aigupiao.domain.orders import Side

from .base import OncePerDay, Signal, StrategyContext


class DipBuy:
    name = "dip_buy"

    def __init__(self, threshold: Decimal = Decimal("-0.05"), quantity: int = 100) -> None:
        self.threshold = threshold
        self.quantity = quantity
        self.proposed = OncePerDay()

    def remember(self, day: date, codes: set[str]) -> None:
        self.proposed.remember(day, codes)

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        today = context.now.date()
        self.proposed.start(today)
        signals = []
        for code, quote in context.quotes.items():
            if self.proposed.seen(code) or not quote.symbol.is_stock:
                continue
            if quote.ts.date() != today or quote.previous_close <= 0:
                continue
            change = quote.change_pct
            if change < self.threshold:
                self.proposed.add(code)
                pct = (change * 100).quantize(Decimal("0.01"))
                signals.append(
                    Signal(
                        symbol=quote.symbol,
                        side=Side.BUY,
                        quantity=self.quantity,
                        price=None,
                        reason=f"跌幅 {pct}% 低于 {self.threshold * 100}%，买入 {self.quantity} 股"
                        f" (fell {pct}%, below {self.threshold * 100}%)",
                        inputs={
                            "last": str(quote.last),
                            "previous_close": str(quote.previous_close),
                            "change_pct": str(pct),
                            "quote_ts": quote.ts.isoformat(),
                        },
                    )
                )
        return signals
