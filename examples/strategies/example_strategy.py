"""An example user strategy: buy a stock that opened with a gap up and holds above its open.

Put files like this one in a folder listed in ``agent.strategy_paths``; the agent loads
them at start and again when asked to reload (no restart). The contract
(``aigupiao.strategy.loader`` and ``aigupiao.strategy.base``):

* every public class in the file with a string ``name`` and a method
  ``evaluate(context) -> list[Signal]`` is a strategy; it is created once with no
  arguments (subclass ``aigupiao.strategy.base.BuiltinStrategy`` instead to get a typed,
  per-account config);
* ``name`` must be unique (not a built-in's name, not another file's);
* ``evaluate`` only reads the context (quotes, the account, the market state with its
  indicators) and returns signals; it never calls a broker, never blocks, and lets its
  exceptions propagate: the agent logs them with the strategy's name and goes on;
* every signal passes the risk gate before anything is sent to a broker.

规则（开盘缺口）：今日开盘价高于昨收 2% 以上、现价仍高于开盘价的股票，每只每天至多一次，
市价买入一手。Rule (opening gap): a stock that opened more than 2% above the previous
close and trades above its open is bought, one board lot at market, once per day.
"""

from __future__ import annotations

from decimal import Decimal

from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import board_lot
from aigupiao.strategy.base import OncePerDay, Signal, StrategyContext

GAP = Decimal("0.02")


class OpeningGap:
    name = "example_opening_gap"

    def __init__(self) -> None:
        self.proposed = OncePerDay()

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        today = context.now.date()
        self.proposed.start(today)
        signals = []
        for code, quote in context.quotes.items():
            if not quote.symbol.is_stock or quote.ts.date() != today or self.proposed.seen(code):
                continue
            if quote.previous_close <= 0 or quote.open <= 0:
                continue
            gap = quote.open / quote.previous_close - 1
            if gap > GAP and quote.last > quote.open:
                self.proposed.add(code)
                pct = (gap * 100).quantize(Decimal("0.01"))
                signals.append(
                    Signal(
                        symbol=quote.symbol,
                        side=Side.BUY,
                        quantity=board_lot(quote.symbol),
                        price=None,
                        reason=f"高开 {pct}% 且现价高于开盘价，买入 (gapped up {pct}%, holding)",
                        inputs={"open": str(quote.open), "gap_pct": str(pct)},
                        confidence=0.5,
                    )
                )
        return signals
