"""``aigupiao bench pipeline``: full-market rounds through parse -> bus -> agent -> storage.

Each round is one Level-1 snapshot of the whole market as the chagubang feed delivers it:
framed records (:class:`~aigupiao.bench.chagubang.Tape`, the simulator's market made as
quiet as the one real series we have), cut into 64 KiB socket reads. A round goes through
the real components, on one event loop:

1. **parse**: :class:`FrameDecoder`, :class:`Inbox` and :class:`RecordParser`;
2. **bus**: :meth:`MarketService.publish` (validation, the latest quotes, the Bus with
   its subscribers: the 1-minute bar aggregator and, with the agent on, the strategies'
   market state);
3. **agent**: the default strategy set evaluated on the round, each signal through the
   risk gate (decision out);
4. **storage**: what the cloud's background tasks do between rounds: ``quotes_latest``
   flushed every ``store_interval``, closed 1-minute bars stored, decisions stored.

Two measurements per configuration. *Throughput*: rounds back to back as fast as the
loop takes them, storage included (``quotes_per_s``). *Latency*: rounds arriving paced at
``rate`` quotes per second (default 50,000: a full round every ~110 ms); the latency of a
round is from its arrival to the agent's decisions on it, waiting included, so a
pipeline slower than the rate shows as growing latency (``p50_ms``, ``p99_ms``). The
same is run with the agent and storage turned off, then with the agent alone, so each
stage's cost is visible. ``peak_rss_mb`` is the process's peak resident memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import resource
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from aigupiao.cloud.services.bars import BarRecorder
from aigupiao.cloud.services.ledger import Stats
from aigupiao.cloud.services.market import MarketService
from aigupiao.core.clock import ManualClock
from aigupiao.domain.account import Account
from aigupiao.domain.market import Quote
from aigupiao.market.feeds.chagubang_wire import BadRecord, FrameDecoder, Inbox, RecordParser
from aigupiao.risk.gate import RiskGate, RiskLimits
from aigupiao.store import Database
from aigupiao.strategy.base import StrategyContext
from aigupiao.strategy.registry import DEFAULT_SET, create
from aigupiao.strategy.state import MarketState

from .chagubang import BSE_SHARE, INDEXES, READ_SIZE, Tape, frame

STORE_INTERVAL = 1.0  # seconds between quotes_latest flushes (the cloud's default is 2)


@dataclass
class _Round:
    pieces: list[bytes]  # 64 KiB socket reads
    records: int
    now: Any  # the market time of the snapshot


def _rounds(symbols: int, rounds: int, seed: int) -> tuple[list[_Round], Tape]:
    bse = max(1, round(symbols * BSE_SHARE))
    indexes = min(len(INDEXES), max(1, symbols // 500))
    tape = Tape(max(1, symbols - bse - indexes), bse=bse, indexes=indexes, seed=seed)
    made = []
    for _ in range(rounds):
        payloads = [payload for _, payload in tape.next_round()]
        stream = b"".join(frame(payload) for payload in payloads)
        pieces = [stream[at : at + READ_SIZE] for at in range(0, len(stream), READ_SIZE)]
        made.append(_Round(pieces, len(payloads), tape.clock.now()))
    return made, tape


class _Pipeline:
    """One configuration of the pipeline over fresh components."""

    def __init__(self, db: Database, tape: Tape, *, agent: bool, storage: bool) -> None:
        self.clock = ManualClock(tape.clock.now())
        self.stats = Stats()
        self.market = MarketService(db, self.stats, STORE_INTERVAL, clock=self.clock)
        self.storage_on = storage
        self.bars = BarRecorder(db, self.clock, interval=STORE_INTERVAL) if storage else None
        if self.bars is not None:
            self.market.subscribe(self.bars.on_quotes)
        self.state = MarketState()
        self.strategies = [create(name) for name in DEFAULT_SET] if agent else []
        if agent:
            for strategy in self.strategies:
                strategy.prepare(self.state)
            for info in tape.universe:
                if info.symbol.is_stock:
                    self.state.add_symbol(info.symbol, info.name, is_st=info.is_st)
            self.state.start_day(self.clock.today())
            self.market.subscribe(self.state.on_quotes)
        self.gate = RiskGate(RiskLimits())
        self.account = Account("bench", cash=Decimal(10_000_000), positions=())
        self.decisions = 0
        self.refused = 0
        # One connection's reader and parser for the whole run, as the feed keeps them.
        self.decoder, self.inbox, self.parser = FrameDecoder(), Inbox(), RecordParser()

    def process(self, item: _Round) -> None:
        """One round: parse, publish, evaluate (decisions out)."""
        self.clock.set(item.now)
        decoder, inbox, parser = self.decoder, self.inbox, self.parser
        quotes: list[Quote] = []
        for piece in item.pieces:
            inbox.put(decoder.feed(piece))
            for payload in inbox.take(len(inbox)):
                try:
                    quote = parser.parse(payload)
                except BadRecord:
                    self.refused += 1
                    continue
                if quote.symbol.is_stock:
                    quotes.append(quote)
        self.market.publish(quotes, source="chagubang")
        if not self.strategies:
            return
        context = StrategyContext(
            now=item.now, quotes=self.state.quotes, account=self.account, market=self.state
        )
        for strategy in self.strategies:
            for signal in strategy.evaluate(context):
                self.gate.check(
                    side=signal.side,
                    quantity=signal.quantity,
                    price=signal.price,
                    quote=context.quotes.get(signal.symbol.full),
                    account=self.account,
                    now=item.now,
                )
                self.decisions += 1

    async def run(self, items: list[_Round], period: float) -> tuple[float, list[float]]:
        """Feed the rounds ``period`` seconds apart (0: back to back); returns the elapsed
        seconds and each round's latency from its arrival to its decisions."""
        stop = asyncio.Event()
        tasks = []
        if self.storage_on:
            tasks.append(asyncio.create_task(self.market.store_loop(stop), name="quote-store"))
            if self.bars is not None:
                tasks.append(asyncio.create_task(self.bars.run(stop), name="bar-store"))
        latencies = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        for number, item in enumerate(items):
            arrival = start + number * period
            wait = arrival - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                await asyncio.sleep(0)  # the storage tasks get their turn between rounds
            self.process(item)
            latencies.append(loop.time() - arrival)
        if self.storage_on:
            await self.market.flush()
            if self.bars is not None:
                await self.bars.flush()
        elapsed = loop.time() - start
        stop.set()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return elapsed, latencies


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000, 2)


