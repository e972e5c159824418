"""``aigupiao bench pipeline``: every stage runs on real components and reports its keys."""

from __future__ import annotations

from aigupiao.bench import pipeline as pipeline_bench


async def test_pipeline_bench_reports_each_stage() -> None:
    result = await pipeline_bench.run(symbols=300, rounds=3, rate=10**9)
    assert result["symbols"] == 300  # records per round: stocks, BSE and a few indexes
    for key in ("quotes_per_s", "p50_ms", "p99_ms", "peak_rss_mb"):
        assert result[key] > 0
    stages = result["stages"]
    assert set(stages) == {"parse_bus", "parse_bus_agent", "full"}
    published = stages["parse_bus"]["quotes"]
    assert 3 * 290 <= published < 3 * 300  # every stock quote passed; indexes kept apart
    for stage in stages.values():
        assert stage["quotes"] == published and stage["refused"] == 0
    assert stages["parse_bus"]["decisions"] == 0  # the agent was off
