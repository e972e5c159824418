"""Parameter sweeps: the grid, typed values, refused points, limits and sorting."""

from __future__ import annotations

import re
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.backtest.engine import run_backtest
from aigupiao.backtest.metrics import compute_metrics
from aigupiao.backtest.model import (
    BacktestCancelled,
    BacktestConfig,
    BacktestInputError,
    Rules,
    StrategyRun,
)
from aigupiao.backtest.params import strategy_runs
from aigupiao.backtest.sweep import (
    MAX_POINTS,
    SweepRow,
    build_grid,
    parse_sweeps,
    run_sweep,
    sort_rows,
)

from ...conftest import ROOT


def base(*runs: StrategyRun) -> BacktestConfig:
    return BacktestConfig(strategies=runs or (StrategyRun(name="ma_cross"),), data=(Path("x.csv"),))


def test_a_grid_of_typed_values_with_refused_combinations_as_rows() -> None:
    grid = parse_sweeps(["fast=5,10,20", "slow=20,60"])
    points = build_grid(base(), grid)
    assert [p.values for p in points] == [
        {"fast": 5, "slow": 20}, {"fast": 5, "slow": 60},
        {"fast": 10, "slow": 20}, {"fast": 10, "slow": 60},
        {"fast": 20, "slow": 20}, {"fast": 20, "slow": 60},
    ]  # fmt: skip
    refused = [p for p in points if p.config is None]
    assert [p.values for p in refused] == [{"fast": 20, "slow": 20}]
    assert refused[0].error is not None and "fast must be shorter than slow" in refused[0].error
    config = points[1].config
    assert config is not None
    assert config.strategies == (StrategyRun(name="ma_cross", params={"fast": 5, "slow": 60}),)
    assert isinstance(config.strategies[0].params["fast"], int)


def test_swept_values_keep_the_strategies_other_parameters() -> None:
    runs = strategy_runs(["ma_cross", "stop_loss"], ["ma_cross.kind=ema"])
    points = build_grid(base(*runs), parse_sweeps(["ma_cross.fast=3,4"]))
    config = points[0].config
    assert config is not None
    assert config.strategies[0].params == {"kind": "ema", "fast": 3}
    assert config.strategies[1].name == "stop_loss"


@pytest.mark.parametrize(
    ("specs", "needle"),
    [
        (["fast=5,x"], "ma_cross.fast"),  # the wrong type names the parameter
        (["fastest=5"], "unknown parameter fastest"),
        (["dip_buy.fast=5"], "not in this run"),
        (["fast=5,", "slow=30"], "empty value"),
        (["fast"], "name=value"),
        (["fast=5", "fast=6"], "swept twice"),
    ],
)
def test_bad_sweeps_are_refused_with_a_reason(specs: list[str], needle: str) -> None:
    with pytest.raises(BacktestInputError, match=re.escape(needle)):
        build_grid(base(), parse_sweeps(specs))


def test_a_grid_over_the_limit_needs_yes() -> None:
    grid = {"fast": [str(v) for v in range(2, 13)], "slow": [str(v) for v in range(20, 120)]}
    assert 11 * 100 > MAX_POINTS
    with pytest.raises(BacktestInputError, match="1100 points") as caught:
        build_grid(base(), grid)
    assert caught.value.code == "sweep_too_large"
    assert "--yes" in caught.value.message_zh
    assert len(build_grid(base(), grid, yes=True)) == 1100


def test_rows_sorted_by_a_metric_best_first_refused_last() -> None:
    rows = [
        SweepRow({"fast": 1}, {"sharpe": 0.5, "fees_paid": "3.00"}, Decimal(1)),
        SweepRow({"fast": 2}, error="fast must be shorter than slow"),
        SweepRow({"fast": 3}, {"sharpe": None, "fees_paid": "1.00"}, Decimal(1)),
        SweepRow({"fast": 4}, {"sharpe": 1.5, "fees_paid": "2.00"}, Decimal(1)),
    ]
    assert [r.values["fast"] for r in sort_rows(rows, "sharpe")] == [4, 1, 3, 2]
    assert [r.values["fast"] for r in sort_rows(rows, "-fees_paid")] == [3, 4, 1, 2]
    with pytest.raises(BacktestInputError, match="cannot sort by luck"):
        sort_rows(rows, "luck")


def test_strategy_runs_parse_and_check_parameters() -> None:
    (run,) = strategy_runs(["ma_cross"], ["fast=10", "slow=30", "kind=ema"])
    assert run.params == {"fast": 10, "slow": 30, "kind": "ema"}
    with pytest.raises(BacktestInputError, match="no strategy named nope"):
        strategy_runs(["nope"], [])
    with pytest.raises(BacktestInputError, match="fast must be shorter than slow"):
        strategy_runs(["ma_cross"], ["fast=40", "slow=30"])
    with pytest.raises(BacktestInputError, match=r"ma_cross\.kind"):
        strategy_runs(["ma_cross"], ["kind=wma"])


