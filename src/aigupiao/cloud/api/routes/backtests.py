"""Backtests (``/api/backtests``): submit, list, read, cancel, and the HTML report.

A run's id is ``bt_`` and 20 hex digits, matched by a path convertor, so
``/api/backtests/replay`` and ``/api/backtests/options`` are never taken for a run,
whatever order the routers are included in.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from starlette.convertors import Convertor, register_url_convertor

from aigupiao.protocol.http import JsonBodyRoute

from ...deps import ApiKeyName, Runtime, Viewer
from ...services.backtest_data import DataListing
from ...services.backtest_schemas import (
    ID_PATTERN,
    BacktestCreate,
    BacktestDetail,
    BacktestOptions,
    BacktestPage,
    BacktestSummary,
)


class BacktestIdConvertor(Convertor[str]):
    regex = ID_PATTERN.removeprefix("^").removesuffix("$")

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        if not re.fullmatch(self.regex, value):
            raise ValueError(f"not a backtest id: {value!r}")
        return value


register_url_convertor("backtest_id", BacktestIdConvertor())

router = APIRouter(prefix="/api/backtests", tags=["backtests"], route_class=JsonBodyRoute)

BacktestId = Annotated[
    str, Path(pattern=ID_PATTERN, description="bt_ 与 20 位十六进制 (bt_ + 20 hex)")
]
RUN = "/{backtest_id:backtest_id}"
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such backtest"}}


@router.get("/options", response_model=BacktestOptions)
async def backtest_options(runtime: Runtime, _: Viewer) -> BacktestOptions:
    """What a run may use: the backtestable strategies with their params' JSON schema,
    the data folders (request paths are relative to them), fills and rules."""
    return runtime.backtests.options()


@router.get("/data", response_model=DataListing, responses={422: {"description": "a bad path"}})
async def browse_data(
    runtime: Runtime,
    _: Viewer,
    path: Annotated[
        str, Query(max_length=255, description="文件夹，相对于数据目录 (a folder, relative)")
    ] = "",
) -> DataListing:
    """The folders and files of a data folder (at most 500, folders first): what a run's
    ``data`` may name. Without ``path``, the tops of the data folders."""
    return runtime.backtests.data.browse(path)


@router.post(
    "",
    status_code=202,
    response_model=BacktestSummary,
    responses={
        422: {"description": "bad input, with the reason"},
        429: {"description": "too many runs pending"},
    },
)
async def submit_backtest(
    body: BacktestCreate, runtime: Runtime, caller: ApiKeyName
) -> BacktestSummary:
    """Validate and queue a backtest; it runs in the background (poll its id)."""
    return BacktestSummary.of(await runtime.backtests.submit(body, caller))


@router.get("", response_model=BacktestPage)
async def list_backtests(
    runtime: Runtime,
    _: Viewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> BacktestPage:
    """Runs, newest first, without their reports."""
    items, total = await runtime.backtests.page(limit, offset)
    return BacktestPage(
        items=[BacktestSummary.of(item) for item in items], total=total, limit=limit, offset=offset
    )


@router.get(RUN, response_model=BacktestDetail, responses=_NOT_FOUND)
async def get_backtest(backtest_id: BacktestId, runtime: Runtime, _: Viewer) -> BacktestDetail:
    """A run: status, progress, the reason it failed or was cancelled, and its report
    (metrics, trades, curves) once done."""
    return BacktestDetail.of(await runtime.backtests.get(backtest_id))


@router.post(f"{RUN}/cancel", response_model=BacktestSummary, responses=_NOT_FOUND)
async def cancel_backtest(
    backtest_id: BacktestId, runtime: Runtime, caller: ApiKeyName
) -> BacktestSummary:
    """Cancel a run: a queued one at once, a running one at its next bar (it then reads
    ``cancelled``). A run that has ended is answered as it is."""
    return BacktestSummary.of(await runtime.backtests.cancel(backtest_id, caller))


@router.get(
    f"{RUN}/report.html",
    response_class=HTMLResponse,
    responses={
        200: {"description": "the self-contained report page", "content": {"text/html": {}}},
        404: {"description": "no such backtest"},
        409: {"description": "the run is not done (no_report)"},
    },
)
async def backtest_report(backtest_id: BacktestId, runtime: Runtime, _: Viewer) -> HTMLResponse:
    """The report as one HTML page (charts and tables; works offline)."""
    html = await runtime.backtests.report_html(backtest_id)
    return HTMLResponse(
        html, headers={"Content-Disposition": f'inline; filename="{backtest_id}.html"'}
    )