async def run(
    symbols: int = 5_500,
    rounds: int = 60,
    *,
    db_url: str | None = None,
    rate: float = 50_000,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run every configuration (see the module docstring); ``db_url`` an empty database
    (default: a new SQLite file)."""
    items, tape = _rounds(symbols, rounds, seed)
    per_round = items[0].records
    period = per_round / rate
    with tempfile.TemporaryDirectory(prefix="aigupiao-pipeline-") as tmp:
        url = db_url or f"sqlite+aiosqlite:///{Path(tmp) / 'pipeline.db'}"
        db = Database(url)
        await db.upgrade()
        results: dict[str, dict[str, Any]] = {}
        try:
            configs = (
                ("parse_bus", False, False),
                ("parse_bus_agent", True, False),
                ("full", True, True),
            )
            for done, (name, agent, storage) in enumerate(configs):
                gc.collect()
                through = _Pipeline(db, tape, agent=agent, storage=storage)
                elapsed, _ = await through.run(items, 0.0)
                paced = _Pipeline(db, tape, agent=agent, storage=storage)
                _, latencies = await paced.run(items, period)
                quotes = through.stats.quotes
                results[name] = {
                    "quotes_per_s": round(quotes / elapsed),
                    "p50_ms": _ms(latencies, 0.50),
                    "p99_ms": _ms(latencies, 0.99),
                    "mean_round_ms": round(statistics.fmean(latencies) * 1000, 2),
                    "quotes": quotes,
                    # unparsable records, and quotes the validator refused
                    "refused": through.refused + sum(through.market.validator.refused.values()),
                    "decisions": through.decisions,
                }
                if progress is not None:
                    progress(done + 1)
        finally:
            await db.dispose()
    full = results["full"]
    return {
        "bench": "pipeline",
        "symbols": per_round,
        "rounds": rounds,
        "database": url.split(":", 1)[0],
        "rate": rate,
        "quotes_per_s": full["quotes_per_s"],
        "p50_ms": full["p50_ms"],
        "p99_ms": full["p99_ms"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "stages": results,
    }
