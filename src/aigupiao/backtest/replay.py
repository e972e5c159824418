"""Live versus backtest: replay one account's day and list where the decisions differ.

:func:`replay_day` re-runs a recorded live day (:mod:`.replay_facts` reads it) through the
very code the live agent runs: the strategy classes built from the account's stored
settings, one shared :class:`~aigupiao.strategy.state.MarketState` loaded with the same
symbols and daily bars, and a :class:`~aigupiao.risk.RiskGate` with the stored limits and
the day's trading-state changes, in the agent's order (the gate's exits first, then the
strategies' signals, each sized and judged against the account's open orders).

**Moments.** It evaluates at the moments the live agent did: the rounds it recorded
(``agent_rounds``), each with the quotes the live strategies had seen then (raw
snapshots received up to the round's wall-clock time) and the account snapshot they were
given. A snapshot that came ``late_after`` market seconds or more after its own time is
what a backtest sees on time and live did not: it is fed on time, and a difference it
causes is put down to the late quote. Without raw snapshots, the 1-minute bars stand in
(each bar as the quote at its end); without recorded rounds, the moments are the live
decision times and the bar closes, from the morning's positions and cash.

**A backtest's world.** The replay has a broker that always answers: where the live
node was offline (the agent did not trade the account, or the pipeline refused
``node_offline``), where the live broker refused an order or its outcome stayed unknown,
the replay's order fills at the quote of the moment (best ask or bid, else last; the
paper broker's fees), and the account it decides on from then on is the live one with
its own orders added and the live orders it did not place taken out. So a day on which
nothing went wrong replays with zero differences, and each difference names its reason:
node offline, broker refusal, unknown outcome, late quote, a fill at another price, a
different verdict of the gate, or an earlier difference it follows from. Where the cloud
started again during the day (a new run), the replay starts again as the new process did.

The parts: :mod:`.replay_facts` reads the day, :mod:`.replay_quotes` hands out its quotes
in pages, :mod:`.replay_book` keeps the account, the replay's own orders and the gate,
:mod:`.replay_compare` pairs and explains, :mod:`.replay_model` is what comes out.
"""

from __future__ import annotations

import logging
import time as monotonic
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError

from aigupiao.domain.account import Account
from aigupiao.domain.errors import DomainError
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import parse_symbol
from aigupiao.risk import ExitSignal, OpenOrders, PendingOrder
from aigupiao.risk.state import SOURCE_DAILY_LOSS, StateRecord
from aigupiao.store import Database
from aigupiao.strategy.base import (
    Signal,
    Strategy,
    StrategyContext,
    signal_shares,
)
from aigupiao.strategy.loader import UserStrategies
from aigupiao.strategy.registry import (
    BUILTINS,
    StrategyChoice,
    StrategySet,
    builtin_settings,
    parse_choices,
    user_instance,
)
from aigupiao.strategy.series import FIELDS
from aigupiao.strategy.state import MarketState

from .replay_book import (
    FEES,
    AccountBook,
    ReplayOrder,
    fill_price,
    gate_for,
    open_at,
    reflected,
)
from .replay_compare import Cause, Comparison, Decided
from .replay_facts import (
    DayFacts,
    LiveDecision,
    ReplayInputError,
    Round,
    load_day,
)
from .replay_model import (
    DecisionView,
    Difference,
    Reason,
    ReplayResult,
    ReplaySettings,
)
from .replay_quotes import StoredQuote

log = logging.getLogger(__name__)

__all__ = ["DecisionView", "Difference", "Reason", "ReplayInputError", "ReplayResult",
           "ReplaySettings", "replay_day", "replay_facts"]  # fmt: skip

CLOSE = time(15, 0)


async def replay_day(
    db: Database, account: str, day: date, settings: ReplaySettings | None = None
) -> ReplayResult:
    """Replay ``account``'s ``day`` and compare it with what was stored.

    Raises:
        ReplayInputError: not a trading day, an unknown account, nothing stored that day.
    """
    facts = await load_day(db, account, day)
    return await replay_facts(facts, settings or ReplaySettings())


