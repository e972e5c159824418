"""``aigupiao bench agent``: the result has the promised shape (no timing assertions)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aigupiao.bench import agent as agent_bench
from aigupiao.cli import app
from aigupiao.strategy.registry import BUILTINS, DEFAULT_SET


def test_result_shape() -> None:
    result = agent_bench.run(symbols=400, rounds=3, seed=2)
    assert result["symbols"] == 400 and result["rounds"] == 3
    assert result["strategies"] == list(BUILTINS) and result["default_set"] == list(DEFAULT_SET)
    assert result["evals_per_s"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert set(result["signals_all"]) == set(BUILTINS)
    assert result["signals_all"]["dip_buy"] == result["signals_default"]["dip_buy"] > 0
    assert sum(result["history_source"].values()) == 400
    json.dumps(result)


def test_cli_prints_one_json_object_last() -> None:
    outcome = CliRunner().invoke(app, ["bench", "agent", "--symbols", "100", "--rounds", "2",
                                       "--json"])  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    result = json.loads(outcome.output.strip().splitlines()[-1])
    assert {"evals_per_s", "p99_ms", "p50_ms", "symbols", "rounds", "strategies"} <= set(result)
