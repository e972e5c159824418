"""Manual and outside-agent trades: checked, put through the risk gate, stored as decisions.

A trade from ``execute-trade`` or ``agent/buy|sell`` takes the agent's own path, the
:class:`~.pipeline.DecisionPipeline`: the same gate (with the account's open orders),
the decision and its command in one transaction, then the send. Whatever the gate says
is stored as a decision (strategy ``manual``, or the caller's ``agent_id`` for the agent
endpoints); a rejection is answered 422 with the rule, its values and the decision's
id, an accepted trade becomes a command linked to its decision.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aigupiao.core.clock import Clock
from aigupiao.domain.account import Account
from aigupiao.domain.decisions import CommandType
from aigupiao.domain.errors import DomainError
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import MarketKind, OrderStatus, Side, market_kinds_for
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.risk import RiskVerdict
from aigupiao.store import AuditRepo, Database, OrderRepo

from ..errors import InvalidRequest, NotFound, ServiceError
from ..hub import NodeHub, NodeLink
from .commands import AuditNote, CommandService, Outcome
from .ledger import Ledger
from .market import MarketService
from .pipeline import DecisionPipeline, Proposal

log = logging.getLogger(__name__)

MANUAL = "manual"  # the strategy name of execute-trade decisions
OUTSIDE_AGENT = "agent"  # ... of agent/buy|sell decisions without an agent_id

# How long a trade waits for the account of a node that has not reported it yet.
ACCOUNT_WAIT = 5.0
ACCOUNT_POLL = 0.02


class RiskRejected(InvalidRequest):
    """The risk gate refused a trade; ``code`` is the rule."""

    def __init__(self, verdict: RiskVerdict, decision_id: str) -> None:
        super().__init__(
            verdict.message_zh or "风控拒绝",
            verdict.message_en or "refused by the risk gate",
            code=verdict.rule or "risk",
        )
        self.verdict, self.decision_id = verdict, decision_id

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "values": self.verdict.values, "decision_id": self.decision_id}


class OrderNotCancellable(ServiceError):
    """The order is already final (filled, cancelled, rejected, expired)."""

    status = 409
    code = "order_final"


def validate_trade(
    market: MarketService,
    *,
    stock_code: str,
    price: Decimal | None,
    market_kind: MarketKind | None = None,
) -> Symbol:
    """Check what makes a request meaningful: a known code, a market-order kind its
    exchange takes. The trading rules (lot, tick, limits, T+1, ...) are the risk gate's.

    Raises InvalidRequest with the rule."""
    try:
        symbol = parse_symbol(stock_code)
    except DomainError as exc:
        raise InvalidRequest(exc.message_zh, exc.message_en, code=exc.code) from exc
    if symbol.full not in market.latest:
        raise InvalidRequest(
            f"未知的证券代码 {symbol.full}：行情中没有该证券",
            f"unknown security {symbol.full}: no market data for it",
            code="unknown_symbol",
        )
    if market_kind is not None:
        if price is not None:
            raise InvalidRequest(
                "限价委托不能指定市价委托类型 market_kind",
                "market_kind is for market orders (price null) only",
                code="market_kind",
            )
        if market_kind not in market_kinds_for(symbol):
            exchange = symbol.exchange.value
            raise InvalidRequest(
                f"{exchange} 不支持市价委托类型「{market_kind.label_zh}」",
                f"the {exchange} exchange does not take {market_kind.value} market orders",
                code="market_kind",
            )
    return symbol


@dataclass(frozen=True)
class TradeRequest:
    """A trade as the API received it."""

    action: str
    stock_code: str
    quantity: int
    price: Decimal | None = None
    agent_id: str | None = None
    node_id: str | None = None
    account: str | None = None
    client_order_id: str | None = None
    market_kind: MarketKind | None = None
    endpoint: str = "execute-trade"
    caller: str | None = None  # the API key's name


class TradeService:
    """Puts manual and outside-agent trades through the risk gate, then to a node."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        market: MarketService,
        ledger: Ledger,
        hub: NodeHub,
        commands: CommandService,
        pipeline: DecisionPipeline,
    ) -> None:
        self._db, self._clock, self._market, self._ledger = db, clock, market, ledger
        self._hub, self._commands, self._pipeline = hub, commands, pipeline

    async def place(self, request: TradeRequest, *, strategy: str) -> Outcome:
        """Check, gate, record and send one trade.

        Raises:
            InvalidRequest: the request names no known security or a wrong market kind.
            RiskRejected: the gate refused it (stored as a rejected decision).
            NodeNotConnected: no node to send it to.
        """
        symbol = validate_trade(
            self._market,
            stock_code=request.stock_code,
            price=request.price,
            market_kind=request.market_kind,
        )
        link = self._hub.pick(node_id=request.node_id, account=request.account)
        account = self._ledger.get(link.account) or await self._ask_account(link)
        quotes = self._market.latest
        placement = await self._pipeline.place(
            _proposal(request, strategy, symbol, quotes.get(symbol.full)),
            account_id=link.account,
            account=account,
            quotes=quotes,
            now=self._clock.now(),
            node_id=link.node_id,
        )
        if placement.error is not None:  # the node went away meanwhile
            raise placement.error
        outcome = await self._pipeline.send(placement, wait=True)
        if outcome is not None:  # accepted now, or a retry of an accepted trade
            return outcome
        verdict, decision = placement.verdict, placement.decision
        assert verdict is not None and decision is not None
        log.info(
            "%s %s %s x%d refused by the risk gate: %s",
            strategy,
            decision.side,
            symbol,
            request.quantity,
            verdict.message,
        )
        raise RiskRejected(verdict, decision.id)

    async def cancel(
        self, order_id: str, *, account: str | None = None, caller: str | None = None
    ) -> Outcome:
        """Send a cancel for a stored open order to the node that placed it.

        No risk gate and no trading-state check: a cancel only reduces exposure, so it is
        allowed while REDUCING and HALTED. The node's answer (the order, now ``cancelled``,
        or the broker's refusal) is stored like any command result.

        Raises:
            NotFound: no such order (of ``account``, when given).
            OrderNotCancellable: the order is already filled, cancelled, rejected or expired.
            NodeNotConnected: the account's node is not connected.
        """
        async with self._db.session() as session:
            order = await OrderRepo(session).get(order_id, account)
        if order is None or (account is not None and order["account"] != account):
            whose = f"账户 {account} 的" if account else ""
            raise NotFound(
                f"找不到{whose}委托 {order_id}",
                f"no order {order_id}" + (f" in account {account}" if account else ""),
                code="unknown_order",
            )
        status = OrderStatus(order["status"])
        if status.is_final:
            raise OrderNotCancellable(
                f"委托 {order_id} 已{status.label_zh}，不能撤单",
                f"order {order_id} is {status.value} and cannot be cancelled",
            )
        node_id = order.get("node_id")
        link = self._hub.pick(
            node_id=node_id if node_id in self._hub.links else None, account=order["account"]
        )
        outcome = await self._commands.submit(
            CommandType.CANCEL, {"order_id": order_id}, node_id=link.node_id
        )
        async with self._db.session() as session:
            await AuditRepo(session).add(
                _actor(caller),
                "order.cancel",
                order_id,
                {
                    "account": order["account"],
                    "symbol": order["symbol"],
                    "command_id": outcome.command["id"],
                    "status": outcome.command["status"],
                },
            )
            await session.commit()
        log.info("cancel of %s sent to %s: %s", order_id, link.node_id, outcome.command["status"])
        return outcome

    async def _ask_account(self, link: NodeLink) -> Account | None:
        """The node has not reported its account yet (it has just connected): ask it, and
        wait up to :data:`ACCOUNT_WAIT` seconds for the answer."""
        await self._commands.submit(CommandType.STATUS, {}, node_id=link.node_id, wait=False)
        deadline = time.monotonic() + ACCOUNT_WAIT
        while (account := self._ledger.get(link.account)) is None:
            if time.monotonic() > deadline:
                return None  # the gate refuses: account_unknown
            await asyncio.sleep(ACCOUNT_POLL)
        return account


