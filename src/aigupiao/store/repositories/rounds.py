"""The agent's evaluation rounds, and the reads the live-versus-backtest replay makes.

:class:`AgentRoundRepo` appends the rounds the agent records (``agent_rounds``, migration
0009) and deletes them by age. :class:`ReplayRepo` reads one account's day: its rounds,
decisions, the commands, orders and fills behind them, and the quotes and bars stored.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select

from ..models import (
    AccountRow,
    AgentRoundRow,
    AuditRow,
    BarRow,
    CommandRow,
    DecisionRow,
    NodeRow,
    NodeTokenRow,
    OrderRow,
    RawQuoteRow,
    TradeRow,
)
from ._base import Repository, table

_rounds = table(AgentRoundRow)
_decisions = table(DecisionRow)
_commands = table(CommandRow)
_orders = table(OrderRow)
_trades = table(TradeRow)
_raw = table(RawQuoteRow)
_bars = table(BarRow)
_audit = table(AuditRow)
_accounts = table(AccountRow)
_nodes = table(NodeRow)
_tokens = table(NodeTokenRow)
Rows = list[dict[str, Any]]
_IN_CHUNK = 500  # ids per IN (...) list


class AgentRoundRepo(Repository):
    """``agent_rounds``: appended in batches by the agent, deleted by age."""

    async def add_many(self, rounds: Sequence[dict[str, Any]]) -> int:
        """Append rounds (``ts``, ``wall_at``, ``trigger``, ``accounts``); returns the count."""
        if rounds:
            await self._session.execute(_rounds.insert(), list(rounds))
        return len(rounds)

    async def delete_before(self, cutoff: datetime) -> int:
        """Delete the rounds with ``ts < cutoff``; returns how many went."""
        return await self._execute_count(delete(_rounds).where(_rounds.c.ts < cutoff))

    async def between(self, start: datetime, end: datetime) -> Rows:
        """Rounds with ``start <= ts < end``, in the order they ran."""
        c = _rounds.c
        return await self._all(
            select(_rounds).where(c.ts >= start, c.ts < end).order_by(c.ts, c.id)
        )

    async def run_began(self, run: str) -> datetime | None:
        """When the agent's run ``run`` recorded its first round (still kept)."""
        c = _rounds.c
        found: datetime | None = await self._session.scalar(
            select(func.min(c.ts)).where(c.run == run)
        )
        return found


class ReplayRepo(Repository):
    """What the replay reads of one account and one day (read only)."""

    async def known_account(self, account: str) -> bool:
        """Whether the account has a node, funds or decisions stored."""
        for column in (
            _accounts.c.id,
            _tokens.c.account,
            _nodes.c.account,
            _decisions.c.account,
        ):
            found = await self._session.scalar(select(column).where(column == account).limit(1))
            if found is not None:
                return True
        return False

    async def trades_since(self, account: str, start: datetime) -> Rows:
        c = _trades.c
        return await self._all(
            select(_trades).where(c.account == account, c.ts >= start).order_by(c.ts, c.id)
        )

    async def decisions(self, account: str, start: datetime, end: datetime) -> Rows:
        """The account's decisions with ``start <= ts < end``, in the order stored."""
        c = _decisions.c
        return await self._all(
            select(_decisions)
            .where(c.account == account, c.ts >= start, c.ts < end)
            .order_by(c.ts, c.id)
        )

    async def commands(self, ids: Collection[str]) -> Rows:
        return await self._by_ids(_commands, _commands.c.id, ids)

    async def orders(self, account: str, command_ids: Collection[str]) -> Rows:
        c = _orders.c
        rows: Rows = []
        for chunk in _chunks(command_ids):
            rows += await self._all(
                select(_orders).where(c.account == account, c.command_id.in_(chunk))
            )
        return rows

    async def trades(self, account: str, order_ids: Collection[str]) -> Rows:
        c = _trades.c
        rows: Rows = []
        for chunk in _chunks(order_ids):
            rows += await self._all(
                select(_trades)
                .where(c.account == account, c.order_id.in_(chunk))
                .order_by(c.ts, c.id)
            )
        return rows

    async def raw_page(
        self,
        start: datetime,
        end: datetime,
        *,
        after: tuple[datetime, int] | None,
        by_arrival: bool,
        limit: int,
    ) -> Rows:
        """Raw snapshots with ``start <= ts < end``, the next ``limit`` after ``after`` in
        the order they arrived (``received_at``, id) or by their time (``ts``, id)."""
        c = _raw.c
        key = c.received_at if by_arrival else c.ts
        statement = select(_raw).where(c.ts >= start, c.ts < end)
        if after is not None:
            statement = statement.where(or_(key > after[0], and_(key == after[0], c.id > after[1])))
        return await self._all(statement.order_by(key, c.id).limit(limit))

    async def last_raw(self, start: datetime, end: datetime) -> Rows:
        """The last snapshot received of each symbol with ``start <= ts < end``."""
        c = _raw.c
        last = select(func.max(c.id)).where(c.ts >= start, c.ts < end).group_by(c.symbol)
        return await self._all(select(_raw).where(c.id.in_(last.scalar_subquery())))

    async def has_raw(self, start: datetime, end: datetime) -> bool:
        c = _raw.c
        found = await self._session.scalar(select(c.id).where(c.ts >= start, c.ts < end).limit(1))
        return found is not None

    async def bar_page(
        self, start: datetime, end: datetime, *, after: tuple[datetime, str] | None, limit: int
    ) -> Rows:
        """1-minute bars ending in ``(start, end]``, the next ``limit`` after ``after`` by
        (end, symbol)."""
        c = _bars.c
        statement = select(_bars).where(c.freq == "1m", c.end > start, c.end <= end)
        if after is not None:
            statement = statement.where(
                or_(c.end > after[0], and_(c.end == after[0], c.symbol > after[1]))
            )
        return await self._all(statement.order_by(c.end, c.symbol).limit(limit))

    async def bar_ends(self, start: datetime, end: datetime) -> list[datetime]:
        """The distinct ends of the 1-minute bars in ``(start, end]``, in order."""
        c = _bars.c
        rows = await self._all(
            select(c.end).where(c.freq == "1m", c.end > start, c.end <= end)
            .distinct().order_by(c.end)
        )  # fmt: skip
        return [row["end"] for row in rows]

    async def daily_bars(self, start: datetime, end: datetime) -> Rows:
        """Daily bars ending in ``[start, end)``, by symbol, oldest first."""
        c = _bars.c
        return await self._all(
            select(_bars)
            .where(c.freq == "1d", c.end >= start, c.end < end)
            .order_by(c.symbol, c.end)
        )

    async def audit(self, actions: Collection[str], until: datetime) -> Rows:
        """Audit entries of ``actions`` up to ``until``, oldest first."""
        c = _audit.c
        return await self._all(
            select(_audit).where(c.action.in_(list(actions)), c.ts <= until).order_by(c.ts, c.id)
        )

    async def _by_ids(self, model: Any, column: Any, ids: Collection[str]) -> Rows:
        rows: Rows = []
        for chunk in _chunks(ids):
            rows += await self._all(select(model).where(column.in_(chunk)))
        return rows


def _chunks(values: Collection[str]) -> list[list[str]]:
    items = sorted(set(values))
    return [items[i : i + _IN_CHUNK] for i in range(0, len(items), _IN_CHUNK)]
