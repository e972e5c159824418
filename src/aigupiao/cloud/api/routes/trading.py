"""The seed's cloud-local trading endpoints (``/api/cloud-local-trading``)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from aigupiao.domain.decisions import CommandType
from aigupiao.protocol.bounds import Identifier
from aigupiao.protocol.http import JsonBodyRoute

from ...deps import ApiKeyName, Runtime, Viewer
from ...services.commands import Outcome
from ...services.trading import MANUAL, OUTSIDE_AGENT, TradeRequest
from ..schemas import AgentTradeCreate, CommandPublic, DataType, ExportCreate, Routing, TradeCreate

router = APIRouter(
    prefix="/api/cloud-local-trading", tags=["cloud-local-trading"], route_class=JsonBodyRoute
)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "still running after api_timeout; poll status_url"},
    409: {"description": "no local node connected"},
    422: {
        "description": "invalid request, or refused by the risk gate: the rule that failed is "
        "in detail.code, its values in detail.values, the stored decision in detail.decision_id"
    },
}


def _answer(outcome: Outcome) -> JSONResponse:
    return JSONResponse(outcome.as_response(), status_code=200 if outcome.completed else 202)


async def _trade(
    runtime: Runtime,
    body: TradeCreate | AgentTradeCreate,
    action: str,
    *,
    caller: str,
    endpoint: str,
    strategy: str,
) -> JSONResponse:
    request = TradeRequest(
        action=action,
        stock_code=body.stock_code,
        quantity=body.quantity,
        price=body.price,
        agent_id=body.agent_id,
        node_id=body.node_id,
        account=body.account,
        client_order_id=body.client_order_id,
        market_kind=body.market_kind,
        endpoint=endpoint,
        caller=caller,
    )
    outcome = await runtime.trading.place(request, strategy=strategy)
    return _answer(outcome)


@router.post("/execute-trade", response_model=CommandPublic, responses=_RESPONSES)
async def execute_trade(body: TradeCreate, runtime: Runtime, caller: ApiKeyName) -> JSONResponse:
    """Send a trade through the risk gate to the local node and wait up to ``api_timeout``
    for the broker's answer. Stored as a decision of strategy ``manual``."""
    return await _trade(
        runtime, body, body.action, caller=caller, endpoint="execute-trade", strategy=MANUAL
    )


@router.post("/agent/buy", response_model=CommandPublic, responses=_RESPONSES)
async def agent_buy(body: AgentTradeCreate, runtime: Runtime, caller: ApiKeyName) -> JSONResponse:
    """An outside agent's buy: the same risk gate; stored as a decision of its ``agent_id``."""
    strategy = body.agent_id or OUTSIDE_AGENT
    return await _trade(
        runtime, body, "buy", caller=caller, endpoint="agent/buy", strategy=strategy
    )


@router.post("/agent/sell", response_model=CommandPublic, responses=_RESPONSES)
async def agent_sell(body: AgentTradeCreate, runtime: Runtime, caller: ApiKeyName) -> JSONResponse:
    """An outside agent's sell: the same risk gate; stored as a decision of its ``agent_id``."""
    strategy = body.agent_id or OUTSIDE_AGENT
    return await _trade(
        runtime, body, "sell", caller=caller, endpoint="agent/sell", strategy=strategy
    )


class CancelCreate(BaseModel):
    """A cancel of one open order (the ``order_id`` of ``GET /api/orders``)."""

    model_config = ConfigDict(extra="forbid")

    order_id: Identifier
    account: Identifier | None = Field(None, description="the order must be this account's")


_CANCEL_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: _RESPONSES[202],
    404: {"description": "no such order (detail.code unknown_order)"},
    409: {"description": "the order is already final (order_final), or its node is not connected"},
}


@router.post("/cancel-order", response_model=CommandPublic, responses=_CANCEL_RESPONSES)
async def cancel_order(body: CancelCreate, runtime: Runtime, caller: ApiKeyName) -> JSONResponse:
    """Cancel an open order through the node that placed it and wait up to ``api_timeout``
    for the broker's answer. Allowed in every trading state (REDUCING and HALTED too):
    a cancel only reduces exposure. A broker refusal is answered with status ``rejected``."""
    return _answer(await runtime.trading.cancel(body.order_id, account=body.account, caller=caller))


async def _export(runtime: Runtime, data_type: DataType, routing: Routing) -> JSONResponse:
    outcome = await runtime.commands.submit(
        CommandType.EXPORT,
        {"data_type": data_type},
        node_id=routing.node_id,
        account=routing.account,
    )
    return _answer(outcome)


@router.post("/export-data", response_model=CommandPublic, responses=_RESPONSES)
async def export_data(body: ExportCreate, runtime: Runtime, _: ApiKeyName) -> JSONResponse:
    """Ask the node for positions, trades, orders or all of them."""
    return await _export(runtime, body.data_type, body)


@router.post("/agent/export/{data_type}", response_model=CommandPublic, responses=_RESPONSES)
async def agent_export(
    data_type: DataType, runtime: Runtime, _: ApiKeyName, body: Routing | None = None
) -> JSONResponse:
    return await _export(runtime, data_type, body or Routing())


@router.get("/local-status")
async def local_status(runtime: Runtime, _: Viewer) -> dict[str, Any]:
    """Which local nodes are connected, and since when."""
    nodes = [link.describe(runtime.hub.heartbeat_s) for link in runtime.hub.links.values()]
    return {
        "connected": bool(nodes),
        "node_count": len(nodes),
        "default_node": nodes[0]["node_id"] if len(nodes) == 1 else None,
        "nodes": nodes,
    }


@router.post("/test-connection")
async def test_connection(runtime: Runtime, _: ApiKeyName, body: Routing | None = None) -> Any:
    """Round-trip a status command through the node and report the latency."""
    routing = body or Routing()
    started = time.perf_counter()
    outcome = await runtime.commands.submit(
        CommandType.STATUS, {}, node_id=routing.node_id, account=routing.account
    )
    answer = outcome.as_response()
    answer["round_trip_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JSONResponse(answer, status_code=200 if outcome.completed else 202)


@router.websocket("/ws")
async def node_socket(socket: WebSocket) -> None:
    """Local nodes connect here with ``Authorization: Bearer <node token>``."""
    runtime = socket.app.state.runtime
    await runtime.hub.serve(socket)
