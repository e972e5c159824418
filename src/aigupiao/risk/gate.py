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

Open orders (:mod:`.pending`), when the caller passes them: open buys count toward
their symbol's position value and the number of symbols held; the cash and shares of
open orders the account snapshot does not know of yet are taken from its available
cash and available quantity. An accepted order is added to them.
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
from .pending import OpenOrders, PendingOrder
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
        self,
        account_id: str,
        account: Account,
        quotes: Mapping[str, Quote],
        now: datetime,
        pending: OpenOrders | None = None,
    ) -> list[ExitSignal]:
        """The sells the stop-loss and trailing stop call for now (continuous trading only;
        none while the account is halted), of the shares no open sell holds yet. Each
        still has to pass :meth:`check`."""
        book = self.stop_book(account_id)
        book.observe(account, quotes)  # the trailing highs include the latest prices
        if not is_continuous(now) or self.state_for(account_id).state is TradingState.HALTED:
            return []
        held = None if pending is None else pending.unfrozen_sells
        return book.exits(account, quotes, self.limits_for(account_id), now, held=held)

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
        pending: OpenOrders | None = None,
    ) -> RiskVerdict:
        """Judge one order (``price`` None = market). An accepted order is remembered for
        the order-rate and duplicate rules, and added to ``pending``.

        Args:
            account_id: the account traded; default ``account.id``.
            quotes: the latest quotes, to value positions (default: just ``quote``).
            client_order_id: the caller's own order id, if any (see the duplicate rule).
            pending: the account's open orders (see the module docstring); None: none.
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
        phase = phase_at(now, symbol.exchange)  # SSE had no closing auction before 2018
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
        held_by_sells = 0 if pending is None else pending.unfrozen_sells(symbol.full)
        if side is Side.SELL and held_by_sells:
            available = max(0, available - held_by_sells)
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
            if side is Side.SELL and held_by_sells:
                exc = _held_by_sells(exc, symbol.full, available, held_by_sells)
            return RiskVerdict.from_error(
                exc,
                code=symbol.full,
                quantity=quantity,
                available=available if side is Side.SELL else None,
                lot_minimum=rule.minimum,
                lot_step=rule.step,
                **(
                    {"open_sell_quantity": held_by_sells}
                    if side is Side.SELL and held_by_sells
                    else {}
                ),
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
                account_id, account, quote, prices, limits, quantity, price, limit_prices,
                pending=pending, today=today,
            )  # fmt: skip
            if rejection is not None:
                return rejection
        verdict = self._flow(account_id, symbol.full, side, quantity, client_order_id, limits, now)
        if verdict.accepted and pending is not None:
            pending.add(PendingOrder(symbol.full, side, quantity, price, source="accepted"))
        return verdict

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
        *,
        pending: OpenOrders | None,
        today: date,
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
        holding = {p.symbol.full for p in account.positions if p.total > 0}
        buying = set() if pending is None else pending.buy_codes() - holding
        count = len(holding) + len(buying)
        new = symbol.full not in holding and symbol.full not in buying
        if new and limits.max_positions is not None and count >= limits.max_positions:
            zh_open = f"（其中 {len(buying)} 只是尚未成交的买入）" if buying else ""
            en_open = f" ({len(buying)} of them by buys not filled yet)" if buying else ""
            return RiskVerdict.reject(
                "max_positions",
                f"已持有 {count} 只证券{zh_open}，达到上限 {limits.max_positions}，"
                f"不能买入新的 {symbol.full}",
                f"{count} symbols held{en_open}, the limit is {limits.max_positions}: "
                f"no new position in {symbol.full}",
                positions=count,
                max_positions=limits.max_positions,
                **({"open_buy_symbols": len(buying)} if buying else {}),
            )
        order_type = OrderType.MARKET if price is None else OrderType.LIMIT
        worst = worst_price(Side.BUY, order_type, price, quote, limit_prices)
        needed = cny(worst * quantity * (1 + _COST_MARGIN))
        reserved = Decimal(0) if pending is None else _reserved(pending, quotes, today)
        cash = account.cash - reserved
        if needed > cash:
            if reserved:
                zh = (
                    f"可用资金 {account.cash} 扣除未成交买单占用的 {reserved} 后为 {cash}，"
                    f"不足 {needed}"
                )
                en = (
                    f"cash {account.cash} less the {reserved} held by buys not filled yet is "
                    f"{cash}, below the {needed} needed"
                )
            else:
                zh = f"可用资金 {account.cash} 不足 {needed}"
                en = f"cash {account.cash} below the {needed} needed"
            return RiskVerdict.reject(
                "cash",
                zh,
                en,
                cash=account.cash,
                needed=needed,
                worst_price=worst,
                **({"open_buy_cash": reserved} if reserved else {}),
            )
        reference = price if price is not None else quote.last
        value = position.market_value if position is not None else Decimal(0)
        open_value = Decimal(0) if pending is None else _open_buy_value(pending, symbol.full, quote)
        after = value + open_value + reference * quantity
        equity = valued_equity(account, quotes)
        cap = equity * limits.max_position_size
        if after > cap:
            zh_open = f"（含尚未成交的买入 {open_value:.2f}）" if open_value else ""
            en_open = f" (with {open_value:.2f} of buys not filled yet)" if open_value else ""
            return RiskVerdict.reject(
                "max_position_size",
                f"持仓将达 {after:.2f}{zh_open}，超过单票上限 {cap:.2f}"
                f"（权益的 {_pct(limits.max_position_size)}%）",
                f"position would be {after:.2f}{en_open}, above the cap {cap:.2f} "
                f"({_pct(limits.max_position_size)}% of equity {cny(equity)})",
                position_value=cny(after),
                cap=cny(cap),
                equity=cny(equity),
                max_position_size=limits.max_position_size,
                **({"open_buy_value": cny(open_value)} if open_value else {}),
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


def _open_buy_value(pending: OpenOrders, code: str, quote: Quote) -> Decimal:
    """What the open buys of ``code`` add to its position: the limit price, or the last
    price for a market order, times the shares not filled yet."""
    return sum(
        (
            (order.price if order.price is not None else quote.last) * order.quantity
            for order in pending.of(code)
            if order.side is Side.BUY
        ),
        Decimal(0),
    )


def _reserved(pending: OpenOrders, quotes: Mapping[str, Quote], today: date) -> Decimal:
    """The cash open buys hold that the snapshot still shows available: each at the price a
    broker freezes (the limit price, or limit up for a market order), with costs."""
    total = Decimal(0)
    for order in pending.unfrozen_buys():
        if order.price is not None:
            worst = order.price
        else:
            quote = quotes.get(order.code)
            if quote is None:  # never judged without one; nothing to value it at
                continue
            order_type = OrderType.MARKET
            worst = worst_price(Side.BUY, order_type, None, quote, day_limits(quote, today))
        total += worst * order.quantity * (1 + _COST_MARGIN)
    return cny(total)


def _held_by_sells(error: RuleViolation, code: str, available: int, held: int) -> RuleViolation:
    """The exchange rule's refusal, saying that open sells hold part of the position."""
    if error.code != "available":
        return error
    return RuleViolation(
        f"{code} 可卖 {available} 股（另有 {held} 股已挂在未成交的卖单上），不足本次卖出数量",
        f"{code} has {available} shares available ({held} more are held by sells not filled "
        "yet), fewer than this sell",
        code="available",
    )


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
