"""``aigupiao bench backtest``: the figures it reports, on a few files."""

from __future__ import annotations

import json

# backtrader is a test dependency (the dev extra make test installs): missing, this fails.
import backtrader  # type: ignore[import-untyped]  # noqa: F401
import pytest
from typer.testing import CliRunner

from aigupiao.bench import backtest as bench
from aigupiao.cli import app


def test_figures_on_three_files() -> None:
    result = bench.run(files=3, repeat=1, full_market=False)
    assert result["files"] == 3 and result["bars"] > 3000
    assert result["bars_per_s"] > 0 and result["backtrader_bars_per_s"] > 0
    expected = result["bars_per_s"] / result["backtrader_bars_per_s"]
    assert result["ratio"] == pytest.approx(expected, abs=0.06)
    assert result["peak_rss_mb"] > 0 and "full_market_s" not in result


def test_cli_prints_one_json_line() -> None:
    out = CliRunner().invoke(
        app, ["bench", "backtest", "--files", "2", "--repeat", "1", "--no-full-market", "--json"]
    )
    assert out.exit_code == 0, out.output
    last = json.loads(out.output.strip().splitlines()[-1])
    assert {"bars_per_s", "backtrader_bars_per_s", "ratio", "peak_rss_mb"} <= set(last)
