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
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from aigupiao.cloud.services.bars import BarRecorder
from aigupiao.cloud.services.ledger import Stats
from aigupiao.cloud.services.market import MarketService
from aigupiao.cloud.settings import MarketSection
from aigupiao.core.clock import ManualClock
from aigupiao.core.collector import freeze_startup_heap, tune_collector
from aigupiao.domain.account import Account
from aigupiao.domain.market import Quote
from aigupiao.market.feeds.chagubang_wire import BadRecord, FrameDecoder, Inbox, RecordParser
from aigupiao.market.universe import SymbolInfo
from aigupiao.risk.gate import RiskGate, RiskLimits
from aigupiao.store import Database
from aigupiao.strategy.base import StrategyContext
from aigupiao.strategy.registry import DEFAULT_SET, create
from aigupiao.strategy.state import MarketState

from .chagubang import BSE_SHARE, INDEXES, READ_SIZE, Tape, frame

# Seconds between quotes_latest flushes and bar writes: the cloud's own default.
_T = TypeVar("_T")
STORE_INTERVAL: float = MarketSection.model_fields["store_interval"].default


@dataclass(frozen=True)
class _Round:
    """Where one round's framed stream lies in the tape file."""

    offset: int
    size: int
    records: int
    now: datetime  # the market time of the snapshot


@dataclass(frozen=True)
class _TapeFile:
    """The rounds, written by a child process (its simulator's memory is not ours)."""

    path: Path
    rounds: list[_Round]
    universe: list[SymbolInfo]
    start: datetime

    def read(self, item: _Round, fd: int) -> list[bytes]:
        """One round as the socket would hand it over: 64 KiB reads."""
        stream = os.pread(fd, item.size, item.offset)
        return [stream[at : at + READ_SIZE] for at in range(0, len(stream), READ_SIZE)]


def _write_rounds(
    path: Path, symbols: int, rounds: int, seed: int
) -> tuple[list[_Round], list[SymbolInfo], datetime]:
    """Run the tape for ``rounds`` full-market rounds into ``path`` (in the child)."""
    bse = max(1, round(symbols * BSE_SHARE))
    indexes = min(len(INDEXES), max(1, symbols // 500))
    tape = Tape(max(1, symbols - bse - indexes), bse=bse, indexes=indexes, seed=seed)
    start = tape.clock.now()
    made = []
    offset = 0
    with path.open("wb") as out:
        for _ in range(rounds):
            payloads = [payload for _, payload in tape.next_round()]
            stream = b"".join(frame(payload) for payload in payloads)
            out.write(stream)
            made.append(_Round(offset, len(stream), len(payloads), tape.clock.now()))
            offset += len(stream)
    return made, list(tape.universe), start


_TAPE_MAIN = "from aigupiao.bench.pipeline import _tape_main; _tape_main()"


def _rounds(symbols: int, rounds: int, seed: int, directory: Path) -> _TapeFile:
    """The tape, written by a child Python process into ``directory``."""
    path, meta = directory / "tape.bin", directory / "tape.meta"
    arguments = [str(path), str(meta), str(symbols), str(rounds), str(seed)]
    subprocess.run([sys.executable, "-c", _TAPE_MAIN, *arguments], check=True)
    # Our own child wrote it, into our own temporary directory.
    made, universe, start = pickle.loads(meta.read_bytes())
    return _TapeFile(path, made, universe, start)


def _tape_main() -> None:
    """The child's entry: ``PATH META SYMBOLS ROUNDS SEED``."""
    path, meta, symbols, rounds, seed = sys.argv[1:6]
    written = _write_rounds(Path(path), int(symbols), int(rounds), int(seed))
    Path(meta).write_bytes(pickle.dumps(written))


class _Pipeline:
    """One configuration of the pipeline over fresh components."""

    def __init__(self, db: Database, tape: _TapeFile, *, agent: bool, storage: bool) -> None:
        self.clock = ManualClock(tape.start)
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
        self.cpu_seconds = 0.0  # the process's CPU time during the last run
        # One connection's reader and parser for the whole run, as the feed keeps them.
        self.decoder, self.inbox, self.parser = FrameDecoder(), Inbox(), RecordParser()

    def process(self, item: _Round, pieces: list[bytes]) -> None:
        """One round: parse, publish, evaluate (decisions out)."""
        self.clock.set(item.now)
        decoder, inbox, parser = self.decoder, self.inbox, self.parser
        quotes: list[Quote] = []
        for piece in pieces:
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

    async def run(self, tape: _TapeFile, period: float) -> tuple[float, list[float]]:
        """Feed the rounds ``period`` seconds apart (0: back to back); returns the elapsed
        seconds and each round's latency from its arrival to its decisions."""
        fd = os.open(tape.path, os.O_RDONLY)
        cpu = time.process_time()
        try:
            return await self._run(tape, fd, period)
        finally:
            self.cpu_seconds = time.process_time() - cpu
            os.close(fd)

    async def _run(self, tape: _TapeFile, fd: int, period: float) -> tuple[float, list[float]]:
        stop = asyncio.Event()
        tasks = []
        if self.storage_on:
            tasks.append(asyncio.create_task(self.market.store_loop(stop), name="quote-store"))
            if self.bars is not None:
                tasks.append(asyncio.create_task(self.bars.run(stop), name="bar-store"))
        latencies = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        for number, item in enumerate(tape.rounds):
            arrival = start + number * period
            wait = arrival - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                await asyncio.sleep(0)  # the storage tasks get their turn between rounds
            self.process(item, tape.read(item, fd))
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


async def _settled(run: Awaitable[_T]) -> _T:
    """``run`` under the cloud's collector policy (core/collector.py): the pipeline's
    long-lived state frozen once built, young collections rarer; unfrozen afterwards so
    the next configuration starts clean."""
    tune_collector()
    freeze_startup_heap()
    try:
        return await run
    finally:
        gc.unfreeze()
        gc.collect()


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
    thresholds = gc.get_threshold()
    with tempfile.TemporaryDirectory(prefix="aigupiao-pipeline-") as tmp:
        tape = _rounds(symbols, rounds, seed, Path(tmp))
        per_round = tape.rounds[0].records
        period = per_round / rate
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
                through = _Pipeline(db, tape, agent=agent, storage=storage)
                elapsed, _ = await _settled(through.run(tape, 0.0))
                quotes, decisions = through.stats.quotes, through.decisions
                cpu_seconds = through.cpu_seconds
                # unparsable records, and quotes the validator refused
                refused = through.refused + sum(through.market.validator.refused.values())
                del through
                paced = _Pipeline(db, tape, agent=agent, storage=storage)
                _, latencies = await _settled(paced.run(tape, period))
                del paced
                results[name] = {
                    "quotes_per_s": round(quotes / elapsed),
                    # per second of this process's CPU time: what a machine busy with
                    # other work does not distort
                    "quotes_per_cpu_s": round(quotes / cpu_seconds),
                    "p50_ms": _ms(latencies, 0.50),
                    "p99_ms": _ms(latencies, 0.99),
                    "mean_round_ms": round(statistics.fmean(latencies) * 1000, 2),
                    "quotes": quotes,
                    "refused": refused,
                    "decisions": decisions,
                }
                if progress is not None:
                    progress(done + 1)
        finally:
            await db.dispose()
            gc.set_threshold(*thresholds)
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
