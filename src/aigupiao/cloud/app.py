"""The cloud FastAPI app factory. Nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from aigupiao import __version__
from aigupiao.core.asgi import harden

from .api.routes import admin, data, health, market, nodes, reconcile, risk, trading
from .api.routes import agent as agent_routes
from .api.routes import auth as auth_routes
from .api.routes import backtest_replay as replay_routes
from .api.routes import backtests as backtest_routes
from .api.routes import decisions as decision_routes
from .api.routes import exports as export_routes
from .auth import LoginThrottle
from .dashboard import STATIC_DIR, mount_dashboard
from .errors import ServiceError
from .runtime import CloudRuntime
from .settings import ServerSection

# The one route that takes large bodies: up to 10,000 pushed quotes per request.
PUSH_PATH = "/api/market/quotes"


def server_options(server: ServerSection) -> dict[str, Any]:
    """uvicorn's options for the cloud's forwarded headers: X-Forwarded-For and
    X-Forwarded-Proto are believed only from ``server.trusted_proxies`` (uvicorn's default
    would believe any peer on 127.0.0.1, so a local client could pose as any address)."""
    trusted = list(server.trusted_proxies)
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted}


def create_app(runtime: CloudRuntime, *, static_dir: Path | None = None) -> FastAPI:
    """Build the app around ``runtime``, which the lifespan starts and stops.

    ``static_dir`` holds the built dashboard (default: ``server.static_dir``, else the
    package's ``cloud/static``); without its ``index.html``, ``/`` says how to build it.
    """

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
    app.state.login_throttle = LoginThrottle.from_settings(runtime.settings.auth)
    app.include_router(health.router)
    app.include_router(auth_routes.router)
    app.include_router(admin.router)
    app.include_router(trading.router)
    app.include_router(data.router)
    app.include_router(market.router)
    app.include_router(nodes.router)
    app.include_router(reconcile.router)
    app.include_router(risk.router)
    app.include_router(export_routes.router)
    app.include_router(agent_routes.router)
    app.include_router(decision_routes.router)
    app.include_router(replay_routes.router)  # before /api/backtests/{id}
    app.include_router(backtest_routes.router)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": exc.as_dict()}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            detail: dict[str, Any] = {
                "code": "malformed_json",
                "message": "请求体不是有效的 JSON，或嵌套过深",
                "message_en": "the request body is not valid JSON, or is nested too deeply",
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

    # Last: the dashboard answers only what no route above does.
    mount_dashboard(app, static_dir or runtime.settings.server.static_dir or STATIC_DIR)
    server = runtime.settings.server
    harden(
        app,
        max_body_bytes=server.max_body_bytes,
        per_path={PUSH_PATH: max(server.max_push_bytes, server.max_body_bytes)},
    )
    return app
