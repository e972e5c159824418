"""The replay's broker and account: a broker that always answers, on the live account.

:class:`AccountBook` changes a live account snapshot by fills (the replay's own orders
added, the live orders it did not place taken out); :class:`ReplayOrder` is an order of
the replay's own, filled at :func:`fill_price` (the quote of a moment) with the paper
broker's fees (:data:`FEES`); :func:`open_at` says whether a live command was an open
order at a round, as the pipeline counts them; :func:`gate_for` builds the risk gate with
the stored limits over the config's, as the risk service does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from aigupiao.brokers.paper.fees import FeeSchedule
from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.risk import PendingOrder, RiskGate, RiskLimits
from aigupiao.risk.daily import DayStart

from .replay_facts import DayFacts, LiveCommand, Round

FEES = FeeSchedule()
_ORDER_FINAL = {"filled", "cancelled", "rejected", "expired"}


@dataclass(slots=True)
class ReplayOrder:
    """An order the replay placed that live did not (or that live's broker did not fill)."""

    symbol: Symbol
    side: Side
    quantity: int
    price: Decimal | None
    placed: datetime
    filled_at: datetime | None = None
    fill_price: Decimal | None = None
    fees: Decimal = Decimal(0)


class AccountBook:
    """An account snapshot being changed by fills (negative ones take a fill out)."""

    def __init__(self, base: Account) -> None:
        self.base = base
        self.cash = base.cash
        self.positions: dict[str, list[Any]] = {
            p.symbol.full: [p.symbol, p.total, p.available, p.cost_price, p.last_price]
            for p in base.positions
        }
        self.changed = False

    def fill(
        self,
        code: str,
        side: str,
        quantity: int,
        amount: Decimal,
        fees: Decimal,
        quotes: Mapping[str, Quote],
    ) -> None:
        self.changed = True
        held = self.positions.get(code)
        if held is None:
            quote = quotes.get(code)
            symbol = quote.symbol if quote is not None else parse_symbol(code)
            last = quote.last if quote is not None else None
            held = self.positions[code] = [symbol, 0, 0, Decimal(0), last]
        if side == Side.BUY.value:
            total = held[1] + quantity
            if quantity > 0 and total > 0:
                held[3] = (held[3] * held[1] + amount + fees) / total
            held[1] = total
            self.cash -= amount + fees
        else:
            held[1] -= quantity
            held[2] -= quantity
            self.cash += amount - fees

    def account(self) -> Account:
        positions = tuple(
            Position(symbol, total, max(0, min(available, total)), cost, last)
            for symbol, total, available, cost, last in self.positions.values()
            if total > 0
        )
        return replace(self.base, cash=self.cash, positions=positions)


def gate_for(facts: DayFacts, defaults: RiskLimits) -> RiskGate:
    """A gate with the stored limits over the config's (as the risk service builds it)."""
    stored = facts.risk_limits if isinstance(facts.risk_limits, dict) else {}
    limits, problems = defaults.updated(dict(stored.get("default") or {}))
    if problems:
        limits = defaults
    gate = RiskGate(limits)
    for account_id, changes in (stored.get("accounts") or {}).items():
        own, problems = limits.updated(dict(changes))
        if not problems:
            gate.account_limits[account_id] = own
    # The day's starting equity (daily loss) is stored for the latest day only: when that
    # is the day replayed, the live gate started from it, whenever the cloud started.
    starts = facts.day_starts if isinstance(facts.day_starts, dict) else {}
    start = starts.get(facts.account)
    if isinstance(start, dict) and start.get("day") == facts.day.isoformat():
        with contextlib.suppress(KeyError, ArithmeticError, ValueError):
            gate.day_starts[facts.account] = DayStart(facts.day, Decimal(str(start["equity"])))
    return gate


def reflected(command: LiveCommand, fill_ts: datetime, moment: Round) -> bool:
    """Whether the live snapshot of ``moment`` already had this fill."""
    if fill_ts > moment.ts or moment.wall_at is None:
        return False
    return command.finished_at is not None and command.finished_at <= moment.wall_at


def open_at(command: LiveCommand, moment: Round, decided: datetime | None) -> PendingOrder | None:
    """The live command's order as an open order at ``moment`` (None when not open)."""
    side = Side(command.side)
    wall = moment.wall_at
    if wall is not None:
        if command.issued_at > wall:
            return None
        answered = command.finished_at is not None and command.finished_at <= wall
        if not answered or command.status == "unknown":
            return PendingOrder(command.code, side, command.quantity, command.price,
                                source=f"command:{command.id}")  # fmt: skip
    elif decided is None or decided >= moment.ts:
        return None
    if command.status != "done" or command.order_status is None:
        return None
    if command.order_status in _ORDER_FINAL and (
        command.order_updated_at is None or command.order_updated_at <= moment.ts
    ):
        return None
    left = command.quantity - sum(f.quantity for f in command.fills if f.ts <= moment.ts)
    if left <= 0:
        return None
    return PendingOrder(command.code, side, left, command.price, frozen=True,
                        source=f"command:{command.id}")  # fmt: skip


def fill_price(order: ReplayOrder, quote: Quote) -> Decimal | None:
    """The replay broker's price: the best opposite price (else last), within the limit."""
    if order.side is Side.BUY:
        best = quote.asks[0].price if quote.asks and quote.asks[0].price > 0 else quote.last
        if order.price is not None and best > order.price:
            return None
    else:
        best = quote.bids[0].price if quote.bids and quote.bids[0].price > 0 else quote.last
        if order.price is not None and best < order.price:
            return None
    return best
