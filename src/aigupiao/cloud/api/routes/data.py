"""Read endpoints: orders, trades, positions, commands (quotes and bars: market.py;
decisions: decisions.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from aigupiao.domain.errors import DomainError
from aigupiao.domain.symbols import parse_symbol
from aigupiao.store import (
    AccountRepo,
    OrderRepo,
    PositionRepo,
    TradeRepo,
)

from ...deps import Runtime, Viewer
from ...errors import InvalidRequest, NotFound
from ..public import public

router = APIRouter(prefix="/api", tags=["data"])


def _full_code(code: str) -> str:
    try:
        return parse_symbol(code).full
    except DomainError as exc:
        raise InvalidRequest(exc.message_zh, exc.message_en, code=exc.code) from exc


@router.get("/orders")
async def list_orders(
    runtime: Runtime,
    _: Viewer,
    account: str | None = None,
    limit: int = Query(200, ge=1, le=5000),
) -> list[dict[str, Any]]:
    async with runtime.db.session() as session:
        return public(await OrderRepo(session).list(account=account, limit=limit))


@router.get("/trades")
async def list_trades(
    runtime: Runtime,
    _: Viewer,
    account: str | None = None,
    code: str | None = None,
    limit: int = Query(200, ge=1, le=5000),
) -> list[dict[str, Any]]:
    symbol = _full_code(code) if code else None
    async with runtime.db.session() as session:
        return public(await TradeRepo(session).list(account=account, symbol=symbol, limit=limit))


@router.get("/positions")
async def list_positions(
    runtime: Runtime, _: Viewer, account: str | None = None
) -> list[dict[str, Any]]:
    await runtime.results.flush()  # read your own fills: write pending snapshots first
    async with runtime.db.session() as session:
        return public(await PositionRepo(session).list(account))


@router.get("/accounts")
async def list_accounts(runtime: Runtime, _: Viewer) -> list[dict[str, Any]]:
    await runtime.results.flush()
    async with runtime.db.session() as session:
        return public(await AccountRepo(session).list())


@router.get("/commands")
async def list_commands(
    runtime: Runtime,
    _: Viewer,
    status: str | None = None,
    node_id: str | None = None,
    limit: int = Query(100, ge=1, le=5000),
) -> list[dict[str, Any]]:
    return await runtime.commands.list(limit=limit, status=status, node_id=node_id)


@router.get("/commands/{command_id}")
async def get_command(command_id: str, runtime: Runtime, _: Viewer) -> dict[str, Any]:
    row = await runtime.commands.get(command_id)
    if row is None:
        raise NotFound(f"指令 {command_id} 不存在", f"no command {command_id}")
    return row
