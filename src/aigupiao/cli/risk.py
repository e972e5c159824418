"""``aigupiao halt`` and ``aigupiao resume``: the kill switch, through the running cloud's API.

Exit codes: 0 done, 2 the change could not be made (cloud unreachable, bad key, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from .reconcile import DEFAULT_CREDENTIALS, DEFAULT_URL, _api_key, _error_text, _fail

console = Console(soft_wrap=True)

_STATE_ZH = {"active": "正常交易", "reducing": "仅允许减仓", "halted": "暂停交易"}

AccountOption = Annotated[
    str | None, typer.Option(help="只针对该账户（默认：全部账户）(this account only; default: all)")
]
UrlOption = Annotated[str, typer.Option(help="云端地址 (the cloud's URL)")]
ApiKeyOption = Annotated[
    str | None, typer.Option(help="API 密钥（默认取自 --credentials）(API key)")
]
CredentialsOption = Annotated[
    Path, typer.Option(help="`aigupiao up` 写下的凭据文件 (credentials file)")
]


def halt(
    account: AccountOption = None,
    reason: Annotated[str, typer.Option(help="原因，记入审计日志 (why; audited)")] = "",
    reducing: Annotated[
        bool,
        typer.Option(
            "--reducing", help="只允许减仓（卖出），不完全停止 (exits only, not a full halt)"
        ),
    ] = False,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    credentials: CredentialsOption = DEFAULT_CREDENTIALS,
) -> None:
    """暂停交易（急停）：Agent 与手动委托立即停止下单 (halt trading: the kill switch)."""
    state = "reducing" if reducing else "halted"
    _set_state(state, account, reason or "aigupiao halt", url, _api_key(api_key, credentials))


def resume(
    account: AccountOption = None,
    reason: Annotated[str, typer.Option(help="原因，记入审计日志 (why; audited)")] = "",
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    credentials: CredentialsOption = DEFAULT_CREDENTIALS,
) -> None:
    """恢复交易：交易状态回到 active (resume trading)."""
    _set_state("active", account, reason or "aigupiao resume", url, _api_key(api_key, credentials))


def _set_state(state: str, account: str | None, reason: str, url: str, key: str) -> None:
    # No "source": the cloud records one from the caller (an API key: "api").
    body = {"state": state, "account": account, "reason": reason}
    try:
        response = httpx.put(
            f"{url.rstrip('/')}/api/risk/state",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise _fail(f"无法连接云端 {url} (cannot reach the cloud): {exc}") from exc
    if response.status_code != 200:
        raise _fail(_error_text(response))
    _print_states(response.json(), account)


def _print_states(answer: dict[str, Any], account: str | None) -> None:
    record = answer["accounts"][account] if account else answer["global"]
    scope = f"账户 account {account}" if account else "全部账户 all accounts"
    state = record["state"]
    console.print(
        f"{scope}: {_STATE_ZH.get(state, state)} ({state})"
        + (f" · 原因 reason: {record['reason']}" if record["reason"] else ""),
        highlight=False,
    )
    effective = answer.get("effective")
    if effective and effective["state"] != state:
        console.print(
            f"[yellow]注意 (note):[/yellow] 全局状态为 {_STATE_ZH.get(effective['state'])}，"
            f"该账户实际按 {effective['state']} 执行 (the global state is stricter: "
            f"{effective['state']})",
            highlight=False,
        )
