"""``aigupiao reconcile``: the broker against the cloud's records, through the cloud's API.

Exit codes: 0 matched, 1 differences found, 2 the check could not run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

console = Console(soft_wrap=True)

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_CREDENTIALS = Path("var") / "credentials.json"


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]错误 (error):[/red] {message}", highlight=False)
    return typer.Exit(code=2)


def _api_key(given: str | None, credentials: Path) -> str:
    if given:
        return given
    try:
        key = json.loads(credentials.read_text(encoding="utf-8")).get("api_key")
    except (OSError, ValueError, AttributeError) as exc:
        raise _fail(
            f"没有 API 密钥：请用 --api-key，或先运行 `aigupiao up` 生成 {credentials} "
            f"(no API key: pass --api-key or run `aigupiao up` to create {credentials}): {exc}"
        ) from exc
    if not isinstance(key, str) or not key:
        raise _fail(f"{credentials} 中没有 api_key (no api_key in {credentials})")
    return key


def reconcile(
    account: Annotated[
        str | None, typer.Option(help="账户（默认：唯一在线节点的账户）(account)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON (print the JSON)")] = False,
    url: Annotated[str, typer.Option(help="云端地址 (the cloud's URL)")] = DEFAULT_URL,
    api_key: Annotated[
        str | None, typer.Option(help="API 密钥（默认取自 --credentials）(API key)")
    ] = None,
    credentials: Annotated[
        Path, typer.Option(help="`aigupiao up` 写下的凭据文件 (credentials file)")
    ] = DEFAULT_CREDENTIALS,
    cost_tolerance: Annotated[
        str | None, typer.Option(help="成本价容差，元 (cost price tolerance, CNY)")
    ] = None,
    timeout: Annotated[float, typer.Option(help="等待秒数 (seconds to wait)")] = 60.0,
) -> None:
    """对账：券商持仓与当日成交 vs 云端记录；有差异时退出码 1 (reconcile; exit 1 on differences)."""
    params = {
        name: value
        for name, value in (("account", account), ("cost_tolerance", cost_tolerance))
        if value is not None
    }
    headers = {"Authorization": f"Bearer {_api_key(api_key, credentials)}"}
    try:
        response = httpx.get(
            f"{url.rstrip('/')}/api/reconcile", params=params, headers=headers, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise _fail(f"无法连接云端 {url} (cannot reach the cloud): {exc}") from exc
    if response.status_code != 200:
        raise _fail(_error_text(response))
    report = response.json()
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    raise typer.Exit(code=0 if report["matched"] else 1)


def _error_text(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, dict) and "message" in detail:
        return f"{detail['message']} ({detail.get('message_en', '')}) [HTTP {response.status_code}]"
    return f"HTTP {response.status_code}: {response.text[:200]}"


def _print_report(report: dict[str, Any]) -> None:
    counts = report["counts"]
    console.print(
        f"账户 account {report['account']} · 节点 node {report['node_id']} · "
        f"交易日 trading day {report['trading_day']}\n"
        f"  持仓 positions: 券商 broker {counts['broker_positions']} / "
        f"云端 cloud {counts['cloud_positions']} · "
        f"成交 trades: 券商 broker {counts['broker_trades']} / 云端 cloud {counts['cloud_trades']}",
        highlight=False,
    )
    if report["matched"]:
        console.print("[green]一致 (matched)[/green]")
        return
    console.print("[red]不一致 (differences)[/red]")
    for entry in report["positions"]:
        broker, cloud = entry["broker"] or {}, entry["cloud"] or {}
        console.print(
            f"  持仓 {entry['symbol']}: {', '.join(entry['issues'])} · "
            f"数量 total {broker.get('total', '-')} vs {cloud.get('total', '-')} · "
            f"可用 available {broker.get('available', '-')} vs {cloud.get('available', '-')} · "
            f"成本 cost {broker.get('cost_price', '-')} vs {cloud.get('cost_price', '-')} "
            f"(券商 vs 云端 broker vs cloud)",
            highlight=False,
        )
    trades = report["trades"]
    for title, key in (
        ("云端缺少的成交 (missing in the cloud)", "missing_in_cloud"),
        ("券商没有的成交 (missing at the broker)", "missing_at_broker"),
    ):
        for trade in trades[key]:
            console.print(
                f"  {title}: {trade['id']} {trade['symbol']} {trade['side']} "
                f"{trade['quantity']} @ {trade['price']} (委托 order {trade['order_id']})",
                highlight=False,
            )
    for entry in trades.get("different", []):
        console.print(f"  成交内容不同 (differs) {entry['id']}: {entry['fields']}", highlight=False)
