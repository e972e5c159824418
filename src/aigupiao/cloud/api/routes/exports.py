"""Downloads of finished export commands (``/api/exports``), in the clients' file formats."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from aigupiao.protocol.bounds import Identifier

from ...deps import ApiKeyName, Runtime
from ...services.exports import ExportService

router = APIRouter(prefix="/api/exports", tags=["exports"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the file: ths = 同花顺 GBK TAB text (.xls), csv = UTF-8 CSV with BOM",
        "content": {"application/vnd.ms-excel": {}, "text/csv": {}},
    },
    404: {"description": "no such export command (not_found), or it did not export this kind"},
    409: {"description": "the command has not finished (not_ready) or failed (export_failed)"},
}


@router.get("/{command_id}/{kind}", response_class=Response, responses=_RESPONSES)
async def download_export(
    command_id: Identifier,
    kind: Literal["positions", "trades", "orders"],
    runtime: Runtime,
    _: ApiKeyName,
    format: Literal["ths", "csv"] = Query("ths", description="ths (同花顺 .xls) or csv"),
) -> Response:
    """The 持仓/成交/委托 file of a finished ``export-data`` command, named as the node
    names it (e.g. 持仓数据_0702_165122.xls)."""
    service = ExportService(runtime.commands, runtime.market, runtime.db)
    download = await service.download(command_id, kind, format)
    return Response(
        download.content,
        media_type=download.media_type,
        headers={"Content-Disposition": download.content_disposition},
    )
