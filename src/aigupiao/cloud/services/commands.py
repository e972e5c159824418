"""Commands to local nodes: store, send, track, and collect their results.

A command is stored (as ``sent``) before it is sent, so nothing the cloud
decides is lost if a socket drops; the node's ``ack`` and ``response`` move it
through the lifecycle of ``aigupiao.domain.decisions``. Every response is
stored with everything it carries (order, fills, account) and answered with
``received`` so the node can drop it from its outbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aigupiao.core.logging import QuietLog
from aigupiao.domain.decisions import Command, CommandStatus, CommandType, Decision
from aigupiao.domain.errors import IllegalTransition
from aigupiao.protocol import v1
from aigupiao.protocol.payloads import (
    CancelResult,
    ResolvedResult,
    TradeResult,
    accounts_named,
    result_account,
    result_trades,
)
from aigupiao.store import (
    AuditRepo,
    CommandRepo,
    Database,
    DecisionRepo,
    DuplicateClientOrderId,
    NodeRepo,
    NotYours,
)
from aigupiao.store import NotFound as StoreNotFound

from ..hub import NodeHub, NodeLink
from ..settings import LocalTradingSection
from .ledger import Stats
from .results import ResultRecorder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditNote:
    """An audit log entry to store with a command (``target`` is the command's id)."""

    actor: str
    action: str
    detail: dict[str, Any]


_MESSAGES: dict[CommandType, type[v1.Command]] = {
    CommandType.TRADE: v1.TradeCommand,
    CommandType.CANCEL: v1.CancelCommand,
    CommandType.EXPORT: v1.ExportCommand,
    CommandType.STATUS: v1.StatusCommand,
}


@dataclass(frozen=True)
class Outcome:
    """A command as stored, and whether it reached a final answer in time."""

    command: dict[str, Any]
    completed: bool

    def as_response(self) -> dict[str, Any]:
        status = self.command["status"]
        return {
            "success": status == "done",
            "command_id": self.command["id"],
            "status": status,
            "node_id": self.command["node_id"],
            "result": self.command.get("result"),
            "status_url": f"/api/commands/{self.command['id']}",
        }


# An ack is written only if the answer has not come within this long: a fast command
# then costs one transaction less, and a slow one still shows ``acked`` promptly.
ACK_WRITE_DELAY = 0.05


class CommandService:
    def __init__(
        self,
        db: Database,
        hub: NodeHub,
        results: ResultRecorder,
        stats: Stats,
        settings: LocalTradingSection,
    ) -> None:
        self._db, self._hub, self._results, self._stats = db, hub, results, stats
        self._settings = settings
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        # Acks seen, not yet written, by (node, command): a node's ack counts only for
        # a command sent to it, so another node cannot mark it acked.
        self._acks: dict[tuple[str, str], datetime] = {}
        self._ack_queue: asyncio.Queue[tuple[NodeLink, str, float]] = asyncio.Queue()
        self._quiet = QuietLog(log)
        hub.handler = self

    async def submit(
        self,
        kind: CommandType,
        data: dict[str, Any],
        *,
        node_id: str | None = None,
        account: str | None = None,
        client_order_id: str | None = None,
        decision_id: str | None = None,
        decision: Decision | None = None,
        audit: AuditNote | None = None,
        wait: bool = True,
    ) -> Outcome:
        """Store a command, send it, and (if ``wait``) wait up to ``api_timeout`` for its result.

        A repeated ``client_order_id`` returns the first command's outcome and sends nothing.
        ``decision`` (accepted by the risk gate) is stored in the same transaction as the
        command, already linked to it, and so is ``audit`` (who sent it), with the command
        as its target; nothing of either is stored for a repeat.

        Raises:
            NodeNotConnected: no node to send it to.
        """
        link, command = self.prepare(kind, data, node_id=node_id, account=account)
        async with self._db.session() as session:
            try:
                row = await self.store(
                    session,
                    link,
                    command,
                    client_order_id=client_order_id,
                    decision_id=decision_id,
                    decision=decision,
                    audit=audit,
                )
            except DuplicateClientOrderId:
                # A retry: answer with the first command, send nothing.
                existing = await CommandRepo(session).by_client_order_id(client_order_id or "")
                await session.rollback()
                assert existing is not None
                return await self._outcome(existing, wait)
            await session.commit()
        return await self.dispatch(link, row, wait=wait)

    def prepare(
        self,
        kind: CommandType,
        data: dict[str, Any],
        *,
        node_id: str | None = None,
        account: str | None = None,
        link: NodeLink | None = None,
    ) -> tuple[NodeLink, Command]:
        """A new command for ``link``, or the node picked (by id, else by account),
        stamped now.

        Raises:
            NodeNotConnected: no node to send it to.
        """
        link = link or self.pick(node_id=node_id, account=account)
        now = datetime.now(UTC)
        ttl = (
            self._settings.command_ttl if kind is CommandType.TRADE else self._settings.api_timeout
        )
        command = Command(
            id=uuid.uuid4().hex,
            type=kind,
            node_id=link.node_id,
            data=data,
            issued_at=now,
            expires_at=now + timedelta(seconds=ttl),
            # Stored as sent, before anything leaves: a send that fails is repeated when
            # the node reconnects, and the node's journal makes any repeat harmless.
            status=CommandStatus.SENT,
        )
        return link, command

    def pick(self, *, node_id: str | None = None, account: str | None = None) -> NodeLink:
        """The node a command goes to (:meth:`NodeHub.pick`).

        Raises:
            NodeNotConnected: no such node, or several match.
        """
        return self._hub.pick(node_id=node_id, account=account)

    async def store(
        self,
        session: AsyncSession,
        link: NodeLink,
        command: Command,
        *,
        client_order_id: str | None = None,
        decision_id: str | None = None,
        decision: Decision | None = None,
        audit: AuditNote | None = None,
    ) -> dict[str, Any]:
        """Store a prepared command in the caller's transaction, with ``decision`` (linked
        to it) and ``audit`` (targeting it); returns the stored row. Send it with
        :meth:`dispatch` once the transaction is committed.

        Raises:
            DuplicateClientOrderId: ``client_order_id`` is already a command's; nothing
                is written and the transaction stays usable.
        """
        if decision is not None:
            decision_id = decision.id
        row = await CommandRepo(session).create(
            command, account=link.account, client_order_id=client_order_id, decision_id=decision_id
        )
        if decision is not None:
            await DecisionRepo(session).add(replace(decision, command_id=command.id))
        if audit is not None:
            await AuditRepo(session).add(audit.actor, audit.action, command.id, audit.detail)
        return row

    async def dispatch(self, link: NodeLink, row: dict[str, Any], *, wait: bool) -> Outcome:
        """Send a stored (committed) command and, if ``wait``, wait up to ``api_timeout``
        for its result. A send that fails is repeated when the node reconnects."""
        if wait:  # registered before sending: the answer may come back at once
            self._waiters[row["id"]] = asyncio.get_running_loop().create_future()
        if row["type"] == CommandType.TRADE.value:
            self._stats.orders += 1
        await self._deliver(link, row)
        return await self._outcome(row, wait)

    async def outcome(self, row: dict[str, Any], *, wait: bool) -> Outcome:
        """A stored command's outcome (waiting up to ``api_timeout`` if ``wait``)."""
        return await self._outcome(row, wait)

    async def get(self, command_id: str) -> dict[str, Any] | None:
        async with self._db.session() as session:
            return await CommandRepo(session).get(command_id)

    async def list(self, **filters: Any) -> list[dict[str, Any]]:
        async with self._db.session() as session:
            return await CommandRepo(session).list(**filters)

    # -- the hub's LinkHandler -------------------------------------------------

    async def on_register(self, link: NodeLink, message: v1.Register) -> int:
        async with self._db.session() as session:
            repo = NodeRepo(session)
            known = await repo.get(link.node_id)
            await repo.upsert(
                link.node_id,
                account=link.account,
                broker=link.broker,
                status="online",
                connection_id=link.connection_id,
                last_seen=link.last_seen,
            )
            await session.commit()
        return int(known["last_seq"]) if known else 0

    async def after_register(self, link: NodeLink) -> None:
        """Re-send the node's unfinished commands; give up on those it never acked.

        The node's journal makes a re-send harmless. An acked command is always re-sent
        (its journal answers); a ``sent`` one only until it has been delivered
        ``1 + retry_attempts`` times: a command that keeps the node from acking it (one
        that crashes it, say) must not come back on every reconnect. It becomes
        ``unknown`` instead, which a later response from the node still resolves.
        """
        async with self._db.session() as session:
            unfinished = await CommandRepo(session).pending_for_node(link.node_id)
        for row in unfinished:
            if row["status"] == "acked":
                await self._deliver(link, row)
            elif self._undelivered(row):
                await self._give_up(link, row)
            else:
                # A row that moved on meanwhile (acked, answered) is re-sent all the same.
                await self._deliver(link, await self._advance(row["id"], "send") or row)
        await self.submit(CommandType.STATUS, {}, node_id=link.node_id, wait=False)

    async def on_disconnect(self, link: NodeLink) -> None:
        async with self._db.session() as session:
            await NodeRepo(session).set_status(link.node_id, "offline", datetime.now(UTC))
            await session.commit()

    async def on_ack(self, link: NodeLink, message: v1.Ack) -> None:
        self._acks.setdefault((link.node_id, message.command_id), datetime.now(UTC))
        self._ack_queue.put_nowait((link, message.command_id, time.monotonic() + ACK_WRITE_DELAY))

    async def on_response(self, link: NodeLink, message: v1.Response) -> None:
        """Store a node's answer: only to a command sent to that node, and only orders,
        fills and snapshots of the account its token is bound to (else ``not_yours``)."""
        result = message.result
        command_id = message.command_id
        foreign = accounts_named(result) - {link.account}
        if foreign:
            await self._not_yours(link, command_id, f"account {sorted(foreign)[0]}")
            return
        now = datetime.now(UTC)
        row = None
        async with self._db.session() as session:
            try:
                row = await CommandRepo(session).advance(
                    command_id,
                    message.status,
                    result=result.model_dump(mode="json"),
                    at=now,
                    acked_at=self._acks.get((link.node_id, command_id)),
                    owner=(link.node_id, link.account),
                )
            except NotYours:
                await session.rollback()
                await self._not_yours(link, command_id, f"command {command_id}")
                return
            except IllegalTransition:
                log.info("duplicate or late response for %s ignored", command_id)
            except StoreNotFound:
                # Ran on the node's own API, not sent by the cloud: its order and fills
                # (of the node's own account, checked above) are stored all the same.
                log.info("node %s reports its own command %s", link.node_id, command_id)
            orders = (
                [result.order] if isinstance(result, TradeResult | CancelResult | ResolvedResult)
                else []
            )  # fmt: skip
            await self._results.store_fills(
                session, link, command_id, orders, result_trades(result)
            )
            await session.commit()
        self._acks.pop((link.node_id, command_id), None)
        self._stats.responses += 1
        waiter = self._waiters.pop(command_id, None)
        if waiter is not None and not waiter.done():  # stored: the caller may have it now
            waiter.set_result(row or await self._get(command_id))
        await link.send(v1.Received(seq=message.seq))
        self._results.note(link, result_account(result), message.seq)

    async def on_event(self, link: NodeLink, message: v1.Event) -> None:
        """Store a broker push of the node's own account (else ``not_yours``)."""
        match message:
            case v1.OrderEvent():
                orders, trades, account = [message.data], [], None
            case v1.TradeEvent():
                orders, trades, account = [], [message.data], None
            case v1.AccountEvent():
                orders, trades, account = [], [], message.data
            case _:
                raise TypeError(f"not an event: {message!r}")
        foreign = accounts_named(message.data) - {link.account}
        if foreign:
            await self._not_yours(link, None, f"account {sorted(foreign)[0]}")
            return
        if orders or trades:
            async with self._db.session() as session:
                await self._results.store_fills(session, link, None, orders, trades)
                await session.commit()
        await link.send(v1.Received(seq=message.seq))
        self._results.note(link, account, message.seq)

    async def _not_yours(self, link: NodeLink, command_id: str | None, what: str) -> None:
        """Refuse a node's message about what is not its own: nothing is stored, the node
        is told ``not_yours``, the refusal is counted and logged (once per node and kind)."""
        self._stats.refused_not_yours += 1
        self._quiet.warning(
            f"not_yours/{link.node_id}/{what.split()[0]}",
            "node %s (account %s) sent a message about %s: refused (not_yours)",
            link.node_id,
            link.account,
            what,
        )
        await link.send(
            v1.Error(
                command_id=command_id,
                code="not_yours",
                message=f"节点 {link.node_id} 只能上报账户 {link.account} 和发给它的指令，"
                f"拒收：{what} (not yours: node {link.node_id} may only report account "
                f"{link.account} and commands sent to it)",
            )
        )

    async def write_acks(self, stop: asyncio.Event) -> None:
        """Write the acks whose command has not been answered within ``ACK_WRITE_DELAY``."""
        while not stop.is_set():
            link, command_id, due = await self._ack_queue.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            at = self._acks.pop((link.node_id, command_id), None)
            if at is None:  # answered meanwhile
                continue
            try:
                await self._advance(command_id, "ack", at=at, owner=(link.node_id, link.account))
            except NotYours:
                await self._not_yours(link, command_id, f"command {command_id}")
            except StoreNotFound:
                pass  # an ack of the node's own command (its own API)

    # -- internals ---------------------------------------------------------------

    def _undelivered(self, row: dict[str, Any]) -> bool:
        """Never acked (nor an ack waiting to be written), and sent as often as allowed."""
        return (
            row["status"] == "sent"
            and row["attempts"] > self._settings.retry_attempts
            and (row["node_id"], row["id"]) not in self._acks
        )

    async def _give_up(self, link: NodeLink, row: dict[str, Any]) -> None:
        attempts = row["attempts"]
        result = {
            "code": "undelivered",
            "message": f"指令已发送 {attempts} 次，节点始终未确认收到，不再重发；请查看节点日志",
            "message_en": (
                f"sent {attempts} times without the node confirming it; "
                "no longer re-sent, check the node's log"
            ),
        }
        given_up = await self._advance(row["id"], "give_up", result=result)
        if given_up is None:  # answered meanwhile
            return
        log.warning(
            "command %s to %s sent %d times and never acked: unknown, no longer re-sent",
            row["id"],
            link.node_id,
            attempts,
        )
        waiter = self._waiters.pop(row["id"], None)
        if waiter is not None and not waiter.done():
            waiter.set_result(given_up)

    async def _deliver(self, link: NodeLink, row: dict[str, Any]) -> None:
        message = _MESSAGES[CommandType(row["type"])].model_validate(
            {
                "id": row["id"],
                "issued_at": row["issued_at"],
                "expires_at": row["expires_at"],
                "data": row["data"],
            }
        )
        try:
            await link.send(message)
        except Exception as exc:  # a dead socket; the command is re-sent on reconnect
            log.warning("could not send %s to %s: %s", row["id"], link.node_id, exc)

    async def _advance(
        self,
        command_id: str,
        trigger: str,
        *,
        at: datetime | None = None,
        result: dict[str, Any] | None = None,
        owner: tuple[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """Move a command (sent to ``owner``, when given); None if the lifecycle forbids it.

        Raises:
            NotYours: ``owner`` is given and the command was sent to another node.
            StoreNotFound: no such command.
        """
        async with self._db.session() as session:
            try:
                row = await CommandRepo(session).advance(
                    command_id, trigger, result=result, at=at or datetime.now(UTC), owner=owner
                )
            except IllegalTransition:
                await session.rollback()
                return None
            await session.commit()
            return row

    async def _outcome(self, row: dict[str, Any], wait: bool) -> Outcome:
        if _is_final(row) or not wait:
            return Outcome(row, _is_final(row))
        waiter = self._waiters.get(row["id"])
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters[row["id"]] = waiter
        try:
            done = await asyncio.wait_for(asyncio.shield(waiter), self._settings.api_timeout)
            return Outcome(done, True)
        except TimeoutError:
            latest = await self._get(row["id"]) or row
            return Outcome(latest, _is_final(latest))

    async def _get(self, command_id: str) -> dict[str, Any]:
        async with self._db.session() as session:
            row = await CommandRepo(session).get(command_id)
        if row is None:
            raise KeyError(command_id)
        return row


def _is_final(row: dict[str, Any]) -> bool:
    return row["status"] in ("done", "rejected", "failed", "expired", "unknown")
