"""The local node's HTTP API (seed-compatible, port 8888).

``GET /``, ``GET /health`` and the link and broker part of ``GET /status`` are open;
the account part of ``/status`` (balance, positions, trades, orders, the last result),
``POST /trade``, ``POST /export`` and ``WS /ws`` need the node's API key:
``server.api_key``, or the one the node made on first start in
``<node.data_dir>/api_key``. A wrong key is a 401 everywhere it is checked.

``POST /export`` answers the data as JSON and also writes it as files in the broker
clients' formats (同花顺 GBK ``.xls`` and UTF-8 ``.csv``) into ``trading.export_dir``
(default ``<node.data_dir>/exports``); their paths are in ``files``.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aigupiao import __version__
from aigupiao.core import jsontext
from aigupiao.core.asgi import harden
from aigupiao.domain.orders import MarketKind
from aigupiao.protocol import v1
from aigupiao.protocol.bounds import Identifier, Price, Quantity, SecurityCode
from aigupiao.protocol.http import JsonBodyRoute

from .runtime import LocalRuntime

_TTL = timedelta(seconds=30)


class TradeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["buy", "sell"]
    stock_code: SecurityCode
    quantity: Quantity
    price: Price | None = Field(None, description="null = market order")
    agent_id: Identifier | None = None
    client_order_id: Identifier | None = None
    market_kind: MarketKind | None = Field(
        None, description="market orders only: best5_ioc (default), best5_to_limit, ..."
    )

    @model_validator(mode="after")
    def _kind_only_for_market_orders(self) -> TradeRequest:
        if self.market_kind is not None and self.price is not None:
            raise ValueError("market_kind 只用于市价委托 (market_kind is for market orders only)")
        return self


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data_type: v1.ExportKind = "all"


def _ws_error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "v": 1, "command_id": None, "code": code, "message": message}


def create_app(runtime: LocalRuntime) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="aigupiao local node", version=__version__, lifespan=lifespan)
    app.router.route_class = JsonBodyRoute  # JSON bodies: depth checked before parsing
    api_key = runtime.api_key

    def key_ok(given: str | None) -> bool:
        # Compare bytes: compare_digest refuses non-ASCII str, which would be a 500.
        return bool(given) and secrets.compare_digest((given or "").encode(), api_key.encode())

    def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
        bearer = (
            authorization[7:].strip()
            if authorization and authorization.lower().startswith("bearer ")
            else None
        )
        return x_api_key or bearer

    def unauthorized() -> HTTPException:
        return HTTPException(
            401,
            {
                "code": "unauthorized",
                "message": "缺少或无效的本地 API 密钥",
                "message_en": "missing or invalid local API key",
            },
        )

    def check_key(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> None:
        if not key_ok(presented_key(authorization, x_api_key)):
            raise unauthorized()

    def key_if_any(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> bool:
        """True with the right key, False with none; a wrong one is a 401."""
        given = presented_key(authorization, x_api_key)
        if given is None and authorization:
            raise unauthorized()  # an Authorization header that is not a bearer key
        if given is None:
            return False
        if not key_ok(given):
            raise unauthorized()
        return True

    async def run(command: v1.Command) -> dict[str, Any]:
        seq = await runtime.executor.execute(command)
        if runtime.link is not None and seq is not None:
            await runtime.link.send_queued(seq)  # report node-originated results to the cloud
        entry = await runtime.journal.get(command.id)
        assert entry is not None
        return {
            "success": entry.status == "done",
            "command_id": command.id,
            "status": entry.status or "running",
            "result": entry.result,
        }

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            not_json = {
                "code": "malformed_json",
                "message": f"请求体不是有效的 JSON，或嵌套超过 {jsontext.MAX_DEPTH} 层",
                "message_en": "the request body is not valid JSON, or is nested too deeply",
            }
            return JSONResponse({"detail": not_json}, status_code=400)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(
            {
                "detail": {
                    "code": "invalid_request",
                    "message": f"请求参数无效：{problems}",
                    "message_en": f"invalid request: {problems}",
                }
            },
            status_code=422,
        )

    @app.get("/")
    async def index() -> dict[str, Any]:
        return {
            "service": "aigupiao local node",
            "version": __version__,
            "node_id": runtime.settings.node.id,
            "account": runtime.settings.node.account,
            "broker": runtime.broker.name,
            "cloud": runtime.link.state.value if runtime.link else "disabled",
        }

    @app.get("/status")
    async def status(authorized: bool = Depends(key_if_any)) -> dict[str, Any]:
        """The link and the broker; with the node's API key also the account: balance,
        positions, trades, orders and the last result (the seed's shape)."""
        public: dict[str, Any] = {
            "node_id": runtime.settings.node.id,
            "account": runtime.settings.node.account,
            "broker": runtime.broker.name,
            "cloud": runtime.link.describe() if runtime.link else {"state": "disabled"},
            "commands": await runtime.journal.counts(),
        }
        if not authorized:
            return {
                **public,
                "account_data": "需要本地 API 密钥（X-API-Key 或 Authorization: Bearer）"
                "(send the node's API key for balance, positions, trades and orders)",
            }
        account = await runtime.executor.snapshot("all")  # a read: no export files
        return {
            **public,
            "last_result": runtime.executor.last_result,
            "balance": account["account"],
            "positions": account["positions"],
            "trades": account["trades"],
            "orders": account["orders"],
        }

    @app.get("/health")
    async def health() -> JSONResponse:
        """``ok`` unless a background task is down; each task's state, restarts and last
        error in ``task_details``."""
        healthy = runtime.tasks.healthy
        body = {
            "status": "ok" if healthy else "degraded",
            "tasks": runtime.tasks.health(),
            "task_details": runtime.tasks.details(),
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    @app.post("/trade", dependencies=[Depends(check_key)])
    async def trade(body: TradeRequest) -> dict[str, Any]:
        now = runtime.executor.now()
        command = v1.TradeCommand(
            id=body.client_order_id or f"local-{uuid.uuid4().hex}",
            issued_at=now,
            expires_at=now + _TTL,
            data=v1.TradeData(**body.model_dump()),
        )
        return await run(command)

    @app.post("/export", dependencies=[Depends(check_key)])
    async def export(body: ExportRequest | None = None) -> dict[str, Any]:
        """The data as JSON, also written as files in the clients' formats (paths in ``files``)."""
        return await runtime.executor.export((body or ExportRequest()).data_type)

    @app.websocket("/ws")
    async def socket(ws: WebSocket) -> None:
        """Seed-compatible local socket: register, trade, export, status and heartbeat messages."""
        await ws.accept()  # accept first so a refusal is a 4401 close, not a bare HTTP 403
        if not key_ok(ws.query_params.get("api_key") or ws.headers.get("x-api-key")):
            await ws.close(code=4401, reason="invalid api key")
            return
        try:
            while True:
                frame = await ws.receive()
                if frame["type"] == "websocket.disconnect":
                    return
                reply = await _local_reply(frame.get("text"))
                await ws.send_text(json.dumps(reply, ensure_ascii=False))
        except WebSocketDisconnect:
            return

    async def _local_reply(text: str | None) -> dict[str, Any]:
        if text is None:
            return _ws_error("bad_message", "只接受 JSON 文本帧 (text JSON frames only)")
        try:
            parsed = jsontext.loads(text)
        except ValueError:  # not JSON, or nested too deep: answered, the socket stays open
            return _ws_error(
                "invalid_json",
                f"不是有效的 JSON，或嵌套超过 {jsontext.MAX_DEPTH} 层 "
                "(not valid JSON, or nested too deeply)",
            )
        kind = parsed.get("type") if isinstance(parsed, dict) else None
        if kind == "register":
            return {"type": "register_ack", "v": 1, "node_id": runtime.settings.node.id,
                    "server_time": datetime.now(UTC).isoformat()}  # fmt: skip
        try:
            message = v1.parse_from_cloud(text)
        except ValidationError as exc:
            return _ws_error("bad_message", str(exc)[:500])
        if isinstance(message, v1.Heartbeat):
            return v1.Heartbeat(ts=datetime.now(UTC)).model_dump(mode="json")
        if isinstance(message, v1.TradeCommand | v1.ExportCommand | v1.StatusCommand
                      | v1.CancelCommand):  # fmt: skip
            return {"type": "response", "v": 1, **await run(message)}
        return _ws_error("unsupported", f"不支持的消息类型 {message.type} (unsupported)")

    harden(app, max_body_bytes=runtime.settings.server.max_body_bytes)
    return app
