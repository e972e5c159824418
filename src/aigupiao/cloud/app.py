"""The cloud FastAPI app factory. Nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse

from aigupiao import __version__

from .api.routes import data, health, market, nodes, reconcile, risk, trading
from .errors import ServiceError
from .runtime import CloudRuntime

_INDEX = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>aigupiao</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>aigupiao 云端 / cloud</h1>
<p>API 文档 (API docs): <a href="/docs">/docs</a></p>
<p>健康检查 (health): <a href="/api/health">/api/health</a></p>
<p>控制台尚未构建 (the dashboard is not built yet): <code>make web</code>.</p>
</body></html>"""


def create_app(runtime: CloudRuntime) -> FastAPI:
    """Build the app around ``runtime``, which the lifespan starts and stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="aigupiao cloud",
        version=__version__,
        description="云端 API：行情、Agent 决策、向本地节点下发交易指令。",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.include_router(health.router)
    app.include_router(trading.router)
    app.include_router(data.router)
    app.include_router(market.router)
    app.include_router(nodes.router)
    app.include_router(reconcile.router)
    app.include_router(risk.router)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": exc.as_dict()}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            detail: dict[str, Any] = {
                "code": "malformed_json",
                "message": "请求体不是有效的 JSON",
                "message_en": "the request body is not valid JSON",
            }
            return JSONResponse({"detail": detail}, status_code=400)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'] if p != 'body')}: {err['msg']}" for err in errors
        )
        detail = {
            "code": "invalid_request",
            "message": f"请求参数无效：{problems}",
            "message_en": f"invalid request: {problems}",
            "errors": [
                {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]} for err in errors
            ],
        }
        return JSONResponse({"detail": detail}, status_code=422)

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(_INDEX)

    return app