def _placed(request: TradeRequest) -> AuditNote:
    """The audit entry of an order a caller sent (stored with its command)."""
    return AuditNote(
        _actor(request.caller),
        "order.place",
        {
            "endpoint": request.endpoint,
            "action": request.action,
            "stock_code": request.stock_code,
            "quantity": request.quantity,
            "price": None if request.price is None else str(request.price),
        },
    )


def _actor(caller: str | None) -> str:
    """The audit log's actor: ``user:NAME`` / ``apikey:NAME`` as the caller gives it, and a
    bare API key name as ``apikey:NAME``."""
    if not caller:
        return "apikey:unknown"
    return caller if ":" in caller else f"apikey:{caller}"


def _proposal(
    request: TradeRequest, strategy: str, symbol: Symbol, quote: Quote | None
) -> Proposal:
    who = f"{request.endpoint}" + (f" ({request.caller})" if request.caller else "")
    if strategy == MANUAL:
        reason = f"手动委托，来自 {who} (manual order from {who})"
    else:
        reason = f"外部 Agent {strategy} 的委托，来自 {who} (order from agent {strategy} via {who})"
    inputs: dict[str, Any] = {
        "endpoint": request.endpoint,
        "caller": request.caller,
        "agent_id": request.agent_id,
        "client_order_id": request.client_order_id,
        "market_kind": None if request.market_kind is None else request.market_kind.value,
        "last": None if quote is None else str(quote.last),
    }
    return Proposal(
        strategy=strategy,
        symbol=symbol,
        side=Side(request.action),
        quantity=request.quantity,
        price=request.price,
        reason=reason,
        inputs={k: v for k, v in inputs.items() if v is not None},
        agent_id=request.agent_id,
        market_kind=request.market_kind,
        client_order_id=request.client_order_id,
        audit=_placed(request),  # who sent which order (refusals: see the decision)
    )
