"""The pre-trade risk gate. No decision reaches a node without passing it.

Each check either passes or names the rule that failed, with the values that
made it fail, in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from aigupiao.domain.account import Account
from aigupiao.domain.errors import RuleViolation
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side, check_price_tick, check_quantity
from aigupiao.domain.sessions import Phase, is_continuous, phase_at

# Conservative estimate of buying costs used for the cash check (commission + transfer fee).
_COST_MARGIN = Decimal("0.001")


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"  # exits only
    HALTED = "halted"  # nothing


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    accepted: bool
    rule: str | None = None
    message: str | None = None

    @classmethod
    def reject(cls, rule: str, zh: str, en: str) -> RiskVerdict:
        return cls(False, rule, f"{zh} ({en})")


ACCEPT = RiskVerdict(True)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_position_size: Decimal = Decimal("0.1")  # fraction of equity per symbol


class RiskGate:
    def __init__(self, limits: RiskLimits, state: TradingState = TradingState.ACTIVE) -> None:
        self.limits = limits
        self.state = state

    def check(
        self,
        *,
        side: Side,
        quantity: int,
        price: Decimal | None,
        quote: Quote | None,
        account: Account | None,
        now: datetime,
    ) -> RiskVerdict:
        if self.state is TradingState.HALTED:
            return RiskVerdict.reject("trading_state", "交易已暂停", "trading is halted")
        if self.state is TradingState.REDUCING and side is Side.BUY:
            return RiskVerdict.reject("trading_state", "仅允许减仓", "reducing: exits only")
        if quote is None:
            return RiskVerdict.reject("no_quote", "没有该证券的行情", "no quote for the symbol")
        symbol = quote.symbol
        if price is None and not is_continuous(now):
            return RiskVerdict.reject(
                "trading_hours",
                f"市价单只能在连续竞价时段提交（当前 {phase_at(now).value}）",
                f"market orders only in continuous trading (now {phase_at(now).value})",
            )
        if price is not None and phase_at(now) in (Phase.CLOSED, Phase.LUNCH):
            return RiskVerdict.reject("trading_hours", "非交易时段", "market is closed")
        if account is None:
            return RiskVerdict.reject(
                "account_unknown", "尚未收到账户资金信息", "account state not yet reported by node"
            )
        position = account.position(symbol)
        try:
            available = position.available if position else 0
            check_quantity(
                symbol, side, quantity, available=available if side is Side.SELL else None
            )
            if price is not None:
                check_price_tick(symbol, price)
        except RuleViolation as exc:
            return RiskVerdict(False, exc.code, str(exc))
        reference = price if price is not None else quote.last
        if quote.limit_up is not None and quote.limit_down is not None and price is not None:
            if not quote.limit_down <= price <= quote.limit_up:
                return RiskVerdict.reject(
                    "price_limit",
                    f"价格 {price} 超出涨跌停 [{quote.limit_down}, {quote.limit_up}]",
                    f"price {price} outside limits [{quote.limit_down}, {quote.limit_up}]",
                )
        if side is Side.SELL:
            if quantity > available:
                return RiskVerdict.reject(
                    "available",
                    f"可用数量 {available} 不足 {quantity}",
                    f"only {available} available to sell, asked {quantity}",
                )
            return ACCEPT
        cost = reference * quantity * (1 + _COST_MARGIN)
        if cost > account.cash:
            return RiskVerdict.reject(
                "cash",
                f"可用资金 {account.cash} 不足 {cost:.2f}",
                f"cash {account.cash} below the {cost:.2f} needed",
            )
        held = position.market_value if position else Decimal(0)
        cap = account.equity * self.limits.max_position_size
        if held + reference * quantity > cap:
            return RiskVerdict.reject(
                "max_position_size",
                f"持仓将达 {held + reference * quantity:.2f}，超过单票上限 {cap:.2f}"
                f"（权益的 {self.limits.max_position_size:.0%}）",
                f"position would be {held + reference * quantity:.2f}, above the cap {cap:.2f}",
            )
        return ACCEPT
