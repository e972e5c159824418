"""``aigupiao symbols``: show a security's facts, update them from a file, regenerate their data.

aigupiao symbols show CODE [--close P --date D]   the facts (and the limits from a close)
aigupiao symbols update --from FILE               check a tushare file, write var/symbols.json
aigupiao symbols update --akshare                 the same, downloaded with akshare
aigupiao symbols generate [--check]               rebuild domain/securities_data.py

The cloud (``<var_dir>/symbols.json``) and the node (``symbols.json`` next to its
``node.data_dir``, by default the same ``var/symbols.json``) use the update file from
their next start: :func:`use_securities_update`, as the trading calendar's.
"""

from __future__ import annotations

import importlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from aigupiao.core.securities_file import (
    UPDATE_FILE_NAME,
    check_update,
    effective_securities,
    install_update,
    merge_changes,
    read_update,
    write_update,
)
from aigupiao.core.securities_sources import (
    SecurityFileError,
    SourceFacts,
    fund_facts,
    read_source,
    stock_facts,
)
from aigupiao.domain.errors import DomainError
from aigupiao.domain.securities import SecurityTable, limit_prices
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import parse_symbol
from aigupiao.market.universe import default_shared_dir

from . import _symbols_build

symbols_app = typer.Typer(help="证券信息 (security facts)", no_args_is_help=True)
console = Console(soft_wrap=True)

DEFAULT_UPDATE = Path("var") / UPDATE_FILE_NAME
DATA_MODULE = Path(__file__).resolve().parents[1] / "domain" / "securities_data.py"

UpdateFileOption = Annotated[
    Path, typer.Option("--file", help="证券信息更新文件 (the update file)")
]

_KINDS_ZH = {
    "equity": "境内股票",
    "cross_border": "跨境",
    "gold": "黄金",
    "commodity": "商品期货",
    "bond": "债券",
    "money": "货币",
    "reit": "REITs",
}


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]错误 (error):[/red] {escape(message)}", highlight=False)
    return typer.Exit(code=2)


def use_securities_update(path: Path) -> SecurityTable | None:
    """At process start: use the update file at ``path`` if it exists (else the built-in).

    Raises:
        typer.Exit: the file exists but cannot be used (exit 2, with the reason).
    """
    try:
        table = install_update(path)
    except SecurityFileError as exc:
        raise _fail(f"{exc}；修正或删除该文件 (fix or delete the file)") from exc
    if table is not None:
        console.print(
            f"证券信息 (security facts): {len(table)} 个证券，来自 (from) {path}", highlight=False
        )
    return table


@symbols_app.command("show")
def show(
    code: Annotated[str, typer.Argument(help="证券代码，如 600182、sh588000 (security code)")],
    close: Annotated[
        str | None, typer.Option("--close", help="前收盘价：显示当日涨跌停价 (previous close)")
    ] = None,
    on: Annotated[
        str | None, typer.Option("--date", help="交易日 YYYY-MM-DD，默认今天 (trading date)")
    ] = None,
    file: UpdateFileOption = DEFAULT_UPDATE,
) -> None:
    """显示一个证券的信息：板块、基金类型与交收、上市日期、特别处理、涨跌幅 (a security's facts)."""
    try:
        symbol = parse_symbol(code)
    except DomainError as exc:
        raise _fail(str(exc)) from exc
    try:
        table = effective_securities(file)
    except SecurityFileError as exc:
        raise _fail(str(exc)) from exc
    facts = table.facts(symbol)
    kind = facts.fund_kind.value if facts.fund_kind is not None else None
    lines = [
        f"{symbol.full}  {facts.name or '（名称未知 name unknown）'}",
        f"  板块 (board): {symbol.board.value}",
        f"  交收 (settlement): {facts.settlement.value}"
        + (f"，基金类型 (fund kind): {_KINDS_ZH[kind]} ({kind})" if kind else ""),
        f"  上市日期 (listed on): {facts.listed_on or '未知 (unknown)'}",
        f"  特别处理 (special treatment): {facts.special.value if facts.special else '无 (none)'}",
        "  涨跌幅比例 (limit ratio): "
        + (
            f"{facts.limit_ratio}（本证券特有 own）"
            if facts.limit_ratio
            else "按板块 (the board's)"
        ),
        f"  来源 (source): {_source_zh(facts.source)}",
    ]
    console.print("\n".join(lines), highlight=False)
    if close is None:
        return
    try:
        previous_close = Decimal(close)
        day = date.fromisoformat(on) if on else _today()
    except (InvalidOperation, ValueError) as exc:
        raise _fail(f"--close 或 --date 无效 (invalid --close or --date): {exc}") from exc
    if not previous_close.is_finite() or previous_close <= 0:
        raise _fail("--close 须为正数 (--close must be positive)")
    limits = limit_prices(facts, previous_close.quantize(symbol.tick), day)
    if limits is None:
        console.print(f"  {day} 无涨跌幅限制 (no price limit on {day})", highlight=False)
    else:
        console.print(
            f"  {day} 前收 (previous close) {previous_close}: 涨停 (limit up) {limits[0]}，"
            f"跌停 (limit down) {limits[1]}",
            highlight=False,
        )


