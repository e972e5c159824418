"""The agent runner: strategies -> risk gate -> stored decisions -> commands.

Every ``decision_interval`` seconds each strategy sees the latest quotes and
the account; each signal becomes a :class:`Decision`, passes the risk gate,
and is stored with its inputs and verdict whatever happens next. The gate adds
its own exits (stop-loss, trailing stop) as decisions of strategy ``stop_loss``
or ``trailing_stop``. Accepted decisions are sent to the account's node without
waiting; their results are stored when the node answers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace

from aigupiao.core.clock import Clock
from aigupiao.domain.decisions import CommandType, Decision, Verdict
from aigupiao.risk import ExitSignal, RiskGate
from aigupiao.store import Database, DecisionRepo
from aigupiao.strategy.base import Signal, Strategy, StrategyContext

from ..errors import ServiceError
from ..hub import NodeHub
from .commands import CommandService
from .ledger import Ledger, Stats
from .market import MarketService
from .risk import RiskService

log = logging.getLogger(__name__)


class AgentRunner:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        market: MarketService,
        commands: CommandService,
        hub: NodeHub,
        ledger: Ledger,
        stats: Stats,
        risk: RiskService,
        strategies: list[Strategy],
        interval: float,
        account: str | None = None,
    ) -> None:
        self._db, self._clock, self._market = db, clock, market
        self._commands, self._hub, self._ledger, self._stats = commands, hub, ledger, stats
        self.risk = risk
        self.strategies = strategies
        self._interval = interval
        self._account = account

    @property
    def gate(self) -> RiskGate:
        return self.risk.gate

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self._interval)
            except TimeoutError:
                pass
            if not stop.is_set():
                await self.tick()

    def _target_account(self) -> str | None:
        if self._account is not None:
            return self._account
        accounts = {link.account for link in self._hub.links.values()}
        return accounts.pop() if len(accounts) == 1 else None

    async def tick(self) -> list[Decision]:
        """Evaluate every strategy once; returns the decisions made."""
        account_id = self._target_account()
        if account_id is None:
            return []  # no node to trade through: nothing to decide for
        now = self._clock.now()
        context = StrategyContext(
            now=now, quotes=dict(self._market.latest), account=self._ledger.get(account_id)
        )
        decisions = []
        for strategy in self.strategies:
            try:
                signals = strategy.evaluate(context)
            except Exception:
                log.exception("strategy %s failed; the agent goes on", strategy.name)
                continue
            for signal in signals:
                decisions.append(await self._decide(strategy.name, signal, account_id, context))
        exits = await self.risk.exits(account_id, context.account, context.quotes, now)
        for exit_signal in exits:
            decisions.append(await self._decide(exit_signal.rule, exit_signal, account_id, context))
        return decisions

    async def _decide(
        self, strategy: str, signal: Signal | ExitSignal, account_id: str, context: StrategyContext
    ) -> Decision:
        """Put one signal (a strategy's, or the gate's own exit) through the gate and record it."""
        verdict = await self.risk.check(
            account_id=account_id,
            account=context.account,
            side=signal.side,
            quantity=signal.quantity,
            price=signal.price,
            quote=context.quotes.get(signal.symbol.full),
            quotes=context.quotes,
            now=context.now,
        )
        inputs = dict(signal.inputs)
        if verdict.values:
            inputs["risk_values"] = dict(verdict.values)
        decision = Decision(
            id=uuid.uuid4().hex,
            strategy=strategy,
            account=account_id,
            symbol=signal.symbol,
            side=signal.side,
            quantity=signal.quantity,
            price=signal.price,
            reason=signal.reason,
            inputs=inputs,
            ts=context.now,
            verdict=Verdict.ACCEPTED if verdict.accepted else Verdict.REJECTED,
            rule=verdict.rule,
            risk_message=verdict.message,
        )
        return await self._record(decision)

    async def _record(self, decision: Decision) -> Decision:
        async with self._db.session() as session:
            await DecisionRepo(session).add(decision)
            await session.commit()
        self._stats.decisions += 1
        if decision.verdict is not Verdict.ACCEPTED:
            log.info(
                "decision %s %s rejected: %s", decision.side, decision.symbol, decision.risk_message
            )
            return decision
        self._stats.decisions_accepted += 1
        data = {
            "action": decision.side.value,
            "stock_code": decision.symbol.full,
            "quantity": decision.quantity,
            "price": None if decision.price is None else str(decision.price),
            "agent_id": decision.strategy,
            "decision_id": decision.id,
        }
        try:
            outcome = await self._commands.submit(
                CommandType.TRADE,
                data,
                account=decision.account,
                decision_id=decision.id,
                wait=False,
            )
        except ServiceError as exc:
            log.warning("decision %s not sent: %s", decision.id, exc)
            return decision
        async with self._db.session() as session:
            await DecisionRepo(session).set_command(decision.id, outcome.command["id"])
            await session.commit()
        log.info(
            "decision %s %s x%d -> command %s",
            decision.side,
            decision.symbol,
            decision.quantity,
            outcome.command["id"],
        )
        return replace(decision, command_id=outcome.command["id"])
