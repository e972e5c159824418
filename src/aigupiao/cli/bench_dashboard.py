"""``aigupiao bench dashboard``: the Overview's load time with the full market live."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register() -> None:
    """Attach ``dashboard`` to the ``bench`` group (called from ``_groups``)."""
    from . import _fail, bench_app, console

    @bench_app.command("dashboard")
    def bench_dashboard(
        symbols: Annotated[int, typer.Option(min=1, max=6000, help="模拟行情的证券数")] = 5_500,
        runs: Annotated[int, typer.Option(min=1, help="加载次数（每次新的浏览器上下文）")] = 5,
        as_json: Annotated[bool, typer.Option("--json", help="只输出 JSON")] = False,
    ) -> None:
        """控制台概览页加载时间：导航开始到账户卡片与交易状态可见
        (Overview load: navigation start to the account card and trading state visible)."""
        from aigupiao.bench import dashboard

        def say(text: str) -> None:
            if not as_json:
                console.print(f"[dim]{text}[/dim]")

        try:
            result = dashboard.run(symbols=symbols, runs=runs, progress=say)
        except dashboard.BenchError as exc:
            raise _fail(str(exc)) from exc
        if not as_json:
            verdict = "达标 (ok)" if result["ok"] else "未达标 (over target)"
            console.print(
                f"{result['symbols']} symbols · overview {result['overview_load_ms']} ms "
                f"(median of {result['runs']}, max {result['max_ms']} ms; "
                f"target < {result['target_ms']:.0f} ms) · {verdict}"
            )
        print(json.dumps(result, ensure_ascii=False))
