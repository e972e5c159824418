"""The pre-trade risk gate. No order reaches a node without passing it.

Each check either passes or names the rule that failed, with the values that
made it fail, in Chinese and English (``docs/risk.md`` lists every rule). The
gate is pure: it keeps its state in memory and is told the time; the cloud's
risk service persists what must survive a restart (trading states, limits,
each account's starting equity of the day and its trailing-stop highs).

The checks, in order: trading state, quote, trading hours and calendar, account,
daily loss (buys), exchange rules (lot, market-order maximum, T+1 available
quantity, limit price, tick, price limits, price cage), stop-loss and trailing
stop (buys), number of positions (buys), cash (buys), position size (buys),
order rate and duplicates. An accepted order counts toward the last two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from aigupiao.domain.account import Account
from aigupiao.domain.errors import RuleViolation
from aigupiao.domain.market import Quote
from aigupiao.domain.money import cny
from aigupiao.domain.orders import OrderType, Side
from aigupiao.domain.rules import (
    Limits,
    cage_bound,
    check_cage,
    check_limit_price,
    check_order_size,
    check_session,
    day_limits,
    worst_price,
)
from aigupiao.domain.sessions import BEIJING, Phase, is_continuous, phase_at
from aigupiao.domain.symbols import lot_rule

from .daily import DayStart, loss_fraction, valued_equity
from .history import RATE_WINDOW, AcceptedOrder, OrderHistory
from .limits import RiskLimits
from .state import SOURCE_DAILY_LOSS, StateRecord, TradingState, strictest
from .stops import ExitSignal, StopBook
from .verdict import ACCEPT, RiskVerdict

__all__ = ["ACCEPT", "RiskGate", "RiskLimits", "RiskVerdict", "TradingState"]

# Conservative estimate of buying costs used for the cash check (commission + transfer fee).
_COST_MARGIN = Decimal("0.001")
_UNKNOWN_ACCOUNT = ""


@dataclass(frozen=True, slots=True)
class Observation:
    """What :meth:`RiskGate.observe` changed, so the caller can persist it."""

    day_started: DayStart | None = None
    highs_changed: bool = False
    state_change: tuple[StateRecord, StateRecord] | None = None  # (before, after)


def _day(now: datetime) -> date:
    return (now.astimezone(BEIJING) if now.tzinfo else now).date()


class RiskGate:
    """The gate for every account.

    Args:
        limits: the limits of an account that has none of its own.
        state: the global trading state to start with.
    """

    def __init__(
        self, limits: RiskLimits | None = None, state: TradingState = TradingState.ACTIVE
    ) -> None:
        self.limits = limits or RiskLimits()
        self.account_limits: dict[str, RiskLimits] = {}
        self.global_state = StateRecord(state)
        self.account_states: dict[str, StateRecord] = {}
        self.day_starts: dict[str, DayStart] = {}
        self.stops: dict[str, StopBook] = {}
        self._history: dict[str, OrderHistory] = {}
        self._loss_tripped: dict[str, date] = {}  # the day the daily loss limit last tripped

    # -- limits and states -----------------------------------------------------------

    @property
    def state(self) -> TradingState:
        """The global trading state."""
        return self.global_state.state

    @state.setter
    def state(self, state: TradingState) -> None:
        self.global_state = StateRecord(state)

    def limits_for(self, account_id: str) -> RiskLimits:
        return self.account_limits.get(account_id, self.limits)

    def state_for(self, account_id: str | None) -> StateRecord:
        """The state an order of ``account_id`` obeys: the stricter of global and account."""
        own = self.account_states.get(account_id) if account_id else None
        return self.global_state if own is None else strictest(self.global_state, own)

    def set_state(self, account_id: str | None, record: StateRecord) -> StateRecord:
        """Set the global (``account_id`` None) or an account's state; returns the previous."""
        if account_id is None:
            previous, self.global_state = self.global_state, record
        else:
            previous = self.account_states.get(account_id, StateRecord())
            self.account_states[account_id] = record
        return previous

    def stop_book(self, account_id: str) -> StopBook:
        book = self.stops.get(account_id)
        if book is None:
            book = self.stops[account_id] = StopBook()
        return book

    # -- what the gate watches between orders ----------------------------------------

    def observe(
        self, account_id: str, account: Account, quotes: Mapping[str, Quote], now: datetime
    ) -> Observation:
        """Take in an account's latest state: the day's starting equity, trailing highs,
        and the daily loss limit, which turns an ACTIVE account to REDUCING (once a day)."""
        today = _day(now)
        equity = valued_equity(account, quotes)
        started = None
        start = self.day_starts.get(account_id)
        if start is None or start.day != today:
            start = started = self.day_starts[account_id] = DayStart(today, equity)
        highs_changed = self.stop_book(account_id).observe(account, quotes)
        change = None
        limit = self.limits_for(account_id).daily_loss_limit
        own = self.account_states.get(account_id, StateRecord())
        if (
            limit is not None
            and own.state is TradingState.ACTIVE
            and self._loss_tripped.get(account_id) != today
            and loss_fraction(start, equity) >= limit
        ):
            self._loss_tripped[account_id] = today
            loss = start.equity - equity
            after = own.with_state(
                TradingState.REDUCING,
                reason=f"当日亏损 {cny(loss)} 元（{_pct(loss_fraction(start, equity))}%），"
                f"达到上限 {_pct(limit)}%；恢复交易请运行 aigupiao resume "
                f"(daily loss {cny(loss)} CNY is {_pct(loss_fraction(start, equity))}% of the "
                f"day's starting equity {cny(start.equity)}, at the {_pct(limit)}% limit)",
                actor="risk",
                source=SOURCE_DAILY_LOSS,
                at=now,
            )
            self.account_states[account_id] = after
            change = (own, after)
        return Observation(started, highs_changed, change)

    def exits(
        self, account_id: str, account: Account, quotes: Mapping[str, Quote], now: datetime
    ) -> list[ExitSignal]:
        """The sells the stop-loss and trailing stop call for now (continuous trading only;
        none while the account is halted). Each still has to pass :meth:`check`."""
        book = self.stop_book(account_id)
        book.observe(account, quotes)  # the trailing highs include the latest prices
        if not is_continuous(now) or self.state_for(account_id).state is TradingState.HALTED:
            return []
        return book.exits(account, quotes, self.limits_for(account_id), now)

    # -- the check ---------------------------------------------------------------------

    def check(
        self,
        *,
        side: Side,
        quantity: int,
        price: Decimal | None,
        quote: Quote | None,
        account: Account | None,
        now: datetime,
        account_id: str | None = None,
        quotes: Mapping[str, Quote] | None = None,
        client_order_id: str | None = None,
    ) -> RiskVerdict:
        """Judge one order (``price`` None = market). An accepted order is remembered for
        the order-rate and duplicate rules.

        Args:
            account_id: the account traded; default ``account.id``.
            quotes: the latest quotes, to value positions (default: just ``quote``).
            client_order_id: the caller's own order id, if any (see the duplicate rule).
        """
        account_id = account_id or (account.id if account is not None else _UNKNOWN_ACCOUNT)
        record = self.state_for(account_id)
        if not record.state.allows(side):
            scope = "global" if record is self.global_state else "account"
            if record.source == SOURCE_DAILY_LOSS and account is not None:
                seen = (
                    quotes
                    if quotes is not None
                    else ({} if quote is None else {quote.symbol.full: quote})
                )
                limits = self.limits_for(account_id)
                loss = self._daily_loss(account_id, account, seen, limits, state=record.state)
                if loss is not None:  # still past the limit: say by how much
                    return loss
            return _state_rejection(record, account_id, side, scope)
        if quote is None:
            return RiskVerdict.reject(
                "no_quote", "没有该证券的行情", "no quote for the symbol", quantity=quantity
            )
        symbol = quote.symbol
        order_type = OrderType.MARKET if price is None else OrderType.LIMIT
        phase = phase_at(now)
        try:
            check_session(order_type, phase)
            if phase is Phase.LUNCH:  # a broker would queue it until 13:00: refuse it here
                raise RuleViolation(
                    "午间休市，不接受委托（13:00 恢复交易）",
                    "the market is at its lunch break (trading resumes at 13:00)",
                    code="trading_hours",
                )
        except RuleViolation as exc:
            return RiskVerdict.from_error(
                exc, phase=phase, now=now, order_type=order_type, code=symbol.full
            )
        if account is None:
            return RiskVerdict.reject(
                "account_unknown",
                "尚未收到账户资金信息",
                "account state not yet reported by node",
                account=account_id,
            )
        limits = self.limits_for(account_id)
        position = account.position(symbol)
        available = position.available if position else 0
        prices = quotes if quotes is not None else {symbol.full: quote}
        if side is Side.BUY:
            rejection = self._daily_loss(account_id, account, prices, limits)
            if rejection is not None:
                return rejection
        today = _day(now)
        limit_prices = day_limits(quote, today)
        try:
            check_order_size(symbol, side, quantity, order_type, available)
        except RuleViolation as exc:
            rule = lot_rule(symbol)
            return RiskVerdict.from_error(
                exc,
                code=symbol.full,
                quantity=quantity,
                available=available if side is Side.SELL else None,
                lot_minimum=rule.minimum,
                lot_step=rule.step,
            )
        if price is not None:
            try:
                check_limit_price(symbol, price, limit_prices)
                if phase is Phase.CONTINUOUS:
                    check_cage(symbol, side, price, quote, today)
            except RuleViolation as exc:
                up, down = limit_prices
                return RiskVerdict.from_error(
                    exc,
                    code=symbol.full,
                    price=price,
                    tick=symbol.tick,
                    limit_up=up,
                    limit_down=down,
                    cage_bound=cage_bound(symbol, side, quote, today),
                )
        if side is Side.BUY:
            rejection = self._buy_rules(
                account_id, account, quote, prices, limits, quantity, price, limit_prices
            )
            if rejection is not None:
                return rejection
        return self._flow(account_id, symbol.full, side, quantity, client_order_id, limits, now)

    # -- rule groups -------------------------------------------------------------------

    def _daily_loss(
        self,
        account_id: str,
        account: Account,
        quotes: Mapping[str, Quote],
        limits: RiskLimits,
        state: TradingState | None = None,
    ) -> RiskVerdict | None:
        start = self.day_starts.get(account_id)
        limit = limits.daily_loss_limit
        if start is None or limit is None:
            return None
        equity = valued_equity(account, quotes)
        lost = loss_fraction(start, equity)
        if lost < limit:
            return None
        return RiskVerdict.reject(
            "daily_loss",
            f"当日亏损 {cny(start.equity - equity)} 元（{_pct(lost)}%）已达上限 {_pct(limit)}%，"
            "只允许减仓",
            f"the day's loss of {cny(start.equity - equity)} CNY ({_pct(lost)}%) is at the "
            f"{_pct(limit)}% limit: exits only",
            start_equity=cny(start.equity),
            equity=cny(equity),
            loss_pct=_pct(lost),
            daily_loss_limit=limit,
            state=state,
        )

    def _buy_rules(
        self,
        account_id: str,
        account: Account,
        quote: Quote,
        quotes: Mapping[str, Quote],
        limits: RiskLimits,
        quantity: int,
        price: Decimal | None,
        limit_prices: Limits,
    ) -> RiskVerdict | None:
        symbol = quote.symbol
        position = account.position(symbol)
        held = position is not None and position.total > 0
        if position is not None and held:
            breach = self.stop_book(account_id).breach(position, quote, limits)
            if breach is not None:
                return RiskVerdict.reject(
                    breach.rule,
                    f"{breach.zh}，不再买入",
                    f"{breach.en}: no buying more of it",
                    **breach.values,
                )
        count = sum(1 for p in account.positions if p.total > 0)
        if not held and limits.max_positions is not None and count >= limits.max_positions:
            return RiskVerdict.reject(
                "max_positions",
                f"已持有 {count} 只证券，达到上限 {limits.max_positions}，"
                f"不能买入新的 {symbol.full}",
                f"{count} symbols held, the limit is {limits.max_positions}: "
                f"no new position in {symbol.full}",
                positions=count,
                max_positions=limits.max_positions,
            )
        order_type = OrderType.MARKET if price is None else OrderType.LIMIT
        worst = worst_price(Side.BUY, order_type, price, quote, limit_prices)
        needed = cny(worst * quantity * (1 + _COST_MARGIN))
        if needed > account.cash:
            return RiskVerdict.reject(
                "cash",
                f"可用资金 {account.cash} 不足 {needed}",
                f"cash {account.cash} below the {needed} needed",
                cash=account.cash,
                needed=needed,
                worst_price=worst,
            )
        reference = price if price is not None else quote.last
        value = position.market_value if position is not None else Decimal(0)
        after = value + reference * quantity
        equity = valued_equity(account, quotes)
        cap = equity * limits.max_position_size
        if after > cap:
            return RiskVerdict.reject(
                "max_position_size",
                f"持仓将达 {after:.2f}，超过单票上限 {cap:.2f}"
                f"（权益的 {_pct(limits.max_position_size)}%）",
                f"position would be {after:.2f}, above the cap {cap:.2f} "
                f"({_pct(limits.max_position_size)}% of equity {cny(equity)})",
                position_value=cny(after),
                cap=cny(cap),
                equity=cny(equity),
                max_position_size=limits.max_position_size,
            )
        return None

    def _flow(
        self,
        account_id: str,
        code: str,
        side: Side,
        quantity: int,
        client_order_id: str | None,
        limits: RiskLimits,
        now: datetime,
    ) -> RiskVerdict:
        """Order rate and duplicates; an order that passes them is remembered."""
        history = self._history.get(account_id)
        if history is None:
            history = self._history[account_id] = OrderHistory()
        window = max(RATE_WINDOW.total_seconds(), limits.duplicate_window)
        history.forget_before(now - _seconds(window))
        rate = limits.max_orders_per_minute
        if rate is not None:
            recent = history.count_since(now - RATE_WINDOW)
            if recent >= rate:
                return RiskVerdict.reject(
                    "order_rate",
                    f"最近一分钟已有 {recent} 笔委托，达到上限 {rate} 笔/分钟",
                    f"{recent} orders in the last minute, the limit is {rate} per minute",
                    orders_last_minute=recent,
                    max_orders_per_minute=rate,
                )
        if limits.duplicate_window > 0:
            since = now - _seconds(limits.duplicate_window)
            previous = history.duplicate_of(code, side, quantity, client_order_id, since)
            if previous is not None:
                ago = round((now - previous.at).total_seconds(), 1)
                return RiskVerdict.reject(
                    "duplicate",
                    f"{ago} 秒前已有相同委托（{code} {side.value} {quantity} 股），"
                    f"{limits.duplicate_window} 秒内不重复下单",
                    f"the same order ({code} {side.value} {quantity}) was accepted {ago} s ago; "
                    f"duplicates within {limits.duplicate_window} s are refused",
                    seconds_ago=ago,
                    duplicate_window=limits.duplicate_window,
                    previous_at=previous.at,
                )
        history.add(AcceptedOrder(now, code, side, quantity, client_order_id))
        return ACCEPT


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def _pct(fraction: Decimal) -> Decimal:
    return (fraction * 100).quantize(Decimal("0.01"))


def _state_rejection(record: StateRecord, account_id: str, side: Side, scope: str) -> RiskVerdict:
    halted = record.state is TradingState.HALTED
    rule = "daily_loss" if record.source == SOURCE_DAILY_LOSS else "trading_state"
    why_zh = f"：{record.reason}" if record.reason else ""
    why_en = f": {record.reason}" if record.reason else ""
    if halted:
        zh, en = f"交易已暂停{why_zh}", f"trading is halted{why_en}"
    else:
        zh = f"仅允许减仓，不接受买入{why_zh}"
        en = f"reducing: exits only, no buys{why_en}"
    return RiskVerdict.reject(
        rule,
        zh,
        en,
        state=record.state,
        scope=scope,
        account=account_id or None,
        side=side,
        reason=record.reason,
        actor=record.actor,
        source=record.source,
        changed_at=record.changed_at,
    )
