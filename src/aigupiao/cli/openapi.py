"""``aigupiao openapi``: the cloud's OpenAPI document, without a server or a database.

aigupiao openapi                 print it (JSON) on stdout
aigupiao openapi --out FILE      write it to FILE (the dashboard generates its client from it)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from aigupiao.cloud.app import create_app
from aigupiao.cloud.runtime import CloudRuntime
from aigupiao.cloud.settings import CloudSettings

console = Console(stderr=True, soft_wrap=True)

# Never connected to: the app is only built to read its routes, its lifespan never runs.
_NO_DATABASE = "sqlite+aiosqlite:///:memory:"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the cloud app as ``aigupiao cloud`` would serve it."""
    settings = CloudSettings.load(None, database_url=_NO_DATABASE)
    runtime = CloudRuntime.build(settings, feed=None)
    return create_app(runtime).openapi()


def openapi(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="写入此文件而不是标准输出 (write to FILE, not stdout)"),
    ] = None,
) -> None:
    """输出云端 API 的 OpenAPI 文档 (print the cloud's OpenAPI JSON; starts nothing)."""
    text = json.dumps(openapi_document(), ensure_ascii=False, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"已写入 (written): {out}", highlight=False)
