"""One way from a proposal to a node: the risk gate, one transaction, the send.

Every order the cloud sends goes through :class:`DecisionPipeline`: the agent's
strategy signals and stop exits (:class:`~.agent.AgentRunner`) and the orders of
``execute-trade`` and ``agent/buy|sell`` (:class:`~.trading.TradeService`). For one
account at a time (an asyncio lock per account):

1. **gate**: the account's open orders are read (:meth:`DecisionPipeline.open_orders`)
   and each proposal is judged by the risk gate, which counts them and every proposal
   it accepted before;
2. **store**: one transaction stores each decision, with the command an accepted one
   becomes (status ``sent``, the two linked both ways) and the caller's audit entry;
3. **send**: the commands go to the node.

A crash before step 2 commits stores nothing; after it, the commands are stored as
sent and go out again when the node registers (the node's journal makes a repeat
harmless). So there is never an accepted decision without its command. An accepted
decision whose account has no node connected is stored as refused (``node_offline``),
never as accepted without a command.

Open orders (``docs/risk.md``): today's orders the node reported that are not final,
with what is left of them, and today's trade commands the node has not answered
(``sent``, ``acked``) or answered ``unknown``. An order whose report was stored before
the account snapshot arrived is ``frozen``: the broker had it when the snapshot was
taken, so the snapshot's available cash and shares already leave it out. Commands
and later orders are not: the gate takes their cash and shares from the snapshot.
The lock makes the second of two quick orders see the first one's command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aigupiao.domain.account import Account
from aigupiao.domain.decisions import Command, CommandType, Decision, Verdict
from aigupiao.domain.errors import DomainError
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import MarketKind, OrderType, Side
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.risk import OpenOrders, PendingOrder, RiskVerdict
from aigupiao.store import CommandRepo, Database, DecisionRepo, DuplicateClientOrderId, OrderRepo

from ..errors import NodeNotConnected, ServiceError
from ..hub import NodeLink
from .commands import AuditNote, CommandService, Outcome
from .ledger import Ledger
from .risk import RiskService

log = logging.getLogger(__name__)

# Keys the pipeline adds to a decision's inputs (besides the proposal's own values).
RUNNER_INPUTS = ("risk_values", "risk_message_zh", "risk_message_en", "confidence",
                 "target_weight")  # fmt: skip
NODE_OFFLINE = "node_offline"  # the rule of an accepted decision that could not be sent


@dataclass(frozen=True)
class Proposal:
    """An order someone wants: a strategy's signal, the gate's exit, a caller's trade.

    ``agent_id`` goes into the command (for the agent's own, the strategy);
    ``client_order_id`` makes a retry answer with the first command; ``audit`` is stored
    with the command.
    """

    strategy: str
    symbol: Symbol
    side: Side
    quantity: int
    price: Decimal | None
    reason: str
    inputs: dict[str, Any] = field(default_factory=dict)
    agent_id: str | None = None
    market_kind: MarketKind | None = None
    client_order_id: str | None = None
    audit: AuditNote | None = None


@dataclass(frozen=True)
class Placement:
    """What became of one proposal: its decision, the gate's verdict, and the command
    (stored, not yet sent) with the node it goes to, when accepted. A retry of a stored
    command has no decision and no verdict: only the first command."""

    decision: Decision | None
    verdict: RiskVerdict | None
    command: dict[str, Any] | None = None
    link: NodeLink | None = None
    error: ServiceError | None = None  # why an accepted proposal was not sent

    @property
    def retry(self) -> bool:
        return self.decision is None


def command_data(proposal: Proposal, decision_id: str | None) -> dict[str, Any]:
    """The ``data`` of the trade command a proposal becomes."""
    data: dict[str, Any] = {
        "action": proposal.side.value,
        "stock_code": proposal.symbol.full,
        "quantity": proposal.quantity,
        "price": None if proposal.price is None else str(proposal.price),
        "agent_id": proposal.agent_id,
    }
    if proposal.market_kind is not None:
        data["market_kind"] = proposal.market_kind.value
    if decision_id is not None:
        data["decision_id"] = decision_id
    return data


class Batch:
    """Proposals of one account, judged under its lock and stored in one transaction."""

    def __init__(
        self,
        pipeline: DecisionPipeline,
        account_id: str,
        pending: OpenOrders,
        now: datetime,
        node_id: str | None,
    ) -> None:
        self._pipeline, self.account_id, self.pending = pipeline, account_id, pending
        self.now, self._node_id = now, node_id
        self._judged: list[tuple[Placement, Proposal, Command | None]] = []

    async def judge(
        self, proposal: Proposal, *, account: Account | None, quotes: Mapping[str, Quote]
    ) -> Placement:
        """Put one proposal through the gate (an accepted one then counts toward the next
        ones). With no node to send it to, it is refused as ``node_offline`` unjudged."""
        pipeline = self._pipeline
        decision_id = uuid.uuid4().hex
        link = command = None
        error: ServiceError | None = None
        try:
            link = pipeline.commands.pick(node_id=self._node_id, account=self.account_id)
        except NodeNotConnected as exc:  # refused: never accepted without a command
            error = exc
            verdict = RiskVerdict.reject(
                NODE_OFFLINE, exc.message_zh, exc.message_en, account=self.account_id
            )
        else:
            verdict = await pipeline.risk.check(
                account_id=self.account_id,
                account=account,
                side=proposal.side,
                quantity=proposal.quantity,
                price=proposal.price,
                quote=quotes.get(proposal.symbol.full),
                quotes=quotes,
                now=self.now,
                client_order_id=proposal.client_order_id,
                pending=self.pending,
            )
            if verdict.accepted:
                link, command = pipeline.commands.prepare(
                    CommandType.TRADE, command_data(proposal, decision_id), link=link
                )
        decision = _decision(decision_id, proposal, self.account_id, verdict, self.now)
        placement = Placement(decision, verdict, None, link, error)
        self._judged.append((placement, proposal, command))
        return placement

    async def store(self) -> list[Placement]:
        """Store every decision judged, each accepted one with its command, in one
        transaction; returns them with the stored commands.

        Raises:
            DuplicateClientOrderId: a proposal's client order id is already a command's
                (another replica stored it meanwhile); nothing is stored.
        """
        judged, self._judged = self._judged, []
        if not judged:
            return []
        stored: list[Placement] = []
        pipeline = self._pipeline
        async with pipeline.db.session() as session:
            for placement, proposal, command in judged:
                decision = placement.decision
                assert decision is not None
                if command is None or placement.link is None:
                    await DecisionRepo(session).add(decision)
                    stored.append(placement)
                    continue
                row = await pipeline.commands.store(
                    session,
                    placement.link,
                    command,
                    client_order_id=proposal.client_order_id,
                    decision=decision,
                    audit=proposal.audit,
                )
                linked = replace(decision, command_id=command.id)
                stored.append(Placement(linked, placement.verdict, row, placement.link))
            await session.commit()
        return stored


class DecisionPipeline:
    """Gate, one transaction, send: the path of every order (see the module docstring)."""

    def __init__(
        self, *, db: Database, risk: RiskService, commands: CommandService, ledger: Ledger
    ) -> None:
        self.db, self.risk, self.commands, self._ledger = db, risk, commands, ledger
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def batch(
        self, account_id: str, now: datetime, *, node_id: str | None = None
    ) -> AsyncIterator[Batch]:
        """Judge and store proposals of ``account_id`` with nothing else deciding for it
        meanwhile: the lock is held until the block ends (store inside it, send after)."""
        async with self._lock(account_id):
            pending = await self.open_orders(account_id, now)
            yield Batch(self, account_id, pending, now, node_id)

    async def place(
        self,
        proposal: Proposal,
        *,
        account_id: str,
        account: Account | None,
        quotes: Mapping[str, Quote],
        now: datetime,
        node_id: str | None = None,
    ) -> Placement:
        """Gate and store one proposal (a retry of a stored client order id: the first
        command, nothing judged or stored). Send it with :meth:`send`."""
        async with self._lock(account_id):
            async with self.db.session() as session:  # one session for what is read first
                if proposal.client_order_id is not None:
                    repo = CommandRepo(session)
                    first = await repo.by_client_order_id(proposal.client_order_id)
                    if first is not None:
                        return Placement(None, None, first)
                pending = await self._read_open_orders(session, account_id, now)
            batch = Batch(self, account_id, pending, now, node_id)
            await batch.judge(proposal, account=account, quotes=quotes)
            try:
                (placement,) = await batch.store()
            except DuplicateClientOrderId:  # stored by another replica meanwhile
                assert proposal.client_order_id is not None
                first = await self._by_client_order_id(proposal.client_order_id)
                assert first is not None
                return Placement(None, None, first)
        return placement

    async def send(self, placement: Placement, *, wait: bool) -> Outcome | None:
        """Send a stored command (None when the placement has none). A retry's first
        command is not sent again: its outcome is answered."""
        if placement.command is None:
            return None
        if placement.retry or placement.link is None:
            return await self.commands.outcome(placement.command, wait=wait)
        return await self.commands.dispatch(placement.link, placement.command, wait=wait)

    async def open_orders(self, account_id: str, now: datetime) -> OpenOrders:
        """The account's open orders now (see the module docstring): today's reported
        orders that are not final, and today's trade commands without an answer."""
        async with self.db.session() as session:
            return await self._read_open_orders(session, account_id, now)

    def _lock(self, account_id: str) -> asyncio.Lock:
        lock = self._locks.get(account_id)
        if lock is None:
            lock = self._locks[account_id] = asyncio.Lock()
        return lock

    async def _read_open_orders(
        self, session: AsyncSession, account_id: str, now: datetime
    ) -> OpenOrders:
        market_day = datetime.combine(now.astimezone(BEIJING).date(), time(0), BEIJING)
        wall_day = datetime.combine(datetime.now(BEIJING).date(), time(0), BEIJING)
        snapshot_at = self._ledger.received_at(account_id)
        orders = await OrderRepo(session).open_since(account_id, market_day)
        commands = await CommandRepo(session).trades_in_flight(account_id, wall_day)
        book = OpenOrders()
        counted: set[str] = set()
        for row in orders:
            first_seen = row["first_seen"]
            book.add(
                PendingOrder(
                    code=row["symbol"],
                    side=Side(row["side"]),
                    quantity=int(row["quantity"]) - int(row["filled_quantity"]),
                    price=row["price"] if row["type"] == OrderType.LIMIT.value else None,
                    frozen=snapshot_at is not None
                    and first_seen is not None
                    and first_seen <= snapshot_at,
                    source=f"order:{row['id']}",
                )
            )
            if row["command_id"]:
                counted.add(row["command_id"])
        for row in commands:
            if row["id"] in counted:
                continue
            pending = _commanded(row)
            if pending is not None:
                book.add(pending)
        return book

    async def _by_client_order_id(self, client_order_id: str) -> dict[str, Any] | None:
        async with self.db.session() as session:
            return await CommandRepo(session).by_client_order_id(client_order_id)


def _commanded(row: dict[str, Any]) -> PendingOrder | None:
    """The order a trade command asks for (None if its data is not a trade's)."""
    data = row["data"] or {}
    try:
        price = data.get("price")
        return PendingOrder(
            code=parse_symbol(str(data["stock_code"])).full,
            side=Side(data["action"]),
            quantity=int(data["quantity"]),
            price=None if price is None else Decimal(str(price)),
            source=f"command:{row['id']}",
        )
    except (KeyError, ValueError, ArithmeticError, DomainError):
        log.warning("trade command %s has no readable order: %s", row["id"], data)
        return None


def _decision(
    decision_id: str, proposal: Proposal, account: str, verdict: RiskVerdict, now: datetime
) -> Decision:
    inputs = dict(proposal.inputs)
    if verdict.values:
        inputs["risk_values"] = dict(verdict.values)
    if not verdict.accepted:
        inputs["risk_message_zh"] = verdict.message_zh
        inputs["risk_message_en"] = verdict.message_en
    return Decision(
        id=decision_id,
        strategy=proposal.strategy,
        account=account,
        symbol=proposal.symbol,
        side=proposal.side,
        quantity=proposal.quantity,
        price=proposal.price,
        reason=proposal.reason,
        inputs=inputs,
        ts=now,
        verdict=Verdict.ACCEPTED if verdict.accepted else Verdict.REJECTED,
        rule=verdict.rule,
        risk_message=verdict.message,
    )
