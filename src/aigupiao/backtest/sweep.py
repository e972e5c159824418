"""Parameter sweeps: one backtest per point of a grid, on all cores, sorted by a metric.

``--sweep fast=5,10,20 --sweep slow=30,60`` is a grid of 6 points. Each value is parsed to
the type the strategy's config declares (:mod:`.params`); a point whose combination the
strategy refuses (``fast >= slow``) is a row with its reason, not a failure of the sweep.
A grid over :data:`MAX_POINTS` points is refused unless ``yes`` is given.

The bars are read once, in the calling process (so bad input fails before any work
starts). The first point runs there too, and its time decides the rest: worker processes
(one per core) when they save more than their start costs, each handed the bars once when
it starts; else the calling process, one point after another. Progress is one callback,
``(points done, points)``; setting ``cancel`` stops the sweep with
:class:`~.model.BacktestCancelled`.
"""

from __future__ import annotations

import copy
import itertools
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .metrics import SORTABLE, compute_metrics, money, sort_value
from .model import BacktestCancelled, BacktestConfig, BacktestInputError, ProgressFn, StrategyRun
from .params import InvalidParams, assign, parse_value, split_assignment, target, validate

if TYPE_CHECKING:
    from .data import MarketData

MAX_POINTS = 1000
# About what a worker process costs before its first point: a fresh interpreter importing
# aigupiao (and, under the CLI, the CLI's modules) and receiving the bars.
POOL_START_S = 2.0


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One point of the grid: the swept values by the key the user gave, and the run's
    config, or the reason the strategy refuses the combination."""

    values: dict[str, Any]
    config: BacktestConfig | None
    error: str | None = None


@dataclass(slots=True)
class SweepRow:
    """One point's outcome."""

    values: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    final_equity: Decimal | None = None
    trades: int = 0
    seconds: float = 0.0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "params": {k: _json_value(v) for k, v in self.values.items()},
            "final_equity": money(self.final_equity) if self.final_equity is not None else None,
            "trades": self.trades, "seconds": round(self.seconds, 3), "error": self.error,
            "metrics": self.metrics,
        }  # fmt: skip


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def parse_sweeps(specs: Sequence[str]) -> dict[str, list[str]]:
    """``["fast=5,10", "slow=30"]`` as ``{"fast": ["5", "10"], "slow": ["30"]}``."""
    grid: dict[str, list[str]] = {}
    for spec in specs:
        key, text = split_assignment(spec)
        values = [v.strip() for v in text.split(",")]
        if not all(values):
            raise BacktestInputError(
                f"扫描 {spec!r} 含空值", f"sweep {spec!r} has an empty value", code="bad_sweep"
            )
        if key in grid:
            raise BacktestInputError(
                f"参数 {key} 扫描了两次", f"parameter {key} is swept twice", code="bad_sweep"
            )
        grid[key] = list(dict.fromkeys(values))  # a value given twice is one point
    return grid


def grid_size(grid: Mapping[str, Sequence[str]]) -> int:
    size = 1
    for values in grid.values():
        size *= len(values)
    return size


def build_grid(
    base: BacktestConfig, grid: Mapping[str, Sequence[str]], *, yes: bool = False
) -> list[SweepPoint]:
    """The points of ``grid`` over ``base``'s strategies (their own parameters kept).

    Raises:
        BacktestInputError: an unknown parameter, a value of the wrong type, or more than
            :data:`MAX_POINTS` points without ``yes``.
    """
    if not grid:
        raise BacktestInputError("没有要扫描的参数", "nothing to sweep", code="bad_sweep")
    size = grid_size(grid)
    if size > MAX_POINTS and not yes:
        raise BacktestInputError(
            f"参数网格有 {size} 个点，超过 {MAX_POINTS}；确认要运行请加 --yes",
            f"the grid has {size} points, over {MAX_POINTS}; add --yes to run it",
            code="sweep_too_large",
        )
    names = [run.name for run in base.strategies]
    # every value parsed up front: a typo fails the sweep before any point runs
    axes: list[list[tuple[str, str, tuple[str, ...], Any]]] = []
    for key, texts in grid.items():
        strategy, path = target(names, key)
        axes.append([(key, strategy, path, parse_value(strategy, path, t)) for t in texts])
    points = []
    for combination in itertools.product(*axes):
        params = {run.name: copy.deepcopy(dict(run.params)) for run in base.strategies}
        for _, strategy, path, value in combination:
            assign(params[strategy], path, value)
        values = {key: value for key, _, _, value in combination}
        try:
            runs = tuple(StrategyRun(name=n, params=validate(n, params[n])) for n in params)
        except InvalidParams as exc:
            points.append(SweepPoint(values, None, f"参数无效 (invalid): {exc.reasons}"))
            continue
        points.append(SweepPoint(values, base.model_copy(update={"strategies": runs})))
    return points


