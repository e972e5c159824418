"""Everything one cloud process runs, built in the app's lifespan and stopped with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from functools import partial

from aigupiao.core.clock import Clock, LiveClock
from aigupiao.core.collector import tune_collector
from aigupiao.core.lifecycle import TaskGroup
from aigupiao.risk import LIMIT_NAMES, RiskLimits
from aigupiao.store import Database, NodeIdentity, NodeTokenRepo, SymbolRepo

from .auth import Authenticator
from .hub import NodeHub
from .services.agent import AgentRunner
from .services.backtests import BacktestService
from .services.bars import BarRecorder
from .services.commands import CommandService
from .services.equity import EquityHistory
from .services.ledger import Ledger, Stats
from .services.market import Feed, MarketService
from .services.pipeline import DecisionPipeline
from .services.raw import RawRecorder
from .services.results import ResultRecorder
from .services.risk import RiskService
from .services.rounds import RoundLog
from .services.stream import QuoteStream
from .services.trading import TradeService
from .settings import CloudSettings

log = logging.getLogger(__name__)


@dataclass
class CloudRuntime:
    settings: CloudSettings
    db: Database
    clock: Clock
    hub: NodeHub
    market: MarketService
    commands: CommandService
    auth: Authenticator
    results: ResultRecorder
    agent: AgentRunner
    risk: RiskService
    trading: TradeService
    ledger: Ledger
    stats: Stats
    feed: Feed | None
    bars: BarRecorder
    stream: QuoteStream
    backtests: BacktestService
    raw: RawRecorder | None = None  # only with market.keep_raw
    symbols: list[dict[str, object]] = field(default_factory=list)
    tasks: TaskGroup = field(default_factory=lambda: TaskGroup("cloud"))
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def build(
        cls,
        settings: CloudSettings,
        *,
        feed: Feed | None,
        clock: Clock | None = None,
        symbols: list[dict[str, object]] | None = None,
    ) -> CloudRuntime:
        db = Database(settings.database_url)
        stats, ledger = Stats(), Ledger()

        async def verify_token(token: str) -> NodeIdentity | None:
            async with db.session() as session:
                identity = await NodeTokenRepo(session).verify(token)
                await session.commit()
            return identity

        hub = NodeHub(
            verify_token,
            settings.local_trading.heartbeat_s,
            max_auth_failures=settings.local_trading.auth_failures_per_minute,
        )
        market_clock = clock or LiveClock()
        market_settings = settings.market
        market = MarketService(
            db,
            stats,
            market_settings.store_interval,
            clock=market_clock,
            max_quote_age=market_settings.max_quote_age,
        )
        bars = BarRecorder(db, market_clock, interval=market_settings.store_interval)
        market.subscribe(bars.on_quotes)
        stream = QuoteStream(market.latest)
        market.subscribe(stream.on_quotes)
        raw: RawRecorder | None = None
        if market_settings.keep_raw:
            raw = RawRecorder(
                db,
                market_clock,
                interval=market_settings.store_interval,
                retention_days=market_settings.raw_retention_days,
            )
            market.subscribe_sourced(raw.on_batch)
        equity = EquityHistory(
            db,
            market_clock,
            interval=settings.accounts.equity_interval,
            retention_days=settings.accounts.equity_retention_days,
        )
        results = ResultRecorder(db, ledger, stats, equity=equity)
        commands = CommandService(db, hub, results, stats, settings.local_trading)
        agent_settings = settings.agent
        risk = RiskService(
            db, RiskLimits(**{name: getattr(agent_settings, name) for name in LIMIT_NAMES})
        )
        # The one path of every order: gate, decision + command in one transaction, send.
        pipeline = DecisionPipeline(db=db, risk=risk, commands=commands, ledger=ledger)
        trading = TradeService(
            db=db,
            clock=market_clock,
            market=market,
            ledger=ledger,
            hub=hub,
            commands=commands,
            pipeline=pipeline,
        )
        agent = AgentRunner(
            db=db,
            clock=market_clock,
            market=market,
            bars=bars,
            pipeline=pipeline,
            hub=hub,
            ledger=ledger,
            stats=stats,
            risk=risk,
            settings=agent_settings,
            rounds=RoundLog(db),
        )
        return cls(
            settings=settings,
            db=db,
            clock=market_clock,
            hub=hub,
            market=market,
            commands=commands,
            results=results,
            auth=Authenticator(db),
            agent=agent,
            risk=risk,
            trading=trading,
            ledger=ledger,
            stats=stats,
            feed=feed,
            bars=bars,
            stream=stream,
            backtests=BacktestService(db, settings.backtest),
            raw=raw,
            symbols=symbols or [],
        )

    async def start(self) -> None:
        tune_collector()  # a full market's churn against a large heap: see core/collector.py
        await self.db.upgrade()
        await self.risk.load()  # before anything can trade: a HALTED state survives restarts
        await self.backtests.recover()  # runs a dead process left pending: failed, interrupted
        if self.symbols:
            async with self.db.session() as session:
                await SymbolRepo(session).upsert_many(self.symbols)
                await session.commit()
        await self.agent.start()  # user strategy files; each account's set on first use
        # Each task is started from a factory, so that one that raises is started again
        # (with backoff, counted in /api/health) instead of dying for good.
        stop, start = self.stop_event, self.tasks.start
        if self.feed is not None:
            source = getattr(self.feed, "name", None) or self.settings.market.feed
            start("feed", partial(self.feed.run, self.market.publisher(str(source)), stop))
        start("quote-store", partial(self.market.store_loop, stop))
        start("bar-store", partial(self.bars.run, stop))
        if self.raw is not None:
            start("raw-store", partial(self.raw.run, stop))
            start("raw-retention", partial(self.raw.run_retention, stop))
        start("token-watch", self._watch_revocations)
        start("ack-writer", partial(self.commands.write_acks, stop))
        start("snapshot-writer", partial(self.results.run, stop))
        start("equity-retention", partial(self.results.equity.run_retention, stop))
        marks = self.settings.accounts.equity_interval
        start("equity-marks", partial(self.results.run_marks, stop, self.market.quote, marks))
        if self.settings.agent.enabled:
            start("agent", partial(self.agent.run, stop))
        for worker in range(self.backtests.workers):
            start(f"backtest-{worker}", partial(self.backtests.work, stop))

    async def _watch_revocations(self) -> None:
        """Close a live socket soon after its token is revoked, even from another process."""
        interval = self.settings.local_trading.token_check_interval
        while not self.stop_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), interval)
            live = {link.token_name for link in self.hub.links.values()}
            if not live:
                continue
            async with self.db.session() as session:
                tokens = await NodeTokenRepo(session).list()
            for row in tokens:
                if row["revoked_at"] is not None and row["name"] in live:
                    self.auth.forget()
                    await self.hub.drop_token(row["name"])

    async def stop(self) -> None:
        self.stop_event.set()
        self.backtests.shutdown()  # running engines stop at their next bar
        # Waits on its queue, not on the stop event; an ack it drops leaves the command
        # ``sent``, which the next connection re-sends and the node answers from its journal.
        await self.tasks.cancel("ack-writer")
        await self.tasks.stop(grace=2)
        await self.agent.aclose()
        await self.hub.close_all()
        await self.results.flush()
        await self.risk.flush()
        await self.market.flush()
        await self.bars.flush()
        if self.raw is not None:
            await self.raw.flush()
        await self.db.dispose()
