"""``aigupiao bench chagubang``: the workload it measures is the one it describes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aigupiao.bench import chagubang as chagubang_bench
from aigupiao.cli import app


def test_bench_chagubang_reports_a_whole_market_workload() -> None:
    result = chagubang_bench.run(3_000, symbols=400, seed=2)
    assert result["symbols"] == 400
    assert result["bse_symbols"] > 0 and result["index_symbols"] > 0
    assert result["records"] == result["parsed"] == 3_000 and result["refused"] == 0
    assert result["superseded"] == 0
    assert result["indexes"] > 0  # index records are in the stream and parsed too
    assert result["bytes"] > 3_000 * 100  # whole records, not stubs
    for key in (
        "seconds", "records_per_s", "us_per_record", "mb_per_s", "split_records_per_s",
        "records_per_s_redrawn_books",
    ):  # fmt: skip
        assert result[key] > 0, key


def test_the_bench_command_prints_json_last() -> None:
    outcome = CliRunner().invoke(
        app, ["bench", "chagubang", "--records", "500", "--symbols", "100", "--json"]
    )
    assert outcome.exit_code == 0, outcome.output
    result = json.loads(outcome.output.strip().splitlines()[-1])
    assert result["records"] == 500 and result["records_per_s"] > 0
    # 100 codes: a 64 KiB read holds several records of a code, and only the newest is parsed.
    assert result["parsed"] + result["superseded"] == 500
