"""``aigupiao bench backtest``: the engine's speed against backtrader's, and the full market.

* **Parity strategy** (:data:`~aigupiao.backtest.engine.PARITY_PARAMS`: moving-average
  cross 10/30, 100 shares, next-open fills, ``rules=none``) on the first ``files`` files by
  name of ``../shared/data/daily/hzjsw_stock-backtest/data/``: aigupiao runs them as one
  market, backtrader one file at a time (its multi-data runs wait for the latest-listed
  feed); both in this process, one after the other, each ``repeat`` times. ``bars_per_s``
  is bars over the median wall time (loading the files included on both sides), ``ratio``
  aigupiao's over backtrader's; ``cpu_ratio`` the same from CPU times. Each side counts the
  bars it read: aigupiao reads a code found in two sector files once and skips a file
  whose rows are unusable (``600017.csv``: high below low), backtrader reads them all.
* **Full market**: the default strategy set (dip-buy and stop-loss) with A-share rules
  over every file of ``../shared/data/daily/zz090923610_stock/data/`` (about 2,980 stocks,
  615,000 bars): ``full_market_s`` is the median wall time of a whole run (files read,
  market built, every day simulated), ``peak_rss_mb`` the process's peak resident size.

Every figure is the median of ``repeat`` runs, with its range (min, max) alongside.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from aigupiao.backtest.data import load_paths
from aigupiao.backtest.engine import PARITY_PARAMS, run_backtest
from aigupiao.backtest.model import BacktestConfig, Rules, StrategyRun
from aigupiao.strategy.registry import DEFAULT_SET

PARITY_FOLDER = Path("../shared/data/daily/hzjsw_stock-backtest/data")
MARKET_FOLDER = Path("../shared/data/daily/zz090923610_stock/data")


@dataclass(frozen=True, slots=True)
class BtTrade:
    date: date
    side: str
    price: float
    size: int
    commission: float


def backtrader_run(
    path: Path,
    *,
    fast: int = 10,
    slow: int = 30,
    size: int = 100,
    cash: float = 1_000_000.0,
    commission: float = 0.0,
    min_commission: float = 0.0,
) -> tuple[list[BtTrade], float, int]:
    """backtrader's moving-average cross on one plain daily file (``date,open,high,low,
    close,volume``, oldest first): (trades, final value, bars)."""
    import backtrader as bt  # type: ignore[import-untyped]  # a test dependency, imported when used

    class Commission(bt.CommInfoBase):  # type: ignore[misc]
        params = (
            ("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC),
            ("percabs", True), ("minimum", 0.0),
        )  # fmt: skip

        def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
            return float(max(abs(size) * price * self.p.commission, self.p.minimum))

    trades: list[BtTrade] = []

    class Cross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.crossover = bt.ind.CrossOver(bt.ind.SMA(period=fast), bt.ind.SMA(period=slow))

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed:
                trades.append(
                    BtTrade(
                        bt.num2date(order.executed.dt).date(),
                        "buy" if order.isbuy() else "sell",
                        float(order.executed.price),
                        abs(int(order.executed.size)),
                        float(order.executed.comm),
                    )
                )

        def next(self) -> None:
            if not self.position:
                if self.crossover > 0:
                    self.buy(size=size)
            elif self.crossover < 0:
                self.close()

    cerebro = bt.Cerebro(stdstats=False)
    feed = bt.feeds.GenericCSVData(
        dataname=str(path), dtformat="%Y-%m-%d", datetime=0, open=1, high=2, low=3,
        close=4, volume=5, openinterest=-1,
    )  # fmt: skip
    cerebro.adddata(feed)
    cerebro.addstrategy(Cross)
    cerebro.broker.setcash(cash)
    cerebro.broker.addcommissioninfo(Commission(commission=commission, minimum=min_commission))
    cerebro.run()
    return trades, float(cerebro.broker.getvalue()), len(feed)


def parity_config(files: Sequence[Path], rules: Rules = Rules.NONE, **extra: Any) -> BacktestConfig:
    """The parity strategy over ``files`` (100 shares an order, next-open fills)."""
    return BacktestConfig(
        strategies=(StrategyRun(name="ma_cross", params=PARITY_PARAMS),),
        data=tuple(files), rules=rules, size=100, **extra,
    )  # fmt: skip


def _timed(run: Callable[[], int], repeat: int) -> tuple[list[float], int, list[float]]:
    """Wall times, the bars of the last run, and CPU times (which other processes on a
    busy machine do not inflate)."""
    times, cpu, bars = [], [], 0
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        bars = run()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return times, bars, cpu


def _summary(times: list[float]) -> dict[str, float]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def run(
    *,
    files: int = 100,
    repeat: int = 3,
    full_market: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure (see the module docstring); returns the JSON-ready figures."""
    if not PARITY_FOLDER.is_dir():
        raise FileNotFoundError(f"{PARITY_FOLDER} not found (run from the project root)")
    chosen = sorted(PARITY_FOLDER.glob("*.csv"))[:files]
    say = progress or (lambda _: None)
    say("aigupiao")

    def aigupiao_all() -> int:  # the files read (as the CLI would) and run as one market
        market = load_paths(chosen, skip_bad_files=True)
        return run_backtest(parity_config([PARITY_FOLDER]), data=market).bars

    ours, our_bars, ours_cpu = _timed(aigupiao_all, repeat)
    say("backtrader")

    def backtrader_all() -> int:
        return sum(backtrader_run(path)[2] for path in chosen)

    theirs, their_bars, theirs_cpu = _timed(backtrader_all, repeat)
    ours_s, theirs_s = _summary(ours), _summary(theirs)
    result: dict[str, Any] = {
        "files": len(chosen),
        "bars": our_bars,
        "backtrader_bars": their_bars,
        "bars_per_s": round(our_bars / ours_s["median"]),
        "bars_per_s_range": [round(our_bars / ours_s["max"]), round(our_bars / ours_s["min"])],
        "backtrader_bars_per_s": round(their_bars / theirs_s["median"]),
        "backtrader_bars_per_s_range": [
            round(their_bars / theirs_s["max"]), round(their_bars / theirs_s["min"])
        ],
        "ratio": round((our_bars / ours_s["median"]) / (their_bars / theirs_s["median"]), 1),
        "cpu_ratio": round(statistics.median(theirs_cpu) / statistics.median(ours_cpu)
                           * our_bars / their_bars, 1),
        "seconds": round(ours_s["median"], 3),
        "backtrader_seconds": round(theirs_s["median"], 3),
        "repeat": repeat,
    }  # fmt: skip
    if full_market and MARKET_FOLDER.is_dir():
        say("full market")
        config = BacktestConfig(
            strategies=tuple(StrategyRun(name=name) for name in DEFAULT_SET),
            data=(MARKET_FOLDER,), rules=Rules.ASHARE,
        )  # fmt: skip
        times, bars, cpu = _timed(lambda: run_backtest(config).bars, repeat)
        summary = _summary(times)
        result.update(
            full_market_s=round(summary["median"], 2),
            full_market_s_range=[round(summary["min"], 2), round(summary["max"], 2)],
            full_market_cpu_s=round(statistics.median(cpu), 2),
            full_market_bars=bars,
            full_market_symbols=len(load_paths([MARKET_FOLDER]).symbols),
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_rss_mb"] = round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024)
    return result
