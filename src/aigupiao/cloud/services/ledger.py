"""What the cloud knows of each account: the node's latest report, and running counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aigupiao.domain.account import Account


class Ledger:
    """The latest account snapshot per account, as reported by its node, and when it came."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._received: dict[str, datetime] = {}

    def update(self, account: Account) -> Account:
        """Keep ``account`` as its latest snapshot. The caller has checked that the node
        reporting it is bound to this account (the risk gate sizes orders from it), and
        has stored the orders that came with it."""
        self._accounts[account.id] = account
        self._received[account.id] = datetime.now(UTC)
        return account

    def get(self, account_id: str) -> Account | None:
        return self._accounts.get(account_id)

    def received_at(self, account_id: str) -> datetime | None:
        """When the latest snapshot arrived (wall clock, UTC): it knows of the orders
        whose reports were stored before then (see :mod:`aigupiao.risk.pending`)."""
        return self._received.get(account_id)

    def accounts(self) -> list[Account]:
        """Every account's latest snapshot."""
        return list(self._accounts.values())


@dataclass
class Stats:
    """Counters behind the live summary line of ``aigupiao up`` and ``/api/health``."""

    quotes: int = 0
    decisions: int = 0
    decisions_accepted: int = 0
    orders: int = 0
    fills: int = 0
    responses: int = 0
    # Messages from a node about another node's commands or another account, refused
    # (``not_yours``): each one is an attack or a badly misconfigured node.
    refused_not_yours: int = 0
