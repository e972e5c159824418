"""Agent decisions and the commands sent to local nodes."""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update

from aigupiao.domain.decisions import (
    COMMAND_TRANSITIONS,
    Command,
    CommandStatus,
    CommandType,
    Decision,
    next_command_status,
)

from ..errors import DuplicateClientOrderId, NotFound, NotYours
from ..models import CommandRow, DecisionRow, OrderEventRow, OrderRow, TradeRow
from ._base import Repository, table, text_value

_commands = table(CommandRow)

# For each trigger: the one status it leads to, and the statuses it may start from.
_TARGETS: dict[str, CommandStatus] = {}
_SOURCES: dict[str, list[str]] = {}
for (_source, _trigger), _target in COMMAND_TRANSITIONS.items():
    if _TARGETS.setdefault(_trigger, _target) is not _target:
        raise AssertionError(f"trigger {_trigger} has more than one target")
    _SOURCES.setdefault(_trigger, []).append(_source.value)
_decisions = table(DecisionRow)
Rows = list[dict[str, Any]]  # (``list`` is a method name inside the repositories)
_orders = table(OrderRow)
_order_events = table(OrderEventRow)
_trades = table(TradeRow)
_INSERT_DECISION = _decisions.insert()

# Commands a node should (still) receive after it reconnects. ``unknown`` is left
# out on purpose: the node resolves it with its broker and never re-executes it.
RESENDABLE = (CommandStatus.PENDING, CommandStatus.SENT, CommandStatus.ACKED)
# Trade commands whose order the broker may hold without the cloud having seen it.
IN_FLIGHT = (*RESENDABLE, CommandStatus.UNKNOWN)


@functools.cache
def _guarded_update(trigger: str, columns: tuple[str, ...], owned: bool) -> Any:
    """UPDATE the ``columns`` of one command if its status is one ``trigger`` may leave
    (and, if ``owned``, if it was sent to node ``node_id`` for account ``account``).

    Parameters: ``command_id`` and ``new_<column>`` for each column. ``acked_at`` is
    only set when still empty (the first ack counts); a trigger leading to ``sent``
    also counts one more delivery in ``attempts``.
    """
    c = _commands.c
    values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in columns}
    if "acked_at" in columns:
        values["acked_at"] = func.coalesce(
            c.acked_at, bindparam("new_acked_at", type_=c.acked_at.type)
        )
    if _TARGETS[trigger] is CommandStatus.SENT:
        values["attempts"] = c.attempts + 1
    statement = update(_commands).where(
        c.id == bindparam("command_id"), c.status.in_(_SOURCES[trigger])
    )
    if owned:
        statement = statement.where(
            c.node_id == bindparam("owner_node"), c.account == bindparam("owner_account")
        )
    return statement.values(values).returning(*_commands.c)