def check_sort(metric: str) -> tuple[str, bool]:
    """``"sharpe"`` (highest first) or ``"-fees_paid"`` (lowest first) as (name, descending)."""
    name = metric.removeprefix("-")
    if name not in SORTABLE:
        raise BacktestInputError(
            f"不能按 {name} 排序（可选：{', '.join(SORTABLE)}）",
            f"cannot sort by {name} (choose from: {', '.join(SORTABLE)})",
            code="bad_sort",
        )
    return name, not metric.startswith("-")


def sort_rows(rows: Sequence[SweepRow], metric: str) -> list[SweepRow]:
    """Best first by ``metric``; undefined values, then refused points, last."""
    name, descending = check_sort(metric)

    def key(row: SweepRow) -> tuple[int, float]:
        if row.error is not None:
            return (2, 0.0)
        value = sort_value(row.metrics, name)
        if value is None:
            return (1, 0.0)
        return (0, -value if descending else value)

    return sorted(rows, key=key)


# -- running ---------------------------------------------------------------------------

_MARKET: MarketData | None = None  # the worker's bars, set once when it starts


def _start_worker(market: MarketData) -> None:
    global _MARKET
    _MARKET = market


def _run_point(config: BacktestConfig | None) -> tuple[dict[str, Any], Decimal, int, float]:
    from .engine import run_backtest

    assert config is not None  # only runnable points are run

    result = run_backtest(config, data=_MARKET)
    return compute_metrics(result), result.final_equity, len(result.trades), result.seconds


def run_sweep(
    points: Sequence[SweepPoint],
    *,
    sort: str = "sharpe",
    workers: int | None = None,
    data: MarketData | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    pool_start_s: float = POOL_START_S,
) -> list[SweepRow]:
    """Run every valid point and return the rows sorted by ``sort`` (:func:`sort_rows`).

    The first point runs in this process; its time says whether worker processes
    (``workers``, default one per core) pay for their start (about ``pool_start_s``
    seconds: a fresh interpreter imports aigupiao): the rest run in them when they save
    more than that, else here, one after another.

    Raises:
        BacktestInputError: the bars cannot be read (before any point runs), or a bad
            sort metric.
        BacktestCancelled: ``cancel`` was set; no rows are returned.
    """
    check_sort(sort)
    rows = [SweepRow(p.values, error=p.error) for p in points if p.config is None]
    runnable = [p for p in points if p.config is not None]
    total = len(points)
    done = len(rows)

    def finished(row: SweepRow) -> None:
        nonlocal done
        rows.append(row)
        done += 1
        if progress is not None:
            progress(done, total)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise BacktestCancelled("sweep cancelled")

    if progress is not None:
        progress(done, total)
    if not runnable:
        return sort_rows(rows, sort)
    if data is None:
        from .data import load

        first = runnable[0].config
        assert first is not None
        data = load(first)  # the same bars for every point: only parameters differ
    _start_worker(data)
    check_cancel()
    started = time.perf_counter()
    finished(_row(runnable[0], _run_point(runnable[0].config)))
    per_point = time.perf_counter() - started
    rest = runnable[1:]
    count = max(1, min(workers or os.cpu_count() or 1, len(rest)))
    if count > 1 and len(rest) * per_point * (1 - 1 / count) > pool_start_s:
        for row in _in_pool(rest, count, data, cancel):
            finished(row)
    else:
        for point in rest:
            check_cancel()
            finished(_row(point, _run_point(point.config)))
    return sort_rows(rows, sort)


def _row(point: SweepPoint, outcome: tuple[dict[str, Any], Decimal, int, float]) -> SweepRow:
    metrics, final_equity, trades, seconds = outcome
    return SweepRow(point.values, metrics, final_equity, trades, seconds)


def _in_pool(
    points: Sequence[SweepPoint], workers: int, data: MarketData, cancel: threading.Event | None
) -> Iterator[SweepRow]:
    """The points' rows as worker processes finish them."""
    # spawn: the caller may have threads (the API's event loop), which fork would copy
    # half-locked; each worker gets the bars once, through its initializer
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(data,))
    try:
        pending: dict[Future[tuple[dict[str, Any], Decimal, int, float]], SweepPoint] = {
            pool.submit(_run_point, p.config): p for p in points
        }
        while pending:
            done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if cancel is not None and cancel.is_set():
                raise BacktestCancelled("sweep cancelled")
            for future in done:
                yield _row(pending.pop(future), future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
