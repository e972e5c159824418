"""The daily loss: equity now against the equity the account started the day with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from aigupiao.domain.account import Account
from aigupiao.domain.market import Quote


@dataclass(frozen=True, slots=True)
class DayStart:
    """The equity of an account when the gate first saw it on ``day``."""

    day: date
    equity: Decimal


def valued_equity(account: Account, quotes: Mapping[str, Quote]) -> Decimal:
    """Cash plus positions at the latest quotes (the node's last price, else cost, without one).

    Realised and unrealised gains and losses both show in it: sales move value into cash.
    """
    value = account.cash + account.frozen_cash
    for position in account.positions:
        quote = quotes.get(position.symbol.full)
        if quote is not None and quote.last > 0:
            price = quote.last
        elif position.last_price is not None:
            price = position.last_price
        else:
            price = position.cost_price
        value += price * position.total
    return value


def loss_fraction(start: DayStart, equity: Decimal) -> Decimal:
    """How much of the starting equity is lost (negative for a gain)."""
    if start.equity <= 0:
        return Decimal(0)
    return (start.equity - equity) / start.equity