def _today() -> date:
    return datetime.now(BEIJING).date()


def _source_zh(source: str) -> str:
    if source == "code":
        return "按代码推定 (defaults by code)"
    if source == "built-in":
        return "内置数据 (built-in)"
    return f"更新文件 (update file): {source}"


@symbols_app.command("update")
def update(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="tushare stock_basic / fund_basic / stk_limit CSV (a source file)"
        ),
    ] = None,
    akshare: Annotated[
        bool, typer.Option("--akshare", help="用 akshare 下载（需安装 akshare）(download)")
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="更新文件 (the update file)")] = DEFAULT_UPDATE,
    force: Annotated[
        bool, typer.Option("--force", help="即使会改变已知的上市日期也写入 (override)")
    ] = False,
) -> None:
    """从文件或 akshare 更新证券信息，校验后写入 var/symbols.json (check, write an update)."""
    if (source is None) == (not akshare):
        raise _fail("请给出 --from FILE 或 --akshare 之一 (give either --from FILE or --akshare)")
    try:
        current = effective_securities(out)
        previous = read_update(out) if out.is_file() else None
        incoming = read_source(source, current) if source is not None else _download_akshare()
    except SecurityFileError as exc:
        raise _fail(str(exc)) from exc
    check = check_update(current, incoming)
    for zh, en in check.notes():
        console.print(f"[yellow]注意 (note):[/yellow] {escape(zh)} ({escape(en)})", highlight=False)
    refusals = check.refusals()
    for zh, en in refusals:
        label = "[yellow]已忽略 (overridden):[/yellow]" if force else "[red]拒绝 (refused):[/red]"
        console.print(f"{label} {escape(zh)} ({escape(en)})", highlight=False)
    if refusals and not force:
        raise _fail("未写入；确认无误后加 --force (nothing written; add --force if it is right)")
    changes, sources = incoming.changes, [incoming.source]
    if previous is not None:
        changes = merge_changes(previous[0], changes)
        sources = [*previous[1].split(" + "), *sources]
    stored_source = " + ".join(dict.fromkeys(sources))
    write_update(out, changes, stored_source)
    console.print(
        f"已写入 (written) {out}: {incoming.layout} {incoming.rows} 行 (rows)，"
        f"{len(incoming.changes)} 个证券的信息 (securities' facts)；"
        f"更新文件共 {len(changes)} 个证券 (the update file holds {len(changes)})\n"
        f"  云端和节点下次启动时生效 (used from the next start of the cloud and the node)",
        highlight=False,
    )


def _column(frame: Any, *names: str) -> list[str]:
    """The first of ``names`` that ``frame`` (a DataFrame or a dict of lists) has, as text."""
    for name in names:
        try:
            values = frame[name]
        except (KeyError, IndexError, TypeError):
            continue
        return ["" if value is None else str(value) for value in values]
    raise SecurityFileError(
        f"akshare 的结果缺少列 {names}", f"the akshare answer has none of the columns {names}"
    )


