"""``aigupiao bench chagubang``: how fast the chagubang records are split and parsed."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from aigupiao.bench import chagubang as chagubang_bench
from aigupiao.core.logging import setup_logging

console = Console(soft_wrap=True, highlight=False)


def bench_chagubang(
    records: Annotated[int, typer.Option(min=1, help="记录条数 (records)")] = 200_000,
    symbols: Annotated[int, typer.Option(min=10, help="市场中的证券数 (symbols)")] = 5_500,
    seed: Annotated[int, typer.Option(help="随机种子 (seed)")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="只输出 JSON")] = False,
) -> None:
    """茶股帮行情每秒可切分并解析的记录数，单核 (chagubang records split and parsed per second)."""
    setup_logging("ERROR")
    if not as_json:
        console.print("准备行情数据 (building the records)…")
    result = chagubang_bench.run(records, symbols=symbols, seed=seed)
    if not as_json:
        console.print(
            f"{result['records']} records of {result['symbols']} symbols "
            f"({result['bytes'] / 1e6:.1f} MB) · {result['records_per_s']} records/s "
            f"({result['us_per_record']} µs each, {result['mb_per_s']} MB/s) · "
            f"every book level redrawn: {result['records_per_s_redrawn_books']} records/s · "
            f"splitting alone: {result['split_records_per_s']} records/s"
        )
    print(json.dumps(result, ensure_ascii=False))


def bench_pipeline(
    symbols: Annotated[int, typer.Option(min=10, help="市场中的证券数 (symbols)")] = 5_500,
    rounds: Annotated[int, typer.Option(min=2, help="全市场快照轮数 (rounds)")] = 60,
    rate: Annotated[float, typer.Option(help="延迟测量时的到达速率，条/秒 (quotes/s)")] = 50_000,
    db: Annotated[str | None, typer.Option(help="空数据库 URL（默认临时 SQLite）")] = None,
    seed: Annotated[int, typer.Option(help="随机种子 (seed)")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="只输出 JSON")] = False,
) -> None:
    """行情 解析 -> 总线 -> Agent -> 存储 的吞吐与延迟 (pipeline throughput and latency)."""
    from aigupiao.bench import pipeline as pipeline_bench
    from aigupiao.core.lifecycle import run as run_loop

    setup_logging("ERROR")
    if not as_json:
        console.print("准备行情数据 (building the rounds)…")
    result = run_loop(pipeline_bench.run(symbols, rounds, db_url=db, rate=rate, seed=seed))
    if not as_json:
        for name, stage in result["stages"].items():
            console.print(
                f"{name}: {stage['quotes_per_s']} quotes/s · p50 {stage['p50_ms']} ms · "
                f"p99 {stage['p99_ms']} ms"
            )
        console.print(f"peak RSS {result['peak_rss_mb']} MB")
    print(json.dumps(result, ensure_ascii=False))
