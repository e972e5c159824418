"""``aigupiao bench agent``: how fast the strategies keep up with the full market.

The market is the simulated full market (:class:`~aigupiao.market.sim.SimMarket`): the
real snapshot's symbols (ST included), padded with clones to ``symbols`` the way
``bench broker`` does, quoted at 10:00 on a trading day and then every 3 simulated
seconds, one round per snapshot batch (every symbol quoted once a round).

Daily history, ``HISTORY_BARS`` bars per symbol ending the trading day before: real
raw daily bars from ``../shared/data/daily/hzjsw_stock-backtest`` (264 liquid SH/SZ
stocks). A symbol with its own file gets its own bars; every other symbol borrows the
bars of a file picked by a hash of its code. Either way prices are scaled so the last
close equals the symbol's previous close (the history joins the simulated day), and
the file's missing amount column becomes volume x close. Without the shared folder
the history is a deterministic random walk from the previous close
(``history_source`` in the result says which).

Two strategy sets run on the same quotes, each with its own
:class:`~aigupiao.strategy.state.MarketState` fed every batch (ingesting the quotes is
part of what is timed, as it is part of what the agent must do per batch). Set up
before the clock runs, as the agent runner does before the market opens: each
strategy's indicators are registered (``prepare``), the history is loaded and the
trading day is started (``start_day``: ST flags, listing days and limit rules), and
the objects made so far are frozen out of the garbage collector (``gc.freeze``).

* the **default set** (:data:`~aigupiao.strategy.registry.DEFAULT_SET`: dip-buy and
  stop-loss, the set a new account runs): ``p50_ms`` / ``p99_ms`` are the times of one
  full-market round (ingest + evaluate), the target being <= 30 ms on one core;
* **all built-ins** with their default configs: ``evals_per_s`` is symbols x rounds
  over the time those rounds took.

Times are wall-clock (``perf_counter``); the ``cpu_`` keys give the same rounds in CPU
time of the benchmark's thread, which other processes on a busy machine do not inflate.

Garbage collection: by default (``gc_mode="paused"``) the collector is paused while a
round runs and on for the rest of the time, as the agent runner should do around a
tick: the simulated feed allocates thousands of objects a batch (as a real feed does),
and collections that start inside a tick walk them all, which here more than doubles the
tick's time. ``gc_mode="auto"`` leaves the collector alone, to show that cost.

The account holds a round lot of one symbol in 50, some of them bought well above
today's price, so the sell rules (stop-loss, death cross, overbought, bearish
patterns) have positions to look at.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from aigupiao.core.clock import ManualClock
from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Quote
from aigupiao.domain.sessions import BEIJING, previous_trading_day
from aigupiao.domain.symbols import board_lot
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import SymbolInfo, default_shared_dir
from aigupiao.strategy.base import Strategy, StrategyContext
from aigupiao.strategy.registry import BUILTINS, DEFAULT_SET, create
from aigupiao.strategy.state import MarketState

from .broker import _trading_morning, _universe

HISTORY_BARS = 120
DAILY_DIR = Path("data/daily/hzjsw_stock-backtest/data")
ACCOUNT = "bench"


@dataclass(frozen=True, slots=True)
class _Daily:
    """One file's latest bars as floats, oldest first."""

    code: str
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]