def _download_akshare() -> SourceFacts:
    """Stocks from akshare's exchange lists (names and listing dates), funds from
    ``fund_name_em`` (names and kinds)."""
    try:
        ak = importlib.import_module("akshare")
    except ImportError as exc:
        raise _fail(
            "未安装 akshare：pip install akshare，或改用 --from FILE "
            "(akshare is not installed: pip install akshare, or use --from FILE)"
        ) from exc
    stocks: list[tuple[int, str, str, str]] = []
    funds: list[tuple[int, str, str, str, str, str]] = []
    try:
        frames = [
            (ak.stock_info_sh_name_code(symbol="主板A股"), "sh"),
            (ak.stock_info_sh_name_code(symbol="科创板"), "sh"),
            (ak.stock_info_sz_name_code(symbol="A股列表"), "sz"),
            (ak.stock_info_bj_name_code(), "bj"),
        ]
        fund_frame = ak.fund_name_em()
    except Exception as exc:  # a network or upstream failure, whatever akshare raises
        raise _fail(f"akshare 下载失败 (download failed): {exc}") from exc
    for frame, prefix in frames:
        codes = _column(frame, "证券代码", "A股代码")
        names = _column(frame, "证券简称", "A股简称")
        listed = _column(frame, "上市日期", "A股上市日期")
        for code, name, day in zip(codes, names, listed, strict=False):
            stocks.append((len(stocks) + 1, f"{prefix}{code.zfill(6)}", name, day))
    codes = _column(fund_frame, "基金代码")
    names = _column(fund_frame, "基金简称")
    kinds = _column(fund_frame, "基金类型")
    for code, name, kind in zip(codes, names, kinds, strict=False):
        if code.startswith(("5", "15", "16", "18")):  # exchange-listed fund codes
            funds.append((len(funds) + 1, code, name, kind, "", ""))
    try:
        facts = stock_facts(stocks, "akshare stock_info")
        fund_part = fund_facts(funds, "akshare fund_name_em")
    except SecurityFileError as exc:
        raise _fail(str(exc)) from exc
    facts.layout, facts.source = "akshare", "akshare stock_info + fund_name_em"
    facts.changes.update(fund_part.changes)
    facts.rows += fund_part.rows
    facts.skipped += fund_part.skipped
    return facts


@symbols_app.command("generate")
def generate(
    shared: Annotated[
        Path | None, typer.Option(help="共享数据目录 ../shared (the shared data dir)")
    ] = None,
    out: Annotated[Path, typer.Option(help="生成的模块 (the generated module)")] = DATA_MODULE,
    check: Annotated[
        bool, typer.Option("--check", help="只比较，不写入；不同则退出码 1 (compare only)")
    ] = False,
) -> None:
    """从 ../shared 的参考数据重新生成内置证券信息 (rebuild the built-in security facts)."""
    base = shared or default_shared_dir()
    if base is None or not (base / "data").is_dir():
        raise _fail(
            "找不到共享数据目录，请用 --shared 指定 (no shared data dir; give --shared ../shared)"
        )
    try:
        built = _symbols_build.build(base / "data")
    except _symbols_build.BuildError as exc:
        raise _fail(f"生成失败 (build failed): {exc}") from exc
    summary = (
        f"{built.listed} listing dates, {built.special} special-treatment names, "
        f"{built.wide_funds} +-20% funds; checked {built.stocks_checked} stocks and "
        f"{built.funds_checked} funds against the exchanges' limits"
    )
    if check:
        same = out.is_file() and out.read_text(encoding="utf-8") == built.text
        console.print(f"{out}: {'一致 (up to date)' if same else '不一致 (differs)'}; {summary}")
        raise typer.Exit(code=0 if same else 1)
    out.write_text(built.text, encoding="utf-8")
    console.print(f"已生成 (generated) {out}: {summary}", highlight=False)
