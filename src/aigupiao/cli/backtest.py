"""``aigupiao backtest``: run the live strategies, rules and fill model on history.

aigupiao backtest run --strategy NAME --data PATH ...   one run, a sweep (--sweep), a report
aigupiao backtest replay --account A --date D           a live day against its replay

``run`` options (``docs/backtest.md``, "CLI"):

* ``--strategy NAME`` (repeatable; the default set when none) and ``--param KEY=VALUE``
  (repeatable). A key is ``strategy.param`` (``ma_cross.fast=10``) or just ``param``
  (``fast=10``) when only one of the run's strategies has that parameter. Values are parsed
  to the type the strategy's config declares.
* ``--sweep KEY=V1,V2,...`` (repeatable) runs the grid on all cores and prints the points
  sorted by ``--sort`` (a metric, best first; ``-metric`` for lowest first); over 1,000
  points needs ``--yes``.
* ``--json`` prints one JSON object as the last line of stdout; the progress bar goes to
  stderr and disappears when done.

Bad input (an unreadable file, a code without data, an empty date range, an unknown
strategy or parameter, a value of the wrong type, a grid too large) is a message and
exit code 2.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aigupiao.backtest.model import (
    BacktestCancelled,
    BacktestConfig,
    BacktestInputError,
    BacktestResult,
    FillModel,
    ProgressFn,
    Rules,
)

backtest_app = typer.Typer(help="回测 (backtesting)", no_args_is_help=True)
console = Console(soft_wrap=True, highlight=False)
status = Console(stderr=True, soft_wrap=True, highlight=False)  # progress, never stdout


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]错误 (error):[/red] {escape(message)}")
    return typer.Exit(code=2)


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _fail(
            f"{option} 日期格式不对：{text!r}，应为 YYYY-MM-DD 或 YYYYMMDD "
            f"({option}: {text!r} is not a date)"
        ) from None


def _decimal(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise _fail(f"{option} 不是数字：{text!r} ({option}: {text!r} is not a number)") from None
    if not value.is_finite():
        raise _fail(f"{option} 不是有限数字：{text!r} ({option}: {text!r} is not finite)")
    return value


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "输入无效 (invalid input): " + "; ".join(parts)


@contextmanager
def _progress(label: str) -> Iterator[ProgressFn]:
    """A transient bar on stderr; the callback it yields is cheap to call per bar."""
    columns = (
        TextColumn(f"[bold]{escape(label)}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=status, transient=True) as progress:
        task = progress.add_task(label, total=None)
        last = [-1, 0]  # done, total at the last redraw

        def update(done: int, total: int) -> None:
            # rich takes a lock per update: redraw on about every 0.5% only
            step = max(1, total // 200)
            if total != last[1] or done >= total or done - last[0] >= step:
                last[0], last[1] = done, total
                progress.update(task, completed=done, total=total)

        yield update


def _strategy_names(strategies: list[str] | None) -> list[str]:
    from aigupiao.strategy.registry import DEFAULT_SET

    names: list[str] = []
    for given in strategies or DEFAULT_SET:
        names.extend(n.strip() for n in given.split(",") if n.strip())
    return names


def _config(**fields: Any) -> BacktestConfig:
    try:
        return BacktestConfig(**fields)
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from None


def _metric_table(metrics: dict[str, Any]) -> Table:
    from aigupiao.backtest.report import ROWS, format_value

    bench = metrics.get("benchmark") or {}
    table = Table(title="回测结果 (backtest result)", title_justify="left")
    table.add_column("指标 (metric)")
    table.add_column("策略 (strategy)", justify="right")
    if bench:
        table.add_column(f"基准 (benchmark: {bench.get('name')})", justify="right")
    for key, zh, en, kind in ROWS:
        row = [f"{zh} ({en})", format_value(metrics.get(key), kind)]
        if bench:
            row.append(format_value(bench.get(key), kind) if key in bench else "")
        table.add_row(*row)
    return table


def _run_json(result: BacktestResult, report: Path | None) -> dict[str, Any]:
    return {
        "strategies": [run.model_dump(mode="json") for run in result.config.strategies],
        "final_equity": str(result.final_equity),
        "bars": result.bars,
        "seconds": round(result.seconds, 3),
        "metrics": result.metrics,
        "trades": [trade.as_json() for trade in result.trades],
        "refusals": len(result.refusals),
        "corporate_actions": [
            {
                "code": a.code,
                "date": a.date.isoformat(),
                "ratio": str(a.ratio),
                "applied": a.applied,
            }
            for a in result.corporate_actions
        ],
        "warnings": list(result.warnings),
        "report": str(report) if report is not None else None,
    }


def _single(config: BacktestConfig, report: Path | None, as_json: bool) -> None:
    from aigupiao.backtest.engine import run_backtest
    from aigupiao.backtest.metrics import compute_metrics

    try:
        with _progress("回测 (backtest)") as progress:
            result = run_backtest(config, progress=progress)
    except BacktestInputError as exc:
        raise _fail(str(exc)) from None
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from None
    except (BacktestCancelled, KeyboardInterrupt):
        raise _fail("回测已取消 (backtest cancelled)") from None
    result.metrics = compute_metrics(result)
    if report is not None:
        from aigupiao.backtest.report import save_report

        try:
            save_report(result, report)
        except OSError as exc:
            raise _fail(
                f"无法写入报告 {report}：{exc.strerror} (cannot write the report)"
            ) from None
    if as_json:
        print(json.dumps(_run_json(result, report), ensure_ascii=False))
    else:
        _print_single(result, report)


def _print_single(result: BacktestResult, report: Path | None) -> None:
    names = ", ".join(
        run.name
        + (
            f" {json.dumps(run.model_dump(mode='json')['params'], ensure_ascii=False)}"
            if run.params
            else ""
        )
        for run in result.config.strategies
    )
    console.print(
        f"策略 (strategies): {escape(names)} · K线 (bars) {result.bars:,} · "
        f"用时 (seconds) {result.seconds:.2f} · 被拒信号 (refused signals) {len(result.refusals)}"
    )
    console.print(_metric_table(result.metrics))
    if result.refusals:
        by_rule = Counter(refusal.rule for refusal in result.refusals)
        console.print(
            "被拒信号，按规则 (refused signals by rule): "
            + ", ".join(f"{escape(rule)} {count}" for rule, count in by_rule.most_common())
        )
    for warning in result.warnings:
        console.print(f"[yellow]提示 (warning):[/yellow] {escape(warning)}")
    for action in result.corporate_actions:
        console.print(
            f"[yellow]疑似除权 (suspected corporate action):[/yellow] {action.code} "
            f"{action.date} ratio {action.ratio}"
            + (" (持仓已调整, adjusted)" if action.applied else "")
        )
    if report is not None:
        console.print(f"报告 (report): {escape(str(report))}/report.html")


def _sweep(
    config: BacktestConfig, specs: list[str], sort: str, yes: bool, workers: int | None,
    as_json: bool,
) -> None:  # fmt: skip
    from aigupiao.backtest.sweep import build_grid, check_sort, parse_sweeps, run_sweep

    started = time.perf_counter()
    try:
        check_sort(sort)
        points = build_grid(config, parse_sweeps(specs), yes=yes)
        with _progress(f"参数扫描 (sweep) {len(points)}") as progress:
            rows = run_sweep(points, sort=sort, workers=workers, progress=progress)
    except BacktestInputError as exc:
        raise _fail(str(exc)) from None
    except (BacktestCancelled, KeyboardInterrupt):
        raise _fail("参数扫描已取消 (sweep cancelled)") from None
    seconds = time.perf_counter() - started
    if not as_json:
        _print_sweep(rows, sort)
        console.print(f"{len(rows)} 个参数点 (points) · 用时 (seconds) {seconds:.2f}")
        return
    print(
        json.dumps(
            {
                "sort": sort,
                "points": len(rows),
                "seconds": round(seconds, 3),
                "rows": [row.as_json() for row in rows],
            },
            ensure_ascii=False,
        )
    )


def _print_sweep(rows: list[Any], sort: str) -> None:
    from aigupiao.backtest.report import format_value

    keys = list(dict.fromkeys(k for row in rows for k in row.values))
    name = sort.removeprefix("-")
    table = Table(title=f"参数扫描，按 {name} 排序 (sweep, sorted by {name})", title_justify="left")
    for key in keys:
        table.add_column(key, justify="right")
    shown = [
        (name, name, "num"), ("total_return", "总收益率 (return)", "pct"),
        ("sharpe", "夏普 (Sharpe)", "num"), ("max_drawdown", "最大回撤 (max DD)", "pct"),
        ("trades", "成交 (trades)", "text"), ("final_equity", "期末权益 (equity)", "text"),
    ]  # fmt: skip
    shown = list({key: (key, label, kind) for key, label, kind in shown}.values())
    for _, label, _kind in shown:
        table.add_column(label, justify="right")
    table.add_column("说明 (note)")
    for row in rows:
        cells = [str(row.values.get(k, "")) for k in keys]
        if row.error is not None:
            cells += [""] * len(shown) + [row.error]
        else:
            cells += [format_value(row.metrics.get(key), kind) for key, _, kind in shown]
            cells.append("")
        table.add_row(*cells)
    console.print(table)


@backtest_app.command("run")
def run(
    data: Annotated[
        list[Path],
        typer.Option("--data", "-d", help="行情文件或文件夹，可重复 (bar files or folders)"),
    ],
    strategy: Annotated[
        list[str] | None,
        typer.Option("--strategy", "-s", help="策略名，可重复；默认为默认策略组 (strategy name)"),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="策略参数 策略.名称=值 或 名称=值，可重复 (strategy.key=value or key=value)",
        ),
    ] = None,
    codes: Annotated[
        str | None, typer.Option(help="只回测这些代码，逗号分隔 (codes, comma separated)")
    ] = None,
    start: Annotated[str | None, typer.Option(help="开始日期 YYYY-MM-DD (start date)")] = None,
    end: Annotated[str | None, typer.Option(help="结束日期 YYYY-MM-DD (end date)")] = None,
    cash: Annotated[str, typer.Option(help="初始资金 (starting cash, CNY)")] = "1000000",
    fill: Annotated[
        FillModel, typer.Option(help="成交价：下一根K线 开盘/收盘/均价 (fill model)")
    ] = FillModel.NEXT_OPEN,
    rules: Annotated[
        Rules, typer.Option(help="ashare：A股全部规则；none：backtrader 模型 (rules)")
    ] = Rules.ASHARE,
    commission: Annotated[
        str | None, typer.Option(help="佣金费率，如 0.0003；默认按模拟券商费率 (commission rate)")
    ] = None,
    min_commission: Annotated[
        str | None, typer.Option(help="最低佣金，元 (minimum commission, CNY)")
    ] = None,
    size: Annotated[
        int | None, typer.Option(help="每笔股数，覆盖策略的仓位 (shares per order)")
    ] = None,
    benchmark: Annotated[
        str | None, typer.Option(help="基准：代码或 buy_and_hold (benchmark code or buy_and_hold)")
    ] = None,
    adj_factors: Annotated[
        Path | None, typer.Option(help="tushare adj_factor 复权因子文件 (adjustment factors)")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="报告输出文件夹：JSON/CSV/HTML/PNG (report folder)")
    ] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(help="参数扫描 名称=值1,值2,…，可重复 (sweep key=v1,v2,...)"),
    ] = None,
    sort: Annotated[
        str, typer.Option(help="扫描结果排序指标，-前缀为升序 (sweep sort metric)")
    ] = "sharpe",
    workers: Annotated[
        int | None, typer.Option(min=1, help="扫描进程数，默认每核一个 (sweep processes)")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="确认运行超过 1000 点的扫描 (run a grid over 1,000)")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="最后一行输出一个 JSON 对象 (one JSON object, last line)")
    ] = False,
) -> None:
    """在历史行情上运行策略、规则与成交模型 (run strategies, rules and fills on history)."""
    from aigupiao.backtest.params import strategy_runs
    from aigupiao.core.logging import setup_logging

    setup_logging("ERROR")
    try:
        runs = strategy_runs(_strategy_names(strategy), param or [])
    except BacktestInputError as exc:
        raise _fail(str(exc)) from None
    first, last = _date(start, "--start"), _date(end, "--end")
    if first is not None and last is not None and first > last:
        raise _fail(
            f"开始日期 {first} 晚于结束日期 {last}，日期范围为空 "
            f"(start {first} is after end {last}: empty date range)"
        )
    if sweep and report is not None:
        raise _fail("--report 只用于单次回测，不能与 --sweep 同用 (--report is for a single run)")
    config = _config(
        strategies=runs,
        data=tuple(data),
        codes=tuple(c.strip() for c in (codes or "").split(",") if c.strip()),
        start=first,
        end=last,
        cash=_decimal(cash, "--cash"),
        fill=fill,
        rules=rules,
        commission=_decimal(commission, "--commission"),
        min_commission=_decimal(min_commission, "--min-commission"),
        size=size,
        benchmark=benchmark,
        adj_factors=adj_factors,
    )
    if sweep:
        _sweep(config, sweep, sort, yes, workers, as_json)
    else:
        _single(config, report, as_json)