def test_nested_parameters_by_dotted_path() -> None:
    (run,) = strategy_runs(
        ["ma_cross"], ["filter.min_avg_amount=0", "ma_cross.filter.exclude_st=false"]
    )
    assert run.params == {"filter": {"min_avg_amount": Decimal(0), "exclude_st": False}}
    points = build_grid(base(run), parse_sweeps(["filter.min_price=1,3"]))
    assert [p.values for p in points] == [
        {"filter.min_price": Decimal(1)}, {"filter.min_price": Decimal(3)}
    ]  # fmt: skip
    config = points[1].config
    assert config is not None
    assert config.strategies[0].params["filter"] == {
        "min_avg_amount": Decimal(0), "exclude_st": False, "min_price": Decimal(3)
    }  # fmt: skip
    assert run.params["filter"] == {"min_avg_amount": Decimal(0), "exclude_st": False}
    with pytest.raises(BacktestInputError, match=r"unknown parameter filter\.nope"):
        strategy_runs(["ma_cross"], ["filter.nope=1"])
    with pytest.raises(BacktestInputError, match=r"ma_cross\.filter\.exclude_st"):
        strategy_runs(["ma_cross"], ["filter.exclude_st=maybe"])


DATA = ROOT.parent / "shared" / "data" / "daily" / "hzjsw_stock-backtest" / "data" / "600000.csv"


def real_base() -> BacktestConfig:
    return BacktestConfig(
        strategies=strategy_runs(["ma_cross"], ["filter.min_avg_amount=0"]),
        data=(DATA,), rules=Rules.NONE, size=100,
    )  # fmt: skip


def test_a_sweep_on_real_bars_in_two_processes_matches_single_runs() -> None:
    points = build_grid(real_base(), parse_sweeps(["fast=5,10,20", "slow=10,30"]))
    seen: list[tuple[int, int]] = []
    rows = run_sweep(
        points, sort="sharpe", workers=2, progress=lambda d, t: seen.append((d, t)),
        pool_start_s=0,  # processes even for points this quick
    )  # fmt: skip
    assert seen[0] == (2, 6)  # the two refused points count at once
    assert [d for d, _ in seen] == list(range(2, 7))
    assert sorted(r.values["fast"] for r in rows[-2:] if r.error is not None) == [10, 20]
    ran = rows[:-2]
    assert len(ran) == 4 and all(r.error is None and r.trades > 0 for r in ran)
    sharpes = [r.metrics["sharpe"] for r in ran]
    assert sharpes == sorted(sharpes, reverse=True)
    for row in ran[:2]:  # each point ran its own parameters, on the same bars
        point = next(p for p in points if p.values == row.values)
        assert point.config is not None
        direct = run_backtest(point.config)
        assert row.final_equity == direct.final_equity
        assert row.trades == len(direct.trades)
        assert row.metrics == compute_metrics(direct)
    # in this process, one after another (quick points): the same rows
    serial = run_sweep(points, sort="sharpe", workers=2, pool_start_s=1e9)
    assert [(r.values, r.metrics, r.error) for r in serial] == [
        (r.values, r.metrics, r.error) for r in rows
    ]


def test_a_cancelled_sweep_returns_nothing() -> None:
    points = build_grid(real_base(), parse_sweeps(["fast=5,6"]))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(BacktestCancelled):
        run_sweep(points, workers=1, cancel=cancel)


def test_a_sweep_over_unreadable_data_fails_before_running(tmp_path: Path) -> None:
    bad = tmp_path / "000001.csv"
    bad.write_bytes(b"\xff\xfe not a bar file")
    base = BacktestConfig(strategies=(StrategyRun(name="ma_cross"),), data=(bad,))
    with pytest.raises(BacktestInputError):
        run_sweep(build_grid(base, parse_sweeps(["fast=5,6"])), workers=2)


def test_a_parameter_two_strategies_share_must_name_its_strategy() -> None:
    with pytest.raises(BacktestInputError, match=r"ambiguous: write strategy\.lots") as caught:
        strategy_runs(["ma_cross", "breakout"], ["lots=2"])
    assert caught.value.code == "ambiguous_param"
    ma_cross, breakout = strategy_runs(["ma_cross", "breakout"], ["breakout.lots=2", "fast=3"])
    assert (ma_cross.params, breakout.params) == ({"fast": 3}, {"lots": 2})
