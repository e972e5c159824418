"""Commands to local nodes: store, send, track, and collect their results.

A command is stored (``pending``) before it is sent, so nothing the cloud
decides is lost if a socket drops; the node's ``ack`` and ``response`` move it
through the lifecycle of ``aigupiao.domain.decisions``. Every response is
stored with everything it carries (order, fills, account) and answered with
``received`` so the node can drop it from its outbox.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aigupiao.domain.decisions import Command, CommandType
from aigupiao.domain.errors import IllegalTransition
from aigupiao.protocol import v1
from aigupiao.store import (
    AccountRepo,
    CommandRepo,
    Database,
    DuplicateClientOrderId,
    NodeRepo,
    OrderRepo,
    PositionRepo,
    TradeRepo,
)
from aigupiao.store import NotFound as StoreNotFound

from ..hub import NodeHub, NodeLink
from ..settings import LocalTradingSection
from .ledger import Ledger, Stats

log = logging.getLogger(__name__)

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


class CommandService:
    def __init__(
        self,
        db: Database,
        hub: NodeHub,
        ledger: Ledger,
        stats: Stats,
        settings: LocalTradingSection,
    ) -> None:
        self._db, self._hub, self._ledger, self._stats = db, hub, ledger, stats
        self._settings = settings
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
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
        wait: bool = True,
    ) -> Outcome:
        """Store a command, send it, and (if ``wait``) wait up to ``api_timeout`` for its result.

        A repeated ``client_order_id`` returns the first command's outcome and sends nothing.

        Raises:
            NodeNotConnected: no node to send it to.
        """
        if client_order_id is not None:
            existing = await self._get_by_client_order_id(client_order_id)
            if existing is not None:
                return await self._outcome(existing, wait)
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
        )
        async with self._db.session() as session:
            try:
                await CommandRepo(session).create(
                    command,
                    account=link.account,
                    client_order_id=client_order_id,
                    decision_id=decision_id,
                )
                await session.commit()
            except DuplicateClientOrderId:
                # Lost a race with an identical retry: answer with the winner.
                await session.rollback()
                existing = await self._get_by_client_order_id(client_order_id or "")
                assert existing is not None
                return await self._outcome(existing, wait)
        if wait:  # registered before sending: the answer may come back at once
            self._waiters[command.id] = asyncio.get_running_loop().create_future()
        if kind is CommandType.TRADE:
            self._stats.orders += 1
        row = await self._get(command.id)
        await self._send(link, row)
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
        async with self._db.session() as session:
            unfinished = await CommandRepo(session).pending_for_node(link.node_id)
        for row in unfinished:
            await self._send(link, row)  # the node's journal makes a re-send harmless
        await self.submit(CommandType.STATUS, {}, node_id=link.node_id, wait=False)

    async def on_disconnect(self, link: NodeLink) -> None:
        async with self._db.session() as session:
            await NodeRepo(session).set_status(link.node_id, "offline", datetime.now(UTC))
            await session.commit()

    async def on_ack(self, link: NodeLink, message: v1.Ack) -> None:
        await self._transition(message.command_id, "ack")

    async def on_response(self, link: NodeLink, message: v1.Response) -> None:
        result = message.result
        async with self._db.session() as session:
            await self._store_result(session, link, message.command_id, result)
            try:
                await CommandRepo(session).transition(
                    message.command_id, message.status, result=result, at=datetime.now(UTC)
                )
            except IllegalTransition:
                log.info("duplicate or late response for %s ignored", message.command_id)
            except StoreNotFound:
                # Ran on the node's own API, not sent by the cloud: its order and fills
                # are stored above all the same.
                log.info("node %s reports its own command %s", link.node_id, message.command_id)
            await NodeRepo(session).upsert(
                link.node_id,
                account=link.account,
                broker=link.broker,
                status="online",
                connection_id=link.connection_id,
                last_seen=link.last_seen,
                last_seq=message.seq,
            )
            await session.commit()
        self._stats.responses += 1
        await link.send(v1.Received(seq=message.seq))
        waiter = self._waiters.pop(message.command_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(await self._get(message.command_id))

    async def on_event(self, link: NodeLink, message: v1.Event) -> None:
        async with self._db.session() as session:
            await self._store_result(session, link, None, {message.kind: message.data})
            await session.commit()
        await link.send(v1.Received(seq=message.seq))

    # -- internals ---------------------------------------------------------------

    async def _store_result(
        self, session: Any, link: NodeLink, command_id: str | None, result: dict[str, Any]
    ) -> None:
        """Persist what a response or event carries: order, fills, account and positions."""
        order = result.get("order") or result.get("order_update")
        if order:
            now = datetime.now(UTC)
            await OrderRepo(session).upsert(
                {
                    **_order_columns(order),
                    "node_id": link.node_id,
                    "command_id": command_id,
                    "updated_at": now,
                }
            )
        trades = result.get("trades") or ([result["trade"]] if result.get("trade") else [])
        for trade in trades:
            if await TradeRepo(session).add({**_trade_columns(trade), "node_id": link.node_id}):
                self._stats.fills += 1
        account = result.get("account")
        if account:
            snapshot = self._ledger.update(account)
            await AccountRepo(session).upsert(
                snapshot.id,
                node_id=link.node_id,
                paper=snapshot.paper,
                cash=snapshot.cash,
                frozen_cash=snapshot.frozen_cash,
                equity=snapshot.equity,
            )
            await PositionRepo(session).replace(
                snapshot.id,
                [
                    {
                        "symbol": p.symbol.full,
                        "total": p.total,
                        "available": p.available,
                        "cost_price": p.cost_price,
                        "last_price": p.last_price,
                    }
                    for p in snapshot.positions
                ],
            )

    async def _send(self, link: NodeLink, row: dict[str, Any]) -> None:
        message_type = _MESSAGES[CommandType(row["type"])]
        message = message_type.model_validate(
            {
                "id": row["id"],
                "issued_at": row["issued_at"],
                "expires_at": row["expires_at"],
                "data": row["data"],
            }
        )
        if row["status"] in ("pending", "sent"):
            await self._transition(row["id"], "send")
        try:
            await link.send(message)
        except Exception as exc:  # a dead socket; the command is re-sent on reconnect
            log.warning("could not send %s to %s: %s", row["id"], link.node_id, exc)

    async def _transition(self, command_id: str, trigger: str) -> None:
        async with self._db.session() as session:
            try:
                await CommandRepo(session).transition(command_id, trigger, at=datetime.now(UTC))
                await session.commit()
            except IllegalTransition:
                await session.rollback()

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

    async def _get_by_client_order_id(self, client_order_id: str) -> dict[str, Any] | None:
        async with self._db.session() as session:
            return await CommandRepo(session).by_client_order_id(client_order_id)


def _is_final(row: dict[str, Any]) -> bool:
    return row["status"] in ("done", "rejected", "failed", "expired", "unknown")


def _order_columns(order: dict[str, Any]) -> dict[str, Any]:
    price = order.get("price")
    return {
        "id": order["id"],
        "account": order["account"],
        "symbol": order["symbol"],
        "side": order["side"],
        "type": order["type"],
        "quantity": int(order["quantity"]),
        "price": None if price is None else Decimal(price),
        "status": order["status"],
        "filled_quantity": int(order["filled_quantity"]),
        "filled_amount": Decimal(order["filled_amount"]),
        "broker_order_id": order.get("broker_order_id"),
        "reason": order.get("reason", ""),
        "created_at": datetime.fromisoformat(order["created_at"]),
    }


def _trade_columns(trade: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": trade["id"],
        "order_id": trade["order_id"],
        "account": trade["account"],
        "symbol": trade["symbol"],
        "side": trade["side"],
        "quantity": int(trade["quantity"]),
        "price": Decimal(trade["price"]),
        "amount": Decimal(trade["amount"]),
        "commission": Decimal(trade["commission"]),
        "stamp_duty": Decimal(trade["stamp_duty"]),
        "transfer_fee": Decimal(trade["transfer_fee"]),
        "ts": datetime.fromisoformat(trade["ts"]),
    }
