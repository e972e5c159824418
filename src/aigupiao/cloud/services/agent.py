"""The agent runner: strategies -> the decision pipeline (risk gate, decision + command, send).

Every ``decision_interval`` seconds, and as soon as 1-minute bars close, the runner
evaluates each account's active strategies (:class:`~.strategies.StrategyBook`) against
one shared :class:`~aigupiao.strategy.state.MarketState`, fed with every quote batch and
loaded with the stored daily bars before the first round. Each signal becomes a
proposal of the :class:`~.pipeline.DecisionPipeline`, the path manual orders take too:
per account, the round's proposals pass the risk gate (which counts the account's open
orders and each proposal it accepted before), and one transaction stores every decision
with its inputs and verdict and, for the accepted, the command it becomes. The gate
adds its own exits (stop-loss, trailing stop) as decisions of strategy ``stop_loss`` or
``trailing_stop``, of the shares no open sell holds; a strategy's sell of a symbol the
gate exits in the same round is dropped (the exit sells everything available).

A strategy that raises is logged with its name, recorded in :meth:`AgentRunner.status`
and skipped for that round; the agent goes on. The garbage collector is paused while
the strategies run (docs/strategies.md). The stored commands are queued and sent to the
account's node by the runner's own sender task, so a round never waits on a node.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time as monotonic
import traceback
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from aigupiao.core.clock import Clock
from aigupiao.core.collector import freeze_startup_heap
from aigupiao.core.logging import QuietLog
from aigupiao.domain.account import Account
from aigupiao.domain.decisions import Decision
from aigupiao.domain.errors import DomainError
from aigupiao.domain.market import Bar, Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import parse_symbol
from aigupiao.risk import ExitSignal, RiskGate
from aigupiao.store import BarRepo, Database, SymbolRepo
from aigupiao.strategy.base import Signal, Strategy, StrategyContext, signal_shares
from aigupiao.strategy.series import FIELDS
from aigupiao.strategy.state import MarketState

from ..hub import NodeHub
from ..settings import AgentSection
from .bars import BarRecorder
from .ledger import Ledger, Stats
from .market import MarketService
from .pipeline import RUNNER_INPUTS, DecisionPipeline, Placement, Proposal
from .risk import RiskService
from .rounds import RoundLog
from .strategies import StrategyBook

log = logging.getLogger(__name__)

HISTORY_DAYS = 220  # calendar days of daily bars loaded at start (about 150 trading days)
MAX_ERRORS = 100  # strategy failures kept for the status
CLOSE = time(15, 0)
__all__ = ["RUNNER_INPUTS", "AgentRunner"]


@dataclass(frozen=True, slots=True)
class _Proposal:
    account: str
    strategy: str
    signal: Signal | ExitSignal


class AgentRunner:
    """Runs the strategies of every traded account; see the module docstring.

    The accounts traded are ``agent.account`` when set, else those of the connected
    nodes.
    """

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        market: MarketService,
        bars: BarRecorder,
        pipeline: DecisionPipeline,
        hub: NodeHub,
        ledger: Ledger,
        stats: Stats,
        risk: RiskService,
        settings: AgentSection,
        rounds: RoundLog | None = None,
    ) -> None:
        self._db, self._clock, self._market, self._bars = db, clock, market, bars
        self._pipeline, self._hub, self._ledger, self._stats = pipeline, hub, ledger, stats
        self.risk = risk
        self.settings = settings
        self.round_log = rounds  # recorded for the live-versus-backtest replay
        self.interval = settings.decision_interval
        self.state = MarketState()
        self.book = StrategyBook(
            db,
            clock,
            defaults={
                "dip_buy": {"threshold": settings.dip_threshold, "quantity": settings.dip_quantity},
                "stop_loss": {"risk_threshold": settings.risk_threshold},
            },
            paths=settings.strategy_paths,
            prepare=self._prepare,
            llm_endpoints=settings.llm.endpoints,
        )
        self._outbox: asyncio.Queue[Placement | None] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._fed = False  # the market state is fed by the quote bus (else: each round)
        self._last_bar_end: datetime | None = None
        self._closed_day: Any = None
        self._quiet = QuietLog(log)
        self.running = False
        self.last_run_at: datetime | None = None
        self.last_duration_ms: float | None = None
        self.last_eval_ms: float | None = None
        self.last_trigger: str | None = None
        self.rounds = 0
        self.history_bars = 0
        self.errors: deque[dict[str, Any]] = deque(maxlen=MAX_ERRORS)
        self.failures: dict[str, int] = {}
        self.sent = 0
        self.send_failures = 0

    @property
    def gate(self) -> RiskGate:
        return self.risk.gate

    def _prepare(self, strategy: Strategy) -> None:
        prepare = getattr(strategy, "prepare", None)
        if callable(prepare):
            try:
                prepare(self.state)
            except Exception as exc:
                self._failed("-", strategy.name, exc)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the user strategy files (at start, whether or not the agent runs)."""
        report = self.book.load_files()
        for error in report["errors"]:
            log.warning("strategy file %s failed: %s", error["file"], error["error"])

    async def run(self, stop: asyncio.Event) -> None:
        """Load the history, then evaluate every ``interval`` seconds and on bar closes
        until ``stop``; sends accepted decisions from a task of its own."""
        unsubscribe_quotes = self._market.subscribe(self.state.on_quotes)
        self.state.on_quotes(list(self._market.latest.values()))
        self._fed = True
        unsubscribe_bars = self._bars.on_close(self._on_bars_closed)
        sender = asyncio.create_task(self._send_loop(), name="agent:orders")
        self.running = True
        try:
            await self._load_history()
            next_due = monotonic.monotonic() + self.interval
            while not stop.is_set():
                trigger = await self._wait(stop, next_due)
                if stop.is_set():
                    break
                next_due = monotonic.monotonic() + self.interval
                try:
                    await self.tick(trigger)
                except Exception as exc:  # a database hiccup must not end the agent
                    self._failed("-", "agent", exc)
                if self.round_log is not None:
                    await self.round_log.flush()
        finally:
            self.running = False
            unsubscribe_quotes()
            unsubscribe_bars()
            self._fed = False
            await self._outbox.put(None)
            if self.round_log is not None:
                await self.round_log.flush()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(sender, 5)

    async def aclose(self) -> None:
        """Release what strategies hold (the LLM strategy's client and task)."""
        await self.book.aclose()

    async def _wait(self, stop: asyncio.Event, due: float) -> str:
        """Until the next round is due, a bar closes or ``stop``; says which."""
        timeout = max(0.0, due - monotonic.monotonic())
        stopping = asyncio.ensure_future(stop.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait(
                {stopping, woken}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in (stopping, woken):
                waiter.cancel()
        if woken in done:
            self._wake.clear()
            return "bar_close"
        return "interval"

    def _on_bars_closed(self, bars: list[Bar]) -> None:
        newest = max(bar.end for bar in bars)
        if self._last_bar_end is None or newest > self._last_bar_end:
            self._last_bar_end = newest
            self._wake.set()

    async def _load_history(self) -> None:
        """Every symbol known and its stored daily bars into the market state, before the
        first round; then the long-lived objects leave the collector's full scans."""
        start = self._clock.now() - timedelta(days=HISTORY_DAYS)
        async with self._db.session() as session:
            symbols = await SymbolRepo(session).list()
            bars = await BarRepo(session).since("1d", start)
        for row in symbols:
            try:
                symbol = parse_symbol(row["code"])
            except DomainError:
                continue
            self.state.add_symbol(symbol, row["name"], is_st=bool(row["is_st"]))
        by_symbol: dict[str, list[dict[str, Any]]] = {}
        for row in bars:
            by_symbol.setdefault(row["symbol"], []).append(row)
        loaded = 0
        for code, rows in by_symbol.items():
            try:
                symbol = parse_symbol(code)
                days = [row["end"].astimezone(BEIJING).date().toordinal() for row in rows]
                columns = {name: [float(row[name]) for row in rows] for name in FIELDS}
                loaded += self.state.load_history_columns(symbol, days, columns)
            except (DomainError, ValueError) as exc:
                log.warning("daily bars of %s not loaded: %s", code, exc)
        self.history_bars = loaded
        log.info("agent: %d symbols, %d daily bars loaded", len(self.state), loaded)
        freeze_startup_heap()

    # -- one round ----------------------------------------------------------------------------

    def accounts(self) -> list[str]:
        """The accounts traded now."""
        if self.settings.account is not None:
            return [self.settings.account]
        return sorted({link.account for link in self._hub.links.values()})

    def default_account(self) -> str | None:
        """The account meant when a caller names none: the only one traded, if one."""
        accounts = self.accounts()
        return accounts[0] if len(accounts) == 1 else None

    async def tick(self, trigger: str = "manual") -> list[Decision]:
        """Evaluate every active strategy of every account once; returns the decisions."""
        started = monotonic.perf_counter()
        now = self._clock.now()
        accounts = self.accounts()
        for account_id in accounts:
            await self.book.ensure(account_id)
        if not self._fed:
            self.state.on_quotes(list(self._market.latest.values()))
        self._close_day(now)
        quotes = dict(self._market.latest)
        snapshots = {account_id: self._ledger.get(account_id) for account_id in accounts}
        if self.round_log is not None:  # nothing awaited until the strategies have run
            self.round_log.record(now, trigger, snapshots)
        proposals = self._evaluate(now, snapshots)
        self.last_eval_ms = (monotonic.perf_counter() - started) * 1000
        decisions: list[Decision] = []
        for account_id in accounts:
            signals = [proposal for proposal in proposals if proposal.account == account_id]
            account = snapshots[account_id]
            decisions += await self._decide(account_id, account, signals, quotes, now)
        if self.round_log is not None and not self.running:  # a round by hand
            await self.round_log.flush()
        self.rounds += 1
        self.last_run_at = now
        self.last_trigger = trigger
        self.last_duration_ms = (monotonic.perf_counter() - started) * 1000
        return decisions

    def _evaluate(self, now: datetime, snapshots: Mapping[str, Account | None]) -> list[_Proposal]:
        """Run the strategies (synchronous, collector paused); catches each one's errors."""
        proposals: list[_Proposal] = []
        collecting = gc.isenabled()
        gc.disable()
        try:
            for account_id, account in snapshots.items():
                context = StrategyContext(
                    now=now, quotes=self.state.quotes, account=account, market=self.state
                )
                for strategy in self.book.active(account_id):
                    try:
                        signals = strategy.evaluate(context)
                        proposals.extend(_Proposal(account_id, strategy.name, s) for s in signals)
                    except Exception as exc:
                        self._failed(account_id, strategy.name, exc)
        finally:
            if collecting:
                gc.enable()
        return proposals

    def _close_day(self, now: datetime) -> None:
        """After 15:00 today's quotes become daily bars (once a day)."""
        local = now.astimezone(BEIJING)
        if local.time() >= CLOSE and self.state.day == local.date() != self._closed_day:
            self.state.close_day(local.date())
            self._closed_day = local.date()

    def _failed(self, account: str, strategy: str, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        self.failures[strategy] = self.failures.get(strategy, 0) + 1
        self.errors.append(
            {"strategy": strategy, "account": account, "message": message,
             "at": self._clock.now()}
        )  # fmt: skip
        trace = "".join(traceback.format_exception(exc)).rstrip()
        self._quiet.warning(
            f"{strategy}:{type(exc).__name__}",
            "strategy %s failed (account %s); the agent goes on: %s\n%s",
            strategy, account, message, trace,
        )  # fmt: skip

    async def _decide(
        self,
        account_id: str,
        account: Account | None,
        signals: list[_Proposal],
        quotes: Mapping[str, Quote],
        now: datetime,
    ) -> list[Decision]:
        """One account's round through the pipeline: the gate's exits and the strategies'
        signals judged under the account's lock, stored in one transaction, then queued
        for sending."""
        if not signals and (account is None or not any(p.available for p in account.positions)):
            # Nothing proposed and nothing that could be sold: the gate still watches the
            # account (daily loss, trailing highs), without reading its open orders.
            await self.risk.exits(account_id, account, quotes, now)
            return []
        async with self._pipeline.batch(account_id, now) as batch:
            exits = await self.risk.exits(account_id, account, quotes, now, pending=batch.pending)
            exiting = {exit_signal.symbol.full for exit_signal in exits}
            mine = [_Proposal(account_id, e.rule, e) for e in exits]
            for proposal in signals:
                signal = proposal.signal
                if signal.side is Side.SELL and signal.symbol.full in exiting:
                    log.debug("%s: the gate already exits %s", proposal.strategy, signal.symbol)
                    continue
                mine.append(proposal)
            for proposal in mine:
                sized = _sized(proposal, account, quotes.get(proposal.signal.symbol.full))
                if sized is not None:
                    await batch.judge(sized, account=account, quotes=quotes)
            placements = await batch.store()
        for placement in placements:
            decision = placement.decision
            assert decision is not None
            self._stats.decisions += 1
            if placement.command is not None:
                self._stats.decisions_accepted += 1
                if self.running:
                    self._outbox.put_nowait(placement)
                else:  # a round by hand, without the sender task
                    await self._send(placement)
            else:
                log.info(
                    "decision %s %s %s rejected: %s",
                    decision.strategy, decision.side, decision.symbol, decision.risk_message,
                )  # fmt: skip
        return [placement.decision for placement in placements if placement.decision is not None]

    # -- sending ------------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        """Send queued commands in order until the ``None`` that ends the run."""
        while (placement := await self._outbox.get()) is not None:
            await self._send(placement)

    async def _send(self, placement: Placement) -> None:
        """Send one stored command (no waiting for the result). One that cannot go now is
        already stored as sent: it goes out when the node registers again."""
        decision = placement.decision
        assert decision is not None and placement.command is not None
        try:
            await self._pipeline.send(placement, wait=False)
        except Exception:
            self.send_failures += 1
            log.exception("command %s of decision %s could not be sent",
                          placement.command["id"], decision.id)  # fmt: skip
            return
        self.sent += 1
        log.info(
            "decision %s %s x%d -> command %s",
            decision.side, decision.symbol, decision.quantity, placement.command["id"],
        )  # fmt: skip

    # -- status ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """For ``GET /api/agent/status``."""
        accounts = []
        for account_id in sorted({*self.accounts(), *self.book.accounts()}):
            active = [s.name for s in self.book.active(account_id)]
            accounts.append(
                {"account": account_id, "traded": account_id in self.accounts(),
                 "active": active}
            )  # fmt: skip
        errors = [*self.book.load_errors(), *self.errors]
        return {
            "running": self.running,
            "enabled": self.settings.enabled,
            "interval_s": self.interval,
            "last_run_at": self.last_run_at,
            "last_duration_ms": _ms(self.last_duration_ms),
            "last_eval_ms": _ms(self.last_eval_ms),
            "last_trigger": self.last_trigger,
            "rounds": self.rounds,
            "accounts": accounts,
            "strategies_loaded": self.book.names(),
            "errors": list(reversed(errors)),
            "failures": dict(self.failures),
            "symbols": len(self.state),
            "history_bars": self.history_bars,
            "sent": self.sent,
            "send_failures": self.send_failures,
            "queued": self._outbox.qsize(),
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _sized(proposal: _Proposal, account: Account | None, quote: Quote | None) -> Proposal | None:
    """The pipeline's proposal for a signal: a target weight sized in shares (None when
    it cannot be sized or the position is already at the weight)."""
    signal = proposal.signal
    quantity = signal.quantity
    inputs: dict[str, Any] = dict(signal.inputs)
    if isinstance(signal, Signal):
        inputs["confidence"] = signal.confidence
        if signal.target_weight is not None:
            inputs["target_weight"] = str(signal.target_weight)
        shares = signal_shares(signal, account, quote)
        if shares is None:
            return None  # cannot be sized, or already at the weight
        quantity = shares
    return Proposal(
        strategy=proposal.strategy,
        symbol=signal.symbol,
        side=signal.side,
        quantity=quantity,
        price=signal.price,
        reason=signal.reason,
        inputs=inputs,
        agent_id=proposal.strategy,
    )
