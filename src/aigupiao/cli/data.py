"""``aigupiao data``: market data into the database.

aigupiao data import PATH [--freq 1d] [--config cloud_config.json]
aigupiao data import --akshare 600519,000001 [--start 2024-01-01] [--end 2024-12-31]

Daily bars from a file or a folder of files in the layouts of
:mod:`aigupiao.market.daily` (plain, tushare, akshare), normalised to shares and CNY
and upserted into ``bars`` (freq ``1d``): importing the same data again changes
nothing. Rows that cannot be used are listed with the reason; they never stop the import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from aigupiao.cloud.settings import CloudSettings
from aigupiao.core.config import ConfigError
from aigupiao.core.lifecycle import run as run_loop
from aigupiao.domain.errors import DomainError
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.market.daily import (
    BadRow,
    DailyFile,
    DailyFormatError,
    DailyLayout,
    daily_files,
    parse_daily,
    read_daily,
)
from aigupiao.store import BarRepo, Database

data_app = typer.Typer(
    help="行情数据：导入日线 (market data: import daily bars)", no_args_is_help=True
)
console = Console(soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="云端 JSON 配置文件（取 database_url）")
]
_ADJUST = {"none": "", "qfq": "qfq", "hfq": "hfq"}


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]错误 (error):[/red] {escape(message)}")
    return typer.Exit(code=2)


@dataclass
class ImportSummary:
    sources: int = 0
    rows: int = 0
    symbols: set[str] = field(default_factory=set)
    layouts: dict[str, int] = field(default_factory=dict)
    bad: list[tuple[str, BadRow]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, result: DailyFile) -> None:
        self.sources += 1
        self.rows += len(result.bars)
        self.symbols.update(bar.symbol.full for bar in result.bars)
        self.layouts[result.layout.value] = self.layouts.get(result.layout.value, 0) + 1
        self.bad.extend((where, row) for row in result.bad)


@data_app.command("import")
def import_bars(
    path: Annotated[
        Path | None, typer.Argument(help="日线文件或目录 (a daily-bar file or a folder)")
    ] = None,
    freq: Annotated[str, typer.Option("--freq", help="周期，目前只支持 1d (only 1d)")] = "1d",
    config: ConfigOption = None,
    akshare: Annotated[
        str | None,
        typer.Option("--akshare", help="用 akshare 下载这些代码，逗号分隔 (download these codes)"),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="akshare 起始日期 YYYY-MM-DD（默认一年前）")
    ] = None,
    end: Annotated[str | None, typer.Option(help="akshare 截止日期 YYYY-MM-DD（默认今天）")] = None,
    adjust: Annotated[
        str, typer.Option(help="akshare 复权：none 不复权、qfq 前复权、hfq 后复权")
    ] = "none",
    show_bad: Annotated[int, typer.Option(min=0, help="列出多少条坏行 (bad rows listed)")] = 20,
) -> None:
    """导入日线到 bars 表，统一为股和元；重复导入只会更新 (import daily bars; idempotent)."""
    if freq != "1d":
        raise _fail(f"不支持的周期 {freq!r}，目前只支持 1d (unsupported freq; only 1d)")
    if (path is None) == (akshare is None):
        raise _fail("请给出 PATH 或 --akshare CODES 之一 (give either PATH or --akshare CODES)")
    try:
        settings = CloudSettings.load(config)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    if path is not None:
        try:
            files = daily_files(path)
        except DailyFormatError as exc:
            raise _fail(str(exc)) from exc
        if not files:
            raise _fail(f"{path} 下没有 .csv/.txt 文件 (no .csv/.txt files)")
        sources: list[tuple[str, Any]] = [(str(file), file) for file in files]
        load: Callable[[Any], DailyFile] = read_daily
    else:
        assert akshare is not None
        sources = [(f"akshare {symbol.full}", symbol) for symbol in _symbols(akshare)]
        if adjust not in _ADJUST:
            raise _fail(f"--adjust 应为 none、qfq 或 hfq (got {adjust!r})")
        load = _akshare_downloader(_day(start, 365), _day(end, 0), _ADJUST[adjust])
    summary = ImportSummary()
    run_loop(_import(settings.database_url, sources, load, summary))
    _report(summary, show_bad)
    if summary.failed:
        raise typer.Exit(code=1)


async def _import(
    url: str,
    sources: list[tuple[str, Any]],
    load: Callable[[Any], DailyFile],
    summary: ImportSummary,
) -> None:
    db = Database(url)
    try:
        await db.upgrade()
        columns = (
            TextColumn("[bold]导入 (import)[/bold] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rows]:,} 行 (rows)"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("", total=len(sources), rows=0)
            for where, source in sources:
                progress.update(task, description=escape(Path(where).name))
                try:
                    result = load(source)
                except DailyFormatError as exc:
                    summary.failed.append((where, str(exc)))
                    progress.advance(task)
                    continue
                if result.bars:
                    async with db.session() as session:
                        await BarRepo(session).upsert_many(result.bars)
                        await session.commit()
                summary.add(where, result)
                progress.update(task, advance=1, rows=summary.rows)
    finally:
        await db.dispose()


def _report(summary: ImportSummary, show_bad: int) -> None:
    layouts = ", ".join(f"{name} {count}" for name, count in sorted(summary.layouts.items()))
    console.print(
        f"[bold green]导入完成 (imported)[/bold green] {summary.sources} 个来源 (sources) · "
        f"{summary.rows:,} 行 (bars) · {len(summary.symbols)} 只证券 (symbols) · "
        f"格式 (layouts): {layouts or '-'} · 坏行 (bad rows) {len(summary.bad)} · "
        f"失败 (failed) {len(summary.failed)}",
        highlight=False,
    )
    for where, message in summary.failed:
        console.print(f"[red]无法导入 (not imported)[/red] {escape(where)}: {escape(message)}")
    for where, row in summary.bad[:show_bad]:
        console.print(
            f"[yellow]坏行 (bad row)[/yellow] {escape(where)}:{row.line} "
            f"{escape(row.reason)} ({escape(row.reason_en)}) | {escape(row.text)}",
            highlight=False,
        )
    if len(summary.bad) > show_bad:
        console.print(f"… 另有 {len(summary.bad) - show_bad} 条坏行 (more bad rows; --show-bad N)")


def _symbols(text: str) -> list[Symbol]:
    symbols: list[Symbol] = []
    for code in (part.strip() for part in text.split(",")):
        if not code:
            continue
        try:
            symbols.append(parse_symbol(code))
        except DomainError as exc:
            raise _fail(f"{exc.message_zh} ({exc.message_en})") from exc
    if not symbols:
        raise _fail("--akshare 需要至少一个代码 (give at least one code)")
    return symbols


def _day(text: str | None, days_ago: int) -> date:
    if text is None:
        return date.today() - timedelta(days=days_ago)
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise _fail(f"日期应为 YYYY-MM-DD：{text!r} (dates are YYYY-MM-DD)") from exc


def _akshare_downloader(first: date, last: date, adjust: str) -> Callable[[Symbol], DailyFile]:
    """A function downloading one symbol's daily bars with akshare (Eastmoney)."""
    try:
        ak = importlib.import_module("akshare")
    except ImportError as exc:
        raise _fail(
            "未安装 akshare：请运行 pip install aigupiao[akshare]，或改用本地文件 PATH "
            "(akshare is not installed: pip install aigupiao[akshare], or import files)"
        ) from exc

    def download(symbol: Symbol) -> DailyFile:
        try:
            frame = ak.stock_zh_a_hist(
                symbol=symbol.code,
                period="daily",
                start_date=first.strftime("%Y%m%d"),
                end_date=last.strftime("%Y%m%d"),
                adjust=adjust,
            )
        except Exception as exc:  # whatever akshare or the network raises
            raise DailyFormatError(
                f"akshare 下载 {symbol.full} 失败：{exc}", f"akshare download failed: {exc}"
            ) from exc
        header = [str(column) for column in frame.columns]
        rows = (
            (number, [str(value) for value in row])
            for number, row in enumerate(frame.itertuples(index=False), start=2)
        )
        return parse_daily(
            header, rows, layout=DailyLayout.AKSHARE, symbol=symbol, where=f"akshare {symbol}"
        )

    return download
