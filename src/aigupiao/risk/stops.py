"""Stop-loss (``risk_threshold`` below cost) and the optional trailing stop.

Both are gate rules (no buying more of a position past its stop) and both propose
the sell that closes such a position: :meth:`StopBook.exits`. The trailing stop
measures from the highest price since the position was bought, kept per position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import Symbol

from .limits import RiskLimits
from .verdict import Value, json_value

# A proposed exit that did not close the position (refused, expired, unfilled) is
# proposed again after this long, while the position is still past its stop.
EXIT_RETRY = timedelta(seconds=60)

_PCT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class StopBreach:
    """A position past one of its stops."""

    rule: str  # stop_loss | trailing_stop
    zh: str
    en: str
    values: dict[str, Value]


@dataclass(frozen=True, slots=True)
class ExitSignal:
    """A sell the risk gate proposes itself (the same fields as a strategy's signal)."""

    symbol: Symbol
    side: Side
    quantity: int
    price: Decimal | None  # None = market
    reason: str
    rule: str
    inputs: dict[str, Value] = field(default_factory=dict)


def _pct(value: Decimal) -> Decimal:
    return (value * 100).quantize(_PCT)


def stop_breach(
    position: Position, last: Decimal, limits: RiskLimits, high: Decimal | None
) -> StopBreach | None:
    """The stop ``position`` is past at price ``last``, if any (stop-loss first)."""
    if last <= 0:
        return None
    code, cost = position.symbol.full, position.cost_price
    if cost > 0 and last < cost * (1 - limits.risk_threshold):
        loss = _pct(last / cost - 1)
        floor = cost * (1 - limits.risk_threshold)
        return StopBreach(
            "stop_loss",
            f"{code} 现价 {last} 低于成本 {cost} 的止损线 {floor:.2f}（{loss}%，"
            f"止损 {_pct(limits.risk_threshold)}%）",
            f"{code} last {last} is below the stop-loss line {floor:.2f} "
            f"({loss}% from the cost {cost}, threshold {_pct(limits.risk_threshold)}%)",
            {
                "last": json_value(last),
                "cost_price": json_value(cost),
                "loss_pct": json_value(loss),
                "risk_threshold": json_value(limits.risk_threshold),
            },
        )
    trailing = limits.trailing_stop
    if trailing is not None and high is not None and high > 0 and last < high * (1 - trailing):
        drop = _pct(1 - last / high)
        return StopBreach(
            "trailing_stop",
            f"{code} 现价 {last} 较买入后最高价 {high} 回落 {drop}%，"
            f"超过跟踪止损 {_pct(trailing)}%",
            f"{code} last {last} is {drop}% below the high {high} since buying, "
            f"beyond the trailing stop of {_pct(trailing)}%",
            {
                "last": json_value(last),
                "high": json_value(high),
                "drop_pct": json_value(drop),
                "trailing_stop": json_value(trailing),
            },
        )
    return None


def _last(position: Position, quote: Quote | None) -> Decimal | None:
    if quote is not None and quote.last > 0:
        return quote.last
    return position.last_price


class StopBook:
    """One account's stop state: the high of each position since it was bought, and
    when each exit was last proposed."""

    def __init__(self, highs: Mapping[str, Decimal] | None = None) -> None:
        self.highs: dict[str, Decimal] = dict(highs or {})
        self._proposed: dict[str, datetime] = {}

    def observe(self, account: Account, quotes: Mapping[str, Quote]) -> bool:
        """Raise each held position's high to its latest price; forget sold positions.
        Returns whether any high changed."""
        changed = False
        held = set()
        for position in account.positions:
            if position.total <= 0:
                continue
            code = position.symbol.full
            held.add(code)
            last = _last(position, quotes.get(code))
            start = self.highs.get(code, position.cost_price)
            high = max(start, last) if last is not None else start
            if self.highs.get(code) != high:
                self.highs[code] = high
                changed = True
        for code in set(self.highs) - held:
            del self.highs[code]
            self._proposed.pop(code, None)
            changed = True
        return changed

    def breach(
        self, position: Position, quote: Quote | None, limits: RiskLimits
    ) -> StopBreach | None:
        last = _last(position, quote)
        if last is None:
            return None
        return stop_breach(position, last, limits, self.highs.get(position.symbol.full))

    def exits(
        self,
        account: Account,
        quotes: Mapping[str, Quote],
        limits: RiskLimits,
        now: datetime,
        *,
        held: Callable[[str], int] | None = None,
    ) -> list[ExitSignal]:
        """Market sells of everything available in positions past a stop.

        T+1 shares bought today are not available and wait for the next day; shares
        ``held(code)`` says open sells hold (an exit on its way, say) are not sold twice.
        An exit is proposed again only after :data:`EXIT_RETRY`.
        """
        signals = []
        for position in account.positions:
            code = position.symbol.full
            available = position.available - (held(code) if held is not None else 0)
            if available <= 0:
                continue
            last_time = self._proposed.get(code)
            if last_time is not None and now - last_time < EXIT_RETRY:
                continue
            breach = self.breach(position, quotes.get(code), limits)
            if breach is None:
                continue
            self._proposed[code] = now
            quantity = available
            signals.append(
                ExitSignal(
                    symbol=position.symbol,
                    side=Side.SELL,
                    quantity=quantity,
                    price=None,
                    reason=f"{breach.zh}，卖出 {quantity} 股 ({breach.en}; selling {quantity})",
                    rule=breach.rule,
                    inputs=dict(breach.values),
                )
            )
        return signals
