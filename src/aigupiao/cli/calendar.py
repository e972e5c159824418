"""``aigupiao calendar``: show the trading calendar, update it from a file, regenerate its data.

aigupiao calendar show [--year Y]            the covered range and the closures
aigupiao calendar update --from FILE         check a trade_cal file and write var/calendar.json
aigupiao calendar update --akshare           the same, downloaded with akshare (if installed)
aigupiao calendar generate [--check]         rebuild domain/calendar_data.py from ../shared

The cloud (``<var_dir>/calendar.json``) and the node (``calendar.json`` next to its
``node.data_dir``, by default the same ``var/calendar.json``) use the update file from their
next start: :func:`use_calendar_update`.
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aigupiao.core.calendar_file import (
    UPDATE_FILE_NAME,
    CalendarFileError,
    SourceCalendar,
    bridge,
    check_update,
    effective_calendar,
    install_update,
    read_trade_cal,
    read_update,
    source_from_rows,
    write_update,
)
from aigupiao.domain.calendar import TradingCalendar
from aigupiao.market.universe import default_shared_dir

from . import _calendar_build

calendar_app = typer.Typer(help="交易日历 (trading calendar)", no_args_is_help=True)
console = Console(soft_wrap=True)

DEFAULT_UPDATE = Path("var") / UPDATE_FILE_NAME
DATA_MODULE = Path(__file__).resolve().parents[1] / "domain" / "calendar_data.py"
_WEEKDAYS_ZH = "一二三四五六日"

UpdateFileOption = Annotated[
    Path, typer.Option("--file", help="交易日历更新文件 (the update file)")
]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]错误 (error):[/red] {message}", highlight=False)
    return typer.Exit(code=2)


def use_calendar_update(path: Path) -> TradingCalendar | None:
    """At process start: use the update file at ``path`` if it exists (else the built-in).

    Raises:
        typer.Exit: the file exists but cannot be used (exit 2, with the reason).
    """
    try:
        calendar = install_update(path)
    except CalendarFileError as exc:
        raise _fail(f"{exc}；修正或删除该文件 (fix or delete the file)") from exc
    if calendar is not None:
        console.print(
            f"交易日历 (trading calendar): {calendar.first} .. {calendar.last}，来自 (from) {path}",
            highlight=False,
        )
    return calendar


@calendar_app.command("show")
def show(
    year: Annotated[int | None, typer.Option(help="只显示这一年的休市日 (one year)")] = None,
    file: UpdateFileOption = DEFAULT_UPDATE,
) -> None:
    """显示交易日历的覆盖范围和休市日 (the covered range and the closures)."""
    try:
        calendar = effective_calendar(file)
    except CalendarFileError as exc:
        raise _fail(str(exc)) from exc
    update = f"{file}" if file.is_file() else f"无 (none: {file})"
    console.print(
        f"交易日历 (trading calendar): {calendar.first} .. {calendar.last}\n"
        f"  来源 (source): {calendar.source}\n"
        f"  更新文件 (update file): {update}\n"
        f"  范围之外按周一至周五推算 (outside the range every weekday counts as a trading day)",
        highlight=False,
    )
    if year is not None:
        _show_year(calendar, year)
        return
    counts = Counter(day.year for day in calendar.closures())
    console.print("年份 year  休市工作日 weekday closures  交易日 trading days", highlight=False)
    for each in range(calendar.first.year, calendar.last.year + 1):
        first, last = max(calendar.first, date(each, 1, 1)), min(calendar.last, date(each, 12, 31))
        trading = calendar.count_trading_days(first, last)
        console.print(f"{each:<10} {counts[each]:>8}  {trading:>22}", highlight=False)


def _show_year(calendar: TradingCalendar, year: int) -> None:
    start, end = date(year, 1, 1), date(year, 12, 31)
    if not (calendar.covers(start) or calendar.covers(end)):
        console.print(
            f"{year} 年不在日历范围内，只按周一至周五推算 "
            f"({year} is not covered; every weekday is taken as a trading day)",
            highlight=False,
        )
        return
    closures = calendar.closures(year)
    console.print(
        f"{year}: {len(closures)} 个休市工作日 (weekday closures), "
        f"{calendar.count_trading_days(start, end)} 个交易日 (trading days)",
        highlight=False,
    )
    for day in closures:
        console.print(f"  {day}  周{_WEEKDAYS_ZH[day.weekday()]} ({day:%a})", highlight=False)


@calendar_app.command("update")
def update(
    source: Annotated[
        Path | None,
        typer.Option("--from", help="trade_cal CSV（cal_date,is_open）或开市日列表 (open days)"),
    ] = None,
    akshare: Annotated[
        bool, typer.Option("--akshare", help="用 akshare 下载（需安装 akshare）(download)")
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="更新文件 (the update file)")] = DEFAULT_UPDATE,
    force: Annotated[
        bool, typer.Option("--force", help="即使会改变已知的交易日/休市日也写入 (override)")
    ] = False,
) -> None:
    """从文件或 akshare 更新交易日历，校验后写入 var/calendar.json (check, write an update)."""
    if (source is None) == (not akshare):
        raise _fail("请给出 --from FILE 或 --akshare 之一 (give either --from FILE or --akshare)")
    try:
        incoming = read_trade_cal(source) if source is not None else _download_akshare()
        previous = read_update(out) if out.is_file() else None
        current = effective_calendar(out)
    except CalendarFileError as exc:
        raise _fail(str(exc)) from exc
    incoming = bridge(current, incoming)
    check = check_update(current, incoming)
    for zh, en in check.notes():
        console.print(f"[yellow]注意 (note):[/yellow] {zh} ({en})", highlight=False)
    refusals = check.refusals()
    for zh, en in refusals:
        label = "[yellow]已忽略 (overridden):[/yellow]" if force else "[red]拒绝 (refused):[/red]"
        console.print(f"{label} {zh} ({en})", highlight=False)
    if refusals and not force:
        raise _fail("未写入；确认无误后加 --force (nothing written; add --force if it is right)")
    try:
        result = current.merged(incoming.calendar)
    except ValueError as exc:
        raise _fail(f"更新与已知日历之间有空档 (the update leaves a gap): {exc}") from exc
    # The update file keeps what the user's files said (and the built-in days between
    # two of them); the built-in calendar stays the base at every start.
    first, last = incoming.calendar.first, incoming.calendar.last
    sources = [incoming.calendar.source]
    if previous is not None:
        first, last = min(first, previous.first), max(last, previous.last)
        sources = [*previous.source.split(" + "), *sources]
    stored = replace(result.restricted(first, last), source=" + ".join(dict.fromkeys(sources)))
    write_update(out, stored)
    changed = len(check.reopened) + len(check.closed_known) + len(check.added)
    console.print(
        f"已写入 (written) {out}: {incoming.rows} 个日期 (dates) "
        f"{incoming.calendar.first} .. {incoming.calendar.last}，"
        f"改变 {changed} 个休市日 (closures changed)\n"
        f"  日历现为 (the calendar is now) {result.first} .. {result.last}；"
        f"云端和节点下次启动时生效 (used from the next start of the cloud and the node)",
        highlight=False,
    )


def _download_akshare() -> SourceCalendar:
    """Open days from akshare's ``tool_trade_date_hist_sina`` (Sina's calendar)."""
    try:
        ak = importlib.import_module("akshare")
    except ImportError as exc:
        raise _fail(
            "未安装 akshare：pip install akshare，或改用 --from FILE "
            "(akshare is not installed: pip install akshare, or use --from FILE)"
        ) from exc
    try:
        frame = ak.tool_trade_date_hist_sina()
    except Exception as exc:  # a network or upstream failure, whatever akshare raises
        raise _fail(f"akshare 下载失败 (download failed): {exc}") from exc
    days = [str(value) for value in frame["trade_date"]]
    return source_from_rows(
        ((n, text, True) for n, text in enumerate(days, 1)), "akshare tool_trade_date_hist_sina"
    )


@calendar_app.command("generate")
def generate(
    shared: Annotated[
        Path | None, typer.Option(help="共享数据目录 ../shared (the shared data dir)")
    ] = None,
    out: Annotated[Path, typer.Option(help="生成的模块 (the generated module)")] = DATA_MODULE,
    check: Annotated[
        bool, typer.Option("--check", help="只比较，不写入；不同则退出码 1 (compare only)")
    ] = False,
) -> None:
    """从 ../shared 的 MIT 日历数据重新生成内置日历 (rebuild the built-in calendar data)."""
    base = shared or default_shared_dir()
    if base is None or not (base / "data").is_dir():
        raise _fail(
            "找不到共享数据目录，请用 --shared 指定 (no shared data dir; give --shared ../shared)"
        )
    try:
        calendar, text = _calendar_build.build(base / "data")
    except (_calendar_build.BuildError, CalendarFileError) as exc:
        raise _fail(f"生成失败 (build failed): {exc}") from exc
    summary = f"{calendar.first} .. {calendar.last}, {len(calendar.closed)} weekday closures"
    if check:
        same = out.is_file() and out.read_text(encoding="utf-8") == text
        console.print(f"{out}: {'一致 (up to date)' if same else '不一致 (differs)'}; {summary}")
        raise typer.Exit(code=0 if same else 1)
    out.write_text(text, encoding="utf-8")
    console.print(f"已生成 (generated) {out}: {summary}", highlight=False)
