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

from aigupiao.domain.decisions import Command, CommandStatus, CommandType, Decision
from aigupiao.domain.errors import IllegalTransition
from aigupiao.protocol import v1
from aigupiao.store import (
    AuditRepo,
    CommandRepo,
    Database,
    DecisionRepo,
    DuplicateClientOrderId,
    NodeRepo,
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
        self._acks: dict[str, datetime] = {}  # seen, not yet written
        self._ack_queue: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
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
        link = self._hub.pick(node_id=node_id, account=account)
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
        if decision is not None:
            decision_id = decision.id
        async with self._db.session() as session:
            repo = CommandRepo(session)
            try:
                row = await repo.create(
                    command,
                    account=link.account,
                    client_order_id=client_order_id,
                    decision_id=decision_id,
                )
                if decision is not None:
                    await DecisionRepo(session).add(replace(decision, command_id=command.id))
                if audit is not None:
                    await AuditRepo(session).add(
                        audit.actor, audit.action, command.id, audit.detail
                    )
            except DuplicateClientOrderId:
                # A retry: answer with the first command, send nothing.
                existing = await repo.by_client_order_id(client_order_id or "")
                await session.rollback()
                assert existing is not None
                return await self._outcome(existing, wait)
            await session.commit()
        if wait:  # registered before sending: the answer may come back at once
            self._waiters[command.id] = asyncio.get_running_loop().create_future()
        if kind is CommandType.TRADE:
            self._stats.orders += 1
        await self._deliver(link, row)
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
        self._acks.setdefault(message.command_id, datetime.now(UTC))
        self._ack_queue.put_nowait((message.command_id, time.monotonic() + ACK_WRITE_DELAY))

    async def on_response(self, link: NodeLink, message: v1.Response) -> None:
        result = message.result
        now = datetime.now(UTC)
        row = None
        async with self._db.session() as session:
            await self._results.store_fills(session, link, message.command_id, result)
            try:
                row = await CommandRepo(session).advance(
                    message.command_id,
                    message.status,
                    result=result,
                    at=now,
                    acked_at=self._acks.pop(message.command_id, None),
                )
            except IllegalTransition:
                log.info("duplicate or late response for %s ignored", message.command_id)
            except StoreNotFound:
                # Ran on the node's own API, not sent by the cloud: its order and fills
                # are stored above all the same.
                log.info("node %s reports its own command %s", link.node_id, message.command_id)
            await session.commit()
        self._stats.responses += 1
        waiter = self._waiters.pop(message.command_id, None)
        if waiter is not None and not waiter.done():  # stored: the caller may have it now
            waiter.set_result(row or await self._get(message.command_id))
        await link.send(v1.Received(seq=message.seq))
        self._results.note(link, result, message.seq)

    async def on_event(self, link: NodeLink, message: v1.Event) -> None:
        payload = {message.kind: message.data}
        async with self._db.session() as session:
            await self._results.store_fills(session, link, None, payload)
            await session.commit()
        await link.send(v1.Received(seq=message.seq))
        self._results.note(link, payload, message.seq)

    async def write_acks(self, stop: asyncio.Event) -> None:
        """Write the acks whose command has not been answered within ``ACK_WRITE_DELAY``."""
        while not stop.is_set():
            command_id, due = await self._ack_queue.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            at = self._acks.pop(command_id, None)
            if at is not None:  # still unanswered: show it as acked
                await self._advance(command_id, "ack", at=at)

    # -- internals ---------------------------------------------------------------

    def _undelivered(self, row: dict[str, Any]) -> bool:
        """Never acked (nor an ack waiting to be written), and sent as often as allowed."""
        return (
            row["status"] == "sent"
            and row["attempts"] > self._settings.retry_attempts
            and row["id"] not in self._acks
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
    ) -> dict[str, Any] | None:
        async with self._db.session() as session:
            try:
                row = await CommandRepo(session).advance(
                    command_id, trigger, result=result, at=at or datetime.now(UTC)
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
