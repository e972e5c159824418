"""``aigupiao bench broker``: the workload it measures is the one it describes."""

from __future__ import annotations

from aigupiao.bench import broker as broker_bench


async def test_bench_broker_reports_a_real_mixed_workload() -> None:
    result = await broker_bench.run(3_000, symbols=6_000, seed=3)
    assert result["symbols"] == 6_000  # the real snapshot, padded with clones
    assert result["orders"] == 3_000
    assert result["orders_per_s"] > 0 and result["us_per_order"] > 0
    outcomes = result["outcomes"]
    assert sum(outcomes.values()) == 3_000
    assert outcomes.get("filled", 0) > 500  # marketable orders filled against the books
    assert outcomes.get("submitted", 0) > 300  # resting limit orders
    assert any(key.startswith("rejected:") for key in outcomes)  # rule breakers refused
    assert result["fills"] >= outcomes["filled"]
    assert result["quotes_fed"] == 6_000 * (1 + 1)  # the day's first snapshot + one per batch
