"""``aigupiao export``: read a broker client's export; have the running node write its exports.

aigupiao export read FILE [--json]                      what a client export holds
aigupiao export positions|trades|orders|all [--config local_config.json] [--dir DIR]
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from aigupiao.brokers.exports import ExportFile, ExportReadError, read_export
from aigupiao.core.config import ConfigError
from aigupiao.local.settings import LocalSettings

export_app = typer.Typer(
    help="导出与读取券商客户端格式的文件 (exports in the broker clients' formats)",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="本地节点的 JSON 配置文件 (local_config.json)")
]
DirOption = Annotated[
    Path | None,
    typer.Option("--dir", help="再把写出的文件复制到这个目录 (also copy the files here)"),
]

_DELIMITERS = {"\t": "TAB", ",": "逗号 (comma)"}
_SHOWN = ("line", "extra", "market", "shareholder", "name", "code")


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]错误 (error):[/red] {escape(message)}")
    return typer.Exit(code=2)


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False)


# -- export read ----------------------------------------------------------------------


@export_app.command("read")
def read(
    file: Annotated[Path, typer.Argument(help="客户端导出的文件 (.xls/.csv/.txt)")],
    as_json: Annotated[bool, typer.Option("--json", help="最后一行输出一个 JSON 对象")] = False,
) -> None:
    """读取券商客户端导出的持仓/成交/委托/对账单 (read a client's export file)."""
    try:
        result = read_export(file)
    except ExportReadError as exc:
        raise _fail(f"{exc.message_zh} ({exc.message_en})") from exc
    _show(result)
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))


def _value(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(getattr(value, "value", value))


def _show(result: ExportFile) -> None:
    _say(f"文件 (file): {result.path}")
    _say(
        f"类型 (kind): {result.kind.label_zh} ({result.kind.value}) · "
        f"编码 (encoding): {result.encoding} · "
        f"分隔符 (delimiter): {_DELIMITERS.get(result.delimiter, result.delimiter)} · "
        f"列 (columns): {len(result.columns)}"
    )
    _say(f"已读 (rows read): {len(result.rows)} · 无法读取 (unreadable): {len(result.problems)}")
    for row in result.rows:
        fields = " ".join(
            f"{key}={_value(value)}"
            for key, value in row.items()
            if key not in _SHOWN and value is not None
        )
        line, code, name = row["line"], row["code"] or "-", row["name"] or ""
        _say(f"  第 {line} 行 (line {line}): {code} {name}")
        _say(f"      {fields}")
    for note in result.notes:
        where = f"第 {note.line} 行 (line {note.line}): " if note.line else ""
        _say(f"注意 (note): {where}{note.message_zh} ({note.message_en})")
    if result.problems:
        _say("无法读取的行 (rows not read):")
    for problem in result.problems:
        _say(f"  第 {problem.line} 行 (line {problem.line}): {problem.reason_zh}")
        _say(f"      ({problem.reason_en})  {problem.raw.strip()}")


# -- export positions|trades|orders|all ------------------------------------------------


def _node_url(settings: LocalSettings) -> str:
    host = settings.server.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # a node listening everywhere is reachable here on loopback
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


def _api_key(settings: LocalSettings) -> str:
    """``server.api_key``, else the key the node wrote on its first start (never made here)."""
    if settings.server.api_key:
        return settings.server.api_key
    path = settings.node.data_dir / "api_key"
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError:
        key = ""
    if not key:
        raise _fail(
            "找不到节点的 API 密钥：请在配置中设置 server.api_key，"
            f"或先启动一次节点（它会生成 {path}）"
            f" (no node API key: set server.api_key, or start the node once so it writes {path})"
        )
    return key


def _ask_node(data_type: str, config: Path | None, directory: Path | None) -> None:
    try:
        settings = LocalSettings.load(config)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    url = _node_url(settings)
    if settings.server.port == 0:
        raise _fail(
            "配置中的 server.port 为 0，无法找到节点 (server.port is 0: cannot find the node)"
        )
    key = _api_key(settings)
    try:
        response = httpx.post(
            f"{url}/export", json={"data_type": data_type}, headers={"X-API-Key": key}, timeout=60
        )
    except httpx.TransportError as exc:
        raise _fail(
            f"本地节点没有运行，或无法连接 {url}：请先运行 aigupiao local --config …"
            f" (the local node is not running or not reachable at {url}: {exc})"
        ) from exc
    if response.status_code == 401:
        raise _fail(
            f"节点 {url} 拒绝了 API 密钥：请检查 server.api_key 或 {settings.node.data_dir}/api_key"
            f" (the node at {url} refused the API key)"
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        raise _fail(
            f"节点 {url} 返回 HTTP {response.status_code}：{response.text[:300]}"
            f" (the node answered HTTP {response.status_code})"
        )
    error = body.get("files_error")
    if error:
        raise _fail(f"{error.get('message')} ({error.get('message_en')})")
    if "files" not in body:
        raise _fail(
            f"节点 {url} 没有写出文件（节点版本过旧？）(the node wrote no files; an older node?)"
        )
    files = [Path(name) for name in body["files"]]
    if directory is not None:
        files = _copy(files, directory)
    counts = " · ".join(
        f"{label} {len(body[key])}"
        for key, label in (("positions", "持仓"), ("trades", "成交"), ("orders", "委托"))
        if key in body
    )
    _say(f"已导出 (exported) {data_type}: {counts}")
    _say(f"已写入 {len(files)} 个文件 (files written):")
    for path in files:
        print(path)


def _copy(files: list[Path], directory: Path) -> list[Path]:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copy2(path, directory / path.name)) for path in files]
    except OSError as exc:
        raise _fail(
            f"无法把导出文件复制到 {directory}：{exc}（节点在另一台电脑上？）"
            f" (cannot copy the export files to {directory}: {exc}; is the node on another PC?)"
        ) from exc


@export_app.command("positions")
def positions(config: ConfigOption = None, directory: DirOption = None) -> None:
    """让运行中的节点导出持仓 (the running node writes its positions export)."""
    _ask_node("positions", config, directory)


@export_app.command("trades")
def trades(config: ConfigOption = None, directory: DirOption = None) -> None:
    """让运行中的节点导出当日成交 (the running node writes today's trades)."""
    _ask_node("trades", config, directory)


@export_app.command("orders")
def orders(config: ConfigOption = None, directory: DirOption = None) -> None:
    """让运行中的节点导出当日委托 (the running node writes today's orders)."""
    _ask_node("orders", config, directory)


@export_app.command("all")
def export_all(config: ConfigOption = None, directory: DirOption = None) -> None:
    """持仓、成交、委托全部导出 (positions, trades and orders)."""
    _ask_node("all", config, directory)