async def replay_facts(facts: DayFacts, settings: ReplaySettings) -> ReplayResult:
    """:func:`replay_day` on facts already read (their quotes are read as it goes)."""
    started = monotonic.perf_counter()
    replay = _Replay(facts, settings)
    await replay.run()
    return ReplayResult(
        account=facts.account,
        day=facts.day,
        quote_source=facts.quote_source,
        moments_source="rounds" if facts.rounds else "decisions_and_bars",
        moments=len(replay.moments),
        live_decisions=len(facts.decisions),
        replay_decisions=replay.decided,
        matched=replay.matched,
        differences=replay.differences,
        offline=replay.offline(),
        not_replayed=replay.not_replayed,
        warnings=list(dict.fromkeys([*facts.warnings, *replay.warnings])),
        seconds=monotonic.perf_counter() - started,
    )


# -- the replay ----------------------------------------------------------------------------


class _Replay(Comparison):
    def __init__(self, facts: DayFacts, settings: ReplaySettings) -> None:
        self.facts, self.settings = facts, settings
        self.account_id = facts.account
        self.state = MarketState()
        self.gate = gate_for(facts, settings.risk_limits)
        self.warnings: list[str] = []
        self.strategies = self._strategies()
        self.moments = self._traded_span() if facts.rounds else self._fallback_moments()
        self.live_at: dict[datetime, list[LiveDecision]] = defaultdict(list)
        moment_times = {m.ts for m in self.moments}
        self.not_replayed = 0
        for decision in facts.decisions:
            if decision.ts in moment_times:
                self.live_at[decision.ts].append(decision)
            else:
                self.not_replayed += 1
        self.decision_ts = {d.command_id: d.ts for d in facts.decisions if d.command_id}
        facts.quotes.late_after = timedelta(seconds=settings.late_after)
        self.closed_day: date | None = None
        self.orders: list[ReplayOrder] = []
        self.excluded: set[str] = set()  # live commands the replay did not place as live did
        self.causes: list[Cause] = []
        self.differences: list[Difference] = []
        self.decided = 0
        self.matched = 0
        self.last_account: Account | None = None
        self.run_id = ""
        self.states = sorted(facts.state_changes, key=lambda e: (e["ts"], e["id"]))
        self.next_state = 0

    # -- set up ------------------------------------------------------------------------

    def _strategies(self) -> StrategySet:
        """The account's strategies as the live book builds them from its settings
        (``strategy.registry``: the same choices, built-ins and user instances)."""
        choices = parse_choices(self.facts.strategy_settings)
        strategies = StrategySet([])
        for setting in builtin_settings(choices, self.settings.strategy_defaults):
            if setting.name == "llm":  # answers from a remote model cannot be replayed
                self.warnings.append("LLM 策略无法回放，已跳过 (the LLM strategy is not replayed)")
                continue
            try:
                strategies.apply(setting)
            except (ValidationError, KeyError) as exc:
                self.warnings.append(f"策略 {setting.name} 未能创建 (not built): {exc}")
        user = UserStrategies(self.settings.strategy_paths, reserved=BUILTINS)
        for error in user.reload().errors:
            self.warnings.append(f"策略文件 {error.path} 加载失败 (failed to load): {error.error}")
        instances: list[Strategy] = []
        for template in user.strategies:
            choice = choices.get(template.name) or StrategyChoice(enabled=True)
            if choice.enabled:
                instances.append(user_instance(template, choice.params))
        strategies.set_user_strategies(instances)
        for instance in instances:
            chosen = choices.get(instance.name)
            if chosen is not None and chosen.paused:
                strategies.pause(instance.name)
        for strategy in strategies.all():
            prepare = getattr(strategy, "prepare", None)
            if callable(prepare):
                prepare(self.state)
        return strategies

    def _traded_span(self) -> list[Round]:
        """The recorded rounds from the first to the last that traded the account: before
        its node first connected and after it left for the day, live could not decide for
        it, and nothing went wrong (said in a warning)."""
        rounds = self.facts.rounds
        traded = [i for i, r in enumerate(rounds) if self.account_id in r.accounts]
        if not traded:
            self.warnings.append(
                "这一天代理从未为该账户决策（节点未连接）：所有轮次都按离线回放 "
                "(the agent never decided for this account that day: no node connected; every "
                "round is replayed as offline)"
            )
            return rounds
        first, last = traded[0], traded[-1]
        for skipped, moment, zh, en in (
            (first, rounds[first].ts, "节点连接之前", "before its node connected"),
            (len(rounds) - 1 - last, rounds[last].ts, "节点离开之后", "after its node left"),
        ):
            if skipped:
                at = f"{moment.astimezone(BEIJING):%H:%M:%S}"
                self.warnings.append(
                    f"{at} {zh}的 {skipped} 轮未回放 ({skipped} rounds {en} at {at} not replayed)"
                )
        return rounds[first : last + 1]

    def _fallback_moments(self) -> list[Round]:
        """Without recorded rounds: the live decision times and the bar closes."""
        self.warnings.append(
            "这一天没有记录代理轮次：回放在实盘决策时刻和每根 1 分钟K线收盘时评估，结果是近似的 "
            "(no agent rounds were recorded that day: the replay evaluates at the live "
            "decision times and the bar closes, an approximation)"
        )
        moments = {d.ts for d in self.facts.decisions} | set(self.facts.minute_ends)
        account = {self.account_id: self.facts.morning}
        return [Round(ts, None, "replay", account, recorded=False) for ts in sorted(moments)]

    def _load_history(self) -> None:
        for row in self.facts.symbols:
            try:
                symbol = parse_symbol(row["code"])
            except DomainError:
                continue
            self.state.add_symbol(symbol, row["name"], is_st=bool(row["is_st"]))
        by_symbol: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.facts.daily_bars:
            by_symbol[row["symbol"]].append(row)
        for code, rows in by_symbol.items():
            try:
                days = [row["end"].astimezone(BEIJING).date().toordinal() for row in rows]
                columns = {name: [float(row[name]) for row in rows] for name in FIELDS}
                self.state.load_history_columns(parse_symbol(code), days, columns)
            except (DomainError, ValueError) as exc:
                self.warnings.append(f"{code} 的日K线未载入 (daily bars not loaded): {exc}")

    # -- the day -------------------------------------------------------------------------

    async def run(self) -> None:
        if not self.moments:
            return
        if self.facts.earlier_closes:  # the run began days ago: it closed them from quotes
            self._load_history()
            for closes in self.facts.earlier_closes:
                self.state.on_quotes([stored.quote for stored in closes])
            early = await self._feed(self.moments[0])
        else:
            early = await self._feed(self.moments[0])  # before the history, as at a start
            self._load_history()
        self.run_id = self.moments[0].run
        for moment in self.moments:
            if moment.recorded and moment.run != self.run_id:
                self._restart(moment)
            await self._round(moment, early)
            early = {}

    def _restart(self, moment: Round) -> None:
        """The cloud started again before ``moment``: a new market state from the stored
        history, strategies that remember what was proposed today, a gate with what the
        risk service keeps (states, the day's start, trailing highs) and no order history."""
        self.run_id = moment.run
        old = self.gate
        self.state = MarketState()
        self.gate = gate_for(self.facts, self.settings.risk_limits)
        self.gate.global_state, self.gate.account_states = old.global_state, old.account_states
        self.gate.day_starts, self.gate.stops = old.day_starts, old.stops
        self.strategies = self._strategies()
        today = moment.ts.astimezone(BEIJING).date()
        for strategy in self.strategies.all():
            remember = getattr(strategy, "remember", None)
            if callable(remember):
                codes = {d.code for d in self.facts.decisions
                         if d.ts < moment.ts and d.strategy == strategy.name}  # fmt: skip
                remember(today, codes)
        self._load_history()
        self.closed_day = None
        at = f"{moment.ts.astimezone(BEIJING):%H:%M:%S}"
        self.warnings.append(
            f"{at} 云端重新启动：回放从存储的状态重新开始 (the cloud started again at {at}: "
            "the replay starts again from what was stored)"
        )

    async def _round(self, moment: Round, early: Mapping[str, StoredQuote]) -> None:
        now = moment.ts
        late = {**early, **await self._feed(moment)}
        self._apply_states(moment)
        local = now.astimezone(BEIJING)
        if local.time() >= CLOSE and self.state.day == local.date() != self.closed_day:
            self.state.close_day(local.date())
            self.closed_day = local.date()
        quotes = dict(self.state.quotes)
        traded = self.account_id in moment.accounts
        if traded or not moment.recorded:
            base = moment.accounts.get(self.account_id)
            if moment.recorded:
                self.last_account = base
        else:
            base = self.last_account  # the cloud's ledger keeps the last snapshot
        self._fill_orders(now, quotes)
        account = self._account(base, moment, quotes)
        pending = self._pending(moment)
        context = StrategyContext(now=now, quotes=self.state.quotes, account=account,
                                  market=self.state)  # fmt: skip
        signals: list[tuple[str, Signal]] = []
        for strategy in self.strategies.active():
            try:
                signals.extend((strategy.name, s) for s in strategy.evaluate(context))
            except Exception as exc:  # as the live runner: logged, skipped for the round
                log.warning("replay: strategy %s failed: %s", strategy.name, exc)
        decided = self._decide(account, signals, quotes, now, pending)
        self.decided += len(decided)
        self._compare(moment, traded, decided, self.live_at.get(now, []), late, quotes)
        self._fill_orders(now, quotes)

    async def _feed(self, moment: Round) -> dict[str, StoredQuote]:
        """Feed the quotes live had seen at ``moment`` (and the late ones on time); returns
        the late ones by code."""
        batch, late = await self.facts.quotes.take(moment.ts, moment.wall_at)
        self.state.on_quotes([stored.quote for stored in batch])
        return late

    def _apply_states(self, moment: Round) -> None:
        """The trading-state changes of the audit log up to ``moment``: all made before the
        day, and the day's made by people (the replay's gate trips the daily loss itself)."""
        when = moment.wall_at or moment.ts
        first = self.moments[0]
        began = first.wall_at or first.ts
        while self.next_state < len(self.states):
            entry = self.states[self.next_state]
            if entry["ts"] > when:
                break
            self.next_state += 1
            detail = entry["detail"] or {}
            tripped = detail.get("source") == SOURCE_DAILY_LOSS or entry["actor"] == "risk"
            if tripped and entry["ts"] >= began:
                continue
            target = str(entry["target"])
            if target != "global" and target != f"account:{self.account_id}":
                continue
            try:
                record = StateRecord.from_dict(
                    {"state": detail["to"], "reason": detail.get("reason", ""),
                     "actor": entry["actor"], "source": detail.get("source", ""),
                     "changed_at": entry["ts"].isoformat()}
                )  # fmt: skip
            except (KeyError, ValueError):
                continue
            self.gate.set_state(None if target == "global" else self.account_id, record)

    # -- the account and its open orders -------------------------------------------------

    def _account(
        self, base: Account | None, moment: Round, quotes: Mapping[str, Quote]
    ) -> Account | None:
        """The live account with the replay's own orders added and the live orders it did
        not place taken out (for days without rounds: the morning's, with every fill)."""
        if base is None:
            base = self.facts.morning
        if base is None:
            return None
        book = AccountBook(base)
        if not moment.recorded:
            for command in self.facts.commands.values():
                if command.id not in self.excluded:
                    for fill in command.fills:
                        if fill.ts <= moment.ts:
                            book.fill(command.code, command.side, fill.quantity, fill.amount,
                                      fill.fees, quotes)  # fmt: skip
        else:
            for command_id in sorted(self.excluded):
                command = self.facts.commands[command_id]
                for fill in command.fills:
                    if reflected(command, fill.ts, moment):
                        book.fill(command.code, command.side, -fill.quantity, -fill.amount,
                                  -fill.fees, quotes)  # fmt: skip
        for order in self.orders:
            if order.filled_at is not None and order.filled_at <= moment.ts:
                assert order.fill_price is not None
                book.fill(order.symbol.full, order.side.value, order.quantity,
                          order.fill_price * order.quantity, order.fees, quotes)  # fmt: skip
        return book.account() if book.changed else base

    def _pending(self, moment: Round) -> OpenOrders:
        book = OpenOrders()
        for command in sorted(self.facts.commands.values(), key=lambda c: (c.issued_at, c.id)):
            if command.id in self.excluded or not command.code:
                continue
            pending = open_at(command, moment, self.decision_ts.get(command.id))
            if pending is not None:
                book.add(pending)
        for order in self.orders:
            if order.filled_at is None:
                book.add(PendingOrder(order.symbol.full, order.side, order.quantity,
                                      order.price, source="replay"))  # fmt: skip
        return book

    def _fill_orders(self, now: datetime, quotes: Mapping[str, Quote]) -> None:
        for order in self.orders:
            if order.filled_at is not None:
                continue
            quote = quotes.get(order.symbol.full)
            if quote is None:
                continue
            price = fill_price(order, quote)
            if price is None:
                continue
            order.filled_at, order.fill_price = now, price
            fees = FEES.fees(order.symbol, order.side, price * order.quantity,
                              now.astimezone(BEIJING).date())  # fmt: skip
            order.fees = fees.total

    # -- deciding as the agent does ----------------------------------------------------------

    def _decide(
        self,
        account: Account | None,
        signals: list[tuple[str, Signal]],
        quotes: Mapping[str, Quote],
        now: datetime,
        pending: OpenOrders,
    ) -> list[Decided]:
        gate, account_id = self.gate, self.account_id
        if not signals and (account is None or not any(p.available for p in account.positions)):
            if account is not None:
                gate.observe(account_id, account, quotes, now)
                gate.exits(account_id, account, quotes, now)
            return []
        exits: list[ExitSignal] = []
        if account is not None:
            gate.observe(account_id, account, quotes, now)
            exits = gate.exits(account_id, account, quotes, now, pending)
        exiting = {e.symbol.full for e in exits}
        proposals: list[tuple[str, Signal | ExitSignal]] = [(e.rule, e) for e in exits]
        for name, signal in signals:
            if signal.side is Side.SELL and signal.symbol.full in exiting:
                continue
            proposals.append((name, signal))
        decided: list[Decided] = []
        for name, proposal in proposals:
            quote = quotes.get(proposal.symbol.full)
            quantity = _sized(proposal, account, quote)
            if quantity is None:
                continue
            if account is not None:
                gate.observe(account_id, account, quotes, now)
            verdict = gate.check(
                side=proposal.side, quantity=quantity, price=proposal.price, quote=quote,
                account=account, now=now, account_id=account_id, quotes=quotes,
                pending=pending,
            )  # fmt: skip
            view = DecisionView(name, proposal.side.value, quantity, proposal.price,
                                verdict.accepted, verdict.rule, verdict.message)  # fmt: skip
            decided.append(Decided(proposal.symbol.full, proposal.symbol, view))
        return decided


# -- helpers -----------------------------------------------------------------------------


def _sized(signal: Signal | ExitSignal, account: Account | None, quote: Quote | None) -> int | None:
    """The agent's sizing (``signal_shares``); an exit's quantity is its own."""
    return signal_shares(signal, account, quote) if isinstance(signal, Signal) else signal.quantity
