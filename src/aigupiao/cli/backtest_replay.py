"""``aigupiao backtest replay --account A --date D``: a live day against its replay.

Reads the cloud's database (``database_url`` of ``--config``, as the servers do), replays
the account's day through the same strategies and risk gate (``backtest/replay.py``) and
lists each decision where live and replay differ, with its reason.

Exit codes: 0 no differences, 1 differences found, 2 the replay could not run (unknown
account, a date with nothing stored, a bad date, a database error).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from aigupiao.backtest.replay import DecisionView, ReplayInputError, ReplayResult, replay_day
from aigupiao.cloud.services.rounds import replay_settings
from aigupiao.cloud.settings import CloudSettings
from aigupiao.core.config import ConfigError
from aigupiao.core.lifecycle import run as run_loop
from aigupiao.domain.sessions import BEIJING
from aigupiao.store import Database

console = Console(soft_wrap=True)

KIND_ZH = {"live_only": "仅实盘", "replay_only": "仅回放", "changed": "不同"}


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]错误 (error):[/red] {escape(message)}")
    return typer.Exit(code=2)


def replay(
    account: Annotated[str, typer.Option(help="账户 (account)")],
    day: Annotated[str, typer.Option("--date", help="交易日 YYYY-MM-DD (trading day)")],
    as_json: Annotated[
        bool, typer.Option("--json", help="最后一行输出一个 JSON 对象 (one JSON object last)")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="云端 JSON 配置文件（取 database_url）")
    ] = None,
) -> None:
    """实盘与回放对比：逐个列出决策差异及原因 (live versus backtest: each differing decision
    and why; exit 1 when there are differences)."""
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        raise _fail(f"日期无效：{day!r}，应为 YYYY-MM-DD (bad date, expected YYYY-MM-DD)") from None
    if not account.strip():
        raise _fail("账户不能为空 (the account is empty)")
    try:
        settings = CloudSettings.load(config)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc

    async def main() -> ReplayResult:
        db = Database(settings.database_url)
        try:
            await db.upgrade()
            return await replay_day(db, account, wanted, replay_settings(settings.agent))
        finally:
            await db.dispose()

    try:
        result = run_loop(main())
    except ReplayInputError as exc:
        raise _fail(str(exc)) from None
    except (OSError, SQLAlchemyError) as exc:
        raise _fail(f"数据库错误 (database error): {exc}") from exc
    if as_json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        _show(result)
    raise typer.Exit(code=1 if result.differences else 0)


def _show(result: ReplayResult) -> None:
    source = "原始快照 (raw snapshots)" if result.quote_source == "raw" else "1 分钟K线 (1m bars)"
    console.print(
        f"账户 {escape(result.account)} {result.day}：回放 {result.moments} 个时刻，行情来自 "
        f"{source}；实盘决策 {result.live_decisions}，回放决策 {result.replay_decisions}，"
        f"一致 {result.matched}，差异 {len(result.differences)} "
        f"(moments {result.moments}, live {result.live_decisions}, replay "
        f"{result.replay_decisions}, matched {result.matched}, differences "
        f"{len(result.differences)})",
        highlight=False,
    )
    for start, end in result.offline:
        console.print(
            f"节点离线 (node offline): {start.astimezone(BEIJING):%H:%M:%S}–"
            f"{end.astimezone(BEIJING):%H:%M:%S}",
            highlight=False,
        )
    for warning in result.warnings:
        console.print(f"[yellow]注意 (note):[/yellow] {escape(warning)}")
    if not result.differences:
        console.print("[green]没有差异 (no differences)[/green]")
        return
    table = Table(show_lines=False)
    for title in ("时间 time", "代码 code", "策略 strategy", "差异 kind", "实盘 live",
                  "回放 replay", "原因 reason"):  # fmt: skip
        table.add_column(title, overflow="fold")
    for difference in result.differences:
        table.add_row(
            f"{difference.ts.astimezone(BEIJING):%H:%M:%S}",
            difference.code,
            difference.strategy,
            f"{KIND_ZH.get(difference.kind, difference.kind)} {difference.kind}",
            _side(difference.live),
            _side(difference.replay),
            escape(f"{difference.reason_zh} ({difference.reason_en})"),
        )
    console.print(table)


def _side(view: DecisionView | None) -> str:
    if view is None:
        return "—"
    price = "市价 market" if view.price is None else str(view.price)
    verdict = "接受 accepted" if view.accepted else f"拒绝 refused: {view.rule}"
    return escape(f"{view.side} {view.quantity} @ {price}, {verdict}")