def _read_daily(path: Path, bars: int) -> _Daily | None:
    """The last ``bars`` rows of a ``date,open,high,low,close,volume`` file."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[-bars:]
    if len(rows) < bars:
        return None
    try:
        columns = [
            [float(row[name]) for row in rows]
            for name in ("open", "high", "low", "close", "volume")
        ]
    except (KeyError, ValueError):
        return None
    code = path.stem.split("_")[-1]
    return _Daily(code, *columns)


def _real_history(shared: Path | None, bars: int) -> dict[str, _Daily]:
    """Real daily bars by six-digit code (first file of a code wins)."""
    folder = shared / DAILY_DIR if shared is not None else None
    if folder is None or not folder.is_dir():
        return {}
    found: dict[str, _Daily] = {}
    for path in sorted(folder.glob("*.csv")):
        daily = _read_daily(path, bars)
        if daily is not None and daily.code.isdigit() and daily.code not in found:
            found[daily.code] = daily
    return found


def _columns(source: _Daily, info: SymbolInfo) -> dict[str, list[float]]:
    """``source``'s bars scaled to end at ``info``'s previous close."""
    scale = float(info.previous_close) / source.close[-1]
    columns = {
        name: [value * scale for value in getattr(source, name)]
        for name in ("open", "high", "low", "close")
    }
    columns["volume"] = list(source.volume)
    columns["amount"] = [v * c for v, c in zip(source.volume, columns["close"], strict=True)]
    return columns


def _synthetic(info: SymbolInfo, bars: int, seed: int) -> dict[str, list[float]]:
    """A deterministic random walk of ``bars`` daily bars ending at the previous close."""
    rng = random.Random(f"{seed}:{info.symbol.full}:history")
    closes = [1.0]
    for _ in range(bars - 1):
        closes.append(closes[-1] * math.exp(rng.gauss(0.0, 0.02)))
    scale = float(info.previous_close) / closes[-1]
    columns: dict[str, list[float]] = {name: [] for name in ("open", "high", "low", "close")}
    previous = closes[0] * scale
    for close in closes:
        close *= scale
        open_ = previous * math.exp(rng.gauss(0.0, 0.005))
        columns["open"].append(open_)
        columns["close"].append(close)
        columns["high"].append(max(open_, close) * (1 + abs(rng.gauss(0.0, 0.01))))
        columns["low"].append(min(open_, close) * (1 - abs(rng.gauss(0.0, 0.01))))
        previous = close
    amount = float(info.amount) if info.amount > 0 else 2e8
    columns["volume"] = [amount / c * math.exp(rng.gauss(0.0, 0.3)) for c in columns["close"]]
    columns["amount"] = [v * c for v, c in zip(columns["volume"], columns["close"], strict=True)]
    return columns


def _days_before(day: date, count: int) -> list[int]:
    days = []
    for _ in range(count):
        day = previous_trading_day(day)
        days.append(day.toordinal())
    return days[::-1]


def _load(
    state: MarketState,
    universe: Sequence[SymbolInfo],
    histories: list[dict[str, list[float]]],
    days: list[int],
) -> None:
    for info, columns in zip(universe, histories, strict=True):
        state.add_symbol(info.symbol, info.name, is_st=info.is_st)
        state.load_history_columns(info.symbol, days, columns)


def _account(universe: Sequence[SymbolInfo], seed: int) -> Account:
    rng = random.Random(f"{seed}:account")
    positions = []
    for info in universe[::50]:
        lot = board_lot(info.symbol)
        cost = info.previous_close * Decimal(str(round(rng.uniform(0.85, 1.05), 3)))
        positions.append(Position(info.symbol, lot, lot, cost.quantize(Decimal("0.001"))))
    return Account(ACCOUNT, cash=Decimal(10_000_000), positions=tuple(positions))


def _round(
    state: MarketState,
    strategies: Sequence[Strategy],
    batch: list[Quote],
    now: datetime,
    account: Account,
    counts: dict[str, int],
    pause_gc: bool,
) -> tuple[float, float]:
    """Ingest one batch and evaluate every strategy once; returns (wall, CPU) seconds."""
    collecting = gc.isenabled()
    if pause_gc:
        gc.disable()
    try:
        cpu0, t0 = time.thread_time(), time.perf_counter()
        state.on_quotes(batch)
        context = StrategyContext(now=now, quotes=state.quotes, account=account, market=state)
        for strategy in strategies:
            counts[strategy.name] += len(strategy.evaluate(context))
        return time.perf_counter() - t0, time.thread_time() - cpu0
    finally:
        if collecting:
            gc.enable()


def run(
    symbols: int = 5_500,
    rounds: int = 100,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
    gc_mode: str = "paused",
) -> dict[str, Any]:
    """Run the benchmark (see the module docstring); returns one JSON-able dict."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    if gc_mode not in ("paused", "auto"):
        raise ValueError("gc_mode is 'paused' or 'auto'")
    pause_gc = gc_mode == "paused"
    setup_start = time.perf_counter()
    universe = _universe(symbols)
    start = _trading_morning(datetime.now(BEIJING).date())
    days = _days_before(start.date(), HISTORY_BARS)
    real = _real_history(default_shared_dir(), HISTORY_BARS)
    sources = [real[code] for code in sorted(real)]
    histories, kinds = [], {"own": 0, "borrowed": 0, "synthetic": 0}
    for info in universe:
        own = real.get(info.symbol.code)
        if own is not None:
            histories.append(_columns(own, info))
            kinds["own"] += 1
        elif sources:
            pick = int(hashlib.sha256(f"{seed}:{info.symbol.full}".encode()).hexdigest(), 16)
            histories.append(_columns(sources[pick % len(sources)], info))
            kinds["borrowed"] += 1
        else:
            histories.append(_synthetic(info, HISTORY_BARS, seed))
            kinds["synthetic"] += 1
    default_state, all_state = MarketState(), MarketState()
    default_set = [create(name) for name in DEFAULT_SET]
    every = [create(name) for name in BUILTINS]
    for state, strategies in ((default_state, default_set), (all_state, every)):
        for strategy in strategies:
            strategy.prepare(state)  # indicators registered before the history is loaded
        _load(state, universe, histories, days)
        state.start_day(start.date())  # the runner does this at 09:00, before the auction
    account = _account(universe, seed)
    clock = ManualClock(start)
    sim = SimMarket(universe, clock, seed=seed)
    # Long-lived objects (history, indicators, the simulator's books) leave the collector's
    # generations, as a long-running agent should do after loading its history: a full
    # collection then walks only what each round allocates.
    gc.collect()
    gc.freeze()
    setup_seconds = time.perf_counter() - setup_start

    default_times: list[tuple[float, float]] = []
    all_times: list[tuple[float, float]] = []
    default_counts = dict.fromkeys((s.name for s in default_set), 0)
    all_counts = dict.fromkeys((s.name for s in every), 0)
    for done in range(rounds):
        batch = sim.step()
        now = clock.now()
        default_times.append(
            _round(default_state, default_set, batch, now, account, default_counts, pause_gc)
        )
        all_times.append(_round(all_state, every, batch, now, account, all_counts, pause_gc))
        clock.advance(3)
        if progress is not None:
            progress(done + 1)
    gc.unfreeze()
    quoted = default_state.size
    default_ms = np.array(default_times) * 1e3  # columns: wall, CPU
    all_ms = np.array(all_times) * 1e3

    def ms(values: np.ndarray, q: float) -> float:
        return round(float(np.percentile(values, q)), 2)

    return {
        "bench": "agent",
        "symbols": quoted,
        "rounds": rounds,
        "strategies": list(all_counts),
        "default_set": list(default_counts),
        "evals_per_s": round(quoted * rounds / float(all_ms[:, 0].sum() / 1e3)),
        "p50_ms": ms(default_ms[:, 0], 50),
        "p99_ms": ms(default_ms[:, 0], 99),
        "max_ms": round(float(default_ms[:, 0].max()), 2),
        "cpu_p50_ms": ms(default_ms[:, 1], 50),
        "cpu_p99_ms": ms(default_ms[:, 1], 99),
        "all_p50_ms": ms(all_ms[:, 0], 50),
        "all_p99_ms": ms(all_ms[:, 0], 99),
        "all_cpu_p50_ms": ms(all_ms[:, 1], 50),
        "signals_default": default_counts,
        "signals_all": all_counts,
        "gc": gc_mode,
        "history_bars": HISTORY_BARS,
        "history_source": kinds,
        "setup_s": round(setup_seconds, 1),
    }
