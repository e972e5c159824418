"""``aigupiao bench agent``: strategy evaluations per second over the full market."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import Progress


def register() -> None:
    """Attach ``agent`` to the ``bench`` group (called from ``_groups``)."""
    from . import bench_app, console

    @bench_app.command("agent")
    def bench_agent(
        symbols: Annotated[int, typer.Option(min=1, help="行情中的证券数")] = 5_500,
        rounds: Annotated[int, typer.Option(min=1, help="全市场评估轮数")] = 100,
        seed: Annotated[int, typer.Option(help="随机种子")] = 1,
        gc_mode: Annotated[
            str, typer.Option("--gc", help="评估时暂停垃圾回收 paused，或 auto 不干预")
        ] = "paused",
        as_json: Annotated[bool, typer.Option("--json", help="只输出 JSON")] = False,
    ) -> None:
        """全市场策略评估速度：每秒评估数与默认策略集单轮耗时 p99
        (strategy evaluations per second and p99 of one full-market round)."""
        from aigupiao.bench import agent as agent_bench
        from aigupiao.core.logging import setup_logging

        setup_logging("ERROR")
        with Progress(transient=True, console=console, disable=as_json) as progress:
            task = progress.add_task("agent", total=rounds)
            result = agent_bench.run(
                symbols=symbols,
                rounds=rounds,
                seed=seed,
                gc_mode=gc_mode,
                progress=lambda done: progress.update(task, completed=done),
            )
        if not as_json:
            console.print(
                f"{result['symbols']} symbols x {result['rounds']} rounds · "
                f"all {len(result['strategies'])} strategies: {result['evals_per_s']} evals/s · "
                f"default set {result['default_set']}: p50 {result['p50_ms']} ms, "
                f"p99 {result['p99_ms']} ms"
            )
        print(json.dumps(result, ensure_ascii=False))
