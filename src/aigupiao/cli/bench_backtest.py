"""``aigupiao bench backtest``: the engine against backtrader, and the full market."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register() -> None:
    """Attach ``backtest`` to the ``bench`` group (called from ``_groups``)."""
    from . import bench_app, console

    @bench_app.command("backtest")
    def bench_backtest(
        files: Annotated[int, typer.Option(min=1, help="按文件名取前 N 个日线文件")] = 100,
        repeat: Annotated[int, typer.Option(min=1, help="每项测量次数（取中位数）")] = 3,
        full_market: Annotated[
            bool, typer.Option("--full-market/--no-full-market", help="测全市场默认策略集")
        ] = True,
        as_json: Annotated[bool, typer.Option("--json", help="只输出 JSON")] = False,
    ) -> None:
        """回测速度：与 backtrader 的每秒处理K线数之比，全市场耗时与内存峰值
        (bars per second against backtrader's, full-market time and peak memory)."""
        from aigupiao.bench import backtest as backtest_bench
        from aigupiao.core.logging import setup_logging

        setup_logging("ERROR")
        try:
            result = backtest_bench.run(
                files=files, repeat=repeat, full_market=full_market,
                progress=None if as_json else (lambda step: console.print(f"… {step}")),
            )  # fmt: skip
        except FileNotFoundError as exc:
            console.print(f"找不到数据 (data not found): {exc}")
            raise typer.Exit(2) from None
        if not as_json:
            console.print(
                f"aigupiao {result['bars_per_s']} bars/s · backtrader "
                f"{result['backtrader_bars_per_s']} bars/s · ratio {result['ratio']}"
            )
        print(json.dumps(result, ensure_ascii=False))