class CommandRepo(Repository):
    async def create(
        self,
        command: Command,
        *,
        account: str,
        client_order_id: str | None = None,
        decision_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a new command (``pending``, or ``sent`` when stored just before sending;
        ``sent_at`` is then ``issued_at`` and ``attempts`` 1) and return the stored row.

        Raises:
            DuplicateClientOrderId: ``client_order_id`` is already used; the error's
                ``command_id`` names the existing command. Nothing is written and the
                transaction stays usable.
        """
        status = CommandStatus(command.status)
        # ON CONFLICT instead of catching IntegrityError: on PostgreSQL a failed INSERT
        # would abort the caller's whole transaction. (NULLs never conflict.)
        statement = self._prepared(
            "commands.create",
            lambda: (
                self._insert(_commands)
                .on_conflict_do_nothing(index_elements=["client_order_id"])
                .returning(*_commands.c)
            ),
        )
        values = {
            "id": command.id,
            "type": text_value(command.type),
            "node_id": command.node_id,
            "account": account,
            "status": status.value,
            "data": command.data,
            "result": command.result,
            "client_order_id": client_order_id,
            "decision_id": decision_id,
            "issued_at": command.issued_at,
            "expires_at": command.expires_at,
            "sent_at": command.issued_at if status is CommandStatus.SENT else None,
            "attempts": 1 if status is CommandStatus.SENT else 0,
            "updated_at": command.issued_at,
        }
        row = await self._one(statement, values)
        if row is None:
            existing = await self.by_client_order_id(client_order_id or "")
            raise DuplicateClientOrderId(client_order_id or "", existing["id"] if existing else "?")
        return row

    async def get(self, command_id: str) -> dict[str, Any] | None:
        return await self._one(select(_commands).where(_commands.c.id == command_id))

    async def by_client_order_id(self, client_order_id: str) -> dict[str, Any] | None:
        return await self._one(
            select(_commands).where(_commands.c.client_order_id == client_order_id)
        )

    async def pending_for_node(self, node_id: str) -> list[dict[str, Any]]:
        """The node's unfinished commands to re-send after a reconnect, oldest first."""
        c = _commands.c
        return await self._all(
            select(_commands)
            .where(c.node_id == node_id, c.status.in_([s.value for s in RESENDABLE]))
            .order_by(c.issued_at, c.id)
        )

    async def trades_in_flight(self, account: str, since: datetime) -> Rows:
        """The account's trade commands issued since ``since`` that have no answer yet
        (pending, sent, acked) or an ``unknown`` one: orders the broker may hold that the
        cloud has not seen. Oldest first."""
        c = _commands.c

        def build() -> Any:
            return (
                select(_commands)
                .where(
                    c.account == bindparam("account"),
                    c.type == CommandType.TRADE.value,
                    c.status.in_([s.value for s in IN_FLIGHT]),
                    c.issued_at >= bindparam("since", type_=c.issued_at.type),
                )
                .order_by(c.issued_at, c.id)
            )

        statement = self._prepared("commands.trades_in_flight", build)  # on every order's path
        result = await self._session.execute(statement, {"account": account, "since": since})
        return [dict(row) for row in result.mappings()]

    async def list(
        self, *, limit: int = 100, status: str | None = None, node_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Commands, newest first."""
        c = _commands.c
        statement = select(_commands).order_by(c.issued_at.desc(), c.id.desc()).limit(limit)
        if status is not None:
            statement = statement.where(c.status == text_value(status))
        if node_id is not None:
            statement = statement.where(c.node_id == node_id)
        return await self._all(statement)

    async def transition(
        self, command_id: str, trigger: str, *, result: dict[str, Any] | None = None, at: datetime
    ) -> str:
        """Like :meth:`advance`, returning only the new status."""
        row = await self.advance(command_id, trigger, result=result, at=at)
        return str(row["status"])

    async def advance(
        self,
        command_id: str,
        trigger: str,
        *,
        result: dict[str, Any] | None = None,
        at: datetime,
        acked_at: datetime | None = None,
        owner: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """Move a command along its lifecycle and return the new status.

        ``trigger`` is ``send``, ``ack``, ``expire``, ``fail`` or an outcome
        (``done``, ``rejected``, ``failed``, ``expired``, ``unknown``). Sets
        ``sent_at`` and counts one more in ``attempts`` on every send, ``acked_at`` on
        the first ack, ``finished_at`` on a final status, and ``result`` when given.
        ``acked_at`` records an ack that was seen but not yet written (the answer
        overtook it). ``owner`` is the ``(node id, account)`` a node's answer comes from:
        only a command sent to that node for that account moves. Returns the updated row.

        Raises:
            NotFound: no command with this id.
            NotYours: the command was sent to another node or for another account;
                nothing is written.
            IllegalTransition: the lifecycle forbids ``trigger`` now; nothing is written.
        """
        c = _commands.c
        target = _TARGETS.get(trigger)
        if target is not None:
            # One statement: move only from a state the lifecycle allows for this trigger.
            changes: dict[str, Any] = {"status": target.value, "updated_at": at}
            if target is CommandStatus.SENT:
                changes["sent_at"] = at
            acked = at if target is CommandStatus.ACKED else acked_at
            if acked is not None:
                changes["acked_at"] = acked
            if target.is_final:
                changes["finished_at"] = at
            if result is not None:
                changes["result"] = result
            parameters = {"command_id": command_id, **{f"new_{k}": v for k, v in changes.items()}}
            if owner is not None:
                parameters["owner_node"], parameters["owner_account"] = owner
            updated = await self._one(
                _guarded_update(trigger, tuple(changes), owner is not None), parameters
            )
            if updated is not None:
                return updated
        # Not allowed now (or an unknown trigger): find out why, and say so.
        # FOR UPDATE serializes concurrent transitions on PostgreSQL; SQLite
        # already holds the write lock (BEGIN IMMEDIATE).
        row = (
            await self._session.execute(
                select(c.status, c.acked_at, c.node_id, c.account)
                .where(c.id == command_id)
                .with_for_update()
            )
        ).first()
        if row is None:
            raise NotFound("指令/command", command_id)
        if owner is not None and (row.node_id, row.account) != owner:
            raise NotYours(command_id)
        status = next_command_status(CommandStatus(row.status), trigger)
        changes = {"status": status.value, "updated_at": at}
        if status is CommandStatus.SENT:
            changes["sent_at"] = at
            changes["attempts"] = c.attempts + 1
        elif status is CommandStatus.ACKED and row.acked_at is None:
            changes["acked_at"] = at
        if acked_at is not None and row.acked_at is None:
            changes["acked_at"] = acked_at
        if status.is_final:
            changes["finished_at"] = at
        if result is not None:
            changes["result"] = result
        updated = await self._one(
            update(_commands).where(c.id == command_id).values(changes).returning(*_commands.c)
        )
        assert updated is not None  # the row was locked above
        return updated


class DecisionRepo(Repository):
    async def add(self, decision: Decision) -> None:
        await self._session.execute(
            _INSERT_DECISION,  # built once: a manual order stores one on its way out
            {
                "id": decision.id,
                "ts": decision.ts,
                "strategy": decision.strategy,
                "account": decision.account,
                "symbol": text_value(decision.symbol),
                "side": text_value(decision.side),
                "quantity": decision.quantity,
                "price": decision.price,
                "reason": decision.reason,
                "inputs": decision.inputs,
                "verdict": text_value(decision.verdict),
                "rule": decision.rule,
                "risk_message": decision.risk_message,
                "command_id": decision.command_id,
            },
        )

    async def set_command(self, decision_id: str, command_id: str) -> None:
        """Link an accepted decision to the command it became."""
        await self._session.execute(
            update(_decisions).where(_decisions.c.id == decision_id).values(command_id=command_id)
        )

    async def list(
        self,
        *,
        limit: int = 200,
        verdict: str | None = None,
        symbol: str | None = None,
        account: str | None = None,
        strategy: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Decisions, newest first; ``since <= ts < until``. ``before_id`` pages on: only
        decisions older than that one (in the same order), none if it is unknown."""
        c = _decisions.c
        statement = select(_decisions).order_by(c.ts.desc(), c.id.desc()).limit(limit)
        if verdict is not None:
            statement = statement.where(c.verdict == text_value(verdict))
        if symbol is not None:
            statement = statement.where(c.symbol == text_value(symbol))
        if account is not None:
            statement = statement.where(c.account == account)
        if strategy is not None:
            statement = statement.where(c.strategy == strategy)
        if since is not None:
            statement = statement.where(c.ts >= since)
        if until is not None:
            statement = statement.where(c.ts < until)
        if before_id is not None:
            anchor = await self._session.scalar(select(c.ts).where(c.id == before_id))
            if anchor is None:
                return []
            statement = statement.where(or_(c.ts < anchor, and_(c.ts == anchor, c.id < before_id)))
        return await self._all(statement)

    async def get(self, decision_id: str) -> dict[str, Any] | None:
        return await self._one(select(_decisions).where(_decisions.c.id == decision_id))

    async def proposed_since(self, since: datetime) -> Rows:
        """Account, strategy and symbol of every decision from ``since`` on (to restore
        what the strategies proposed today after a restart)."""
        c = _decisions.c
        statement = select(c.account, c.strategy, c.symbol).where(c.ts >= since).distinct()
        return await self._all(statement)

    async def commands(self, command_ids: Collection[str]) -> dict[str, dict[str, Any]]:
        """The commands with these ids, by id."""
        if not command_ids:
            return {}
        rows = await self._all(select(_commands).where(_commands.c.id.in_(list(command_ids))))
        return {row["id"]: row for row in rows}

    async def orders_of(self, command_ids: Collection[str]) -> dict[str, Rows]:
        """The orders the commands with these ids placed, by command id, oldest first."""
        if not command_ids:
            return {}
        c = _orders.c
        rows = await self._all(
            select(_orders).where(c.command_id.in_(list(command_ids))).order_by(c.created_at, c.id)
        )
        found: dict[str, Rows] = {}
        for row in rows:
            found.setdefault(row["command_id"], []).append(row)
        return found

    async def order_history(self, orders: Collection[tuple[str, str]]) -> tuple[Rows, Rows]:
        """The events and the fills of these ``(account, order id)`` orders, each oldest
        first."""
        if not orders:
            return [], []
        wanted = set(orders)
        ids = list({order_id for _, order_id in wanted})
        e, t = _order_events.c, _trades.c
        events = await self._all(
            select(_order_events).where(e.order_id.in_(ids)).order_by(e.ts, e.id)
        )
        fills = await self._all(select(_trades).where(t.order_id.in_(ids)).order_by(t.ts, t.id))
        return (
            [row for row in events if (row["account"], row["order_id"]) in wanted],
            [row for row in fills if (row["account"], row["order_id"]) in wanted],
        )
