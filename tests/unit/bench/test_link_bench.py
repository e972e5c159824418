"""``aigupiao bench link``: every command executed once, and the cloud's time split by step."""

from __future__ import annotations

from aigupiao.bench import link as link_bench
from aigupiao.cloud.services.pipeline import Batch, DecisionPipeline


async def test_bench_link_executes_each_command_once_and_times_each_step() -> None:
    place, send = DecisionPipeline.place, DecisionPipeline.send
    result = await link_bench.run(40)
    assert result["sent"] == 40 and result["executed_once"] == 40
    assert result["executed_twice"] == 0 and result["lost"] == 0
    stages = result["stages_ms"]
    assert set(stages) == {"place", "open_orders", "gate", "store", "send"}
    assert all(value is not None and value > 0 for value in stages.values()), stages
    # the parts of placing an order fit inside it, and sending waits for the node's result
    assert stages["open_orders"] + stages["gate"] + stages["store"] <= stages["place"] * 1.5
    # the pipeline's own methods are back once the bench is over
    assert DecisionPipeline.place is place and DecisionPipeline.send is send
    assert Batch.judge.__qualname__ == "Batch.judge"
