"""Read endpoints: orders, trades, positions, accounts and their equity history, commands
(quotes and bars: market.py; decisions: decisions.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query

from aigupiao.domain.errors import DomainError
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import parse_symbol
from aigupiao.protocol.bounds import Identifier, Moment, SecurityCode
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
    account: Identifier | None = None,
    limit: int = Query(200, ge=1, le=5000),
) -> list[dict[str, Any]]:
    async with runtime.db.session() as session:
        return public(await OrderRepo(session).list(account=account, limit=limit))


@router.get("/trades")
async def list_trades(
    runtime: Runtime,
    _: Viewer,
    account: Identifier | None = None,
    code: SecurityCode | None = None,
    limit: int = Query(200, ge=1, le=5000),
) -> list[dict[str, Any]]:
    symbol = _full_code(code) if code else None
    async with runtime.db.session() as session:
        return public(await TradeRepo(session).list(account=account, symbol=symbol, limit=limit))


@router.get("/positions")
async def list_positions(
    runtime: Runtime, _: Viewer, account: Identifier | None = None
) -> list[dict[str, Any]]:
    await runtime.results.flush()  # read your own fills: write pending snapshots first
    async with runtime.db.session() as session:
        return public(await PositionRepo(session).list(account))


@router.get("/accounts")
async def list_accounts(runtime: Runtime, _: Viewer) -> list[dict[str, Any]]:
    """Each account's latest snapshot, with ``day_start_equity`` (the equity of the last
    snapshot before today's 09:15 Beijing time, else today's first), ``day_start_at`` (that
    snapshot's time: today's curve starts there) and ``pnl_today`` (``equity -
    day_start_equity``); all null while the account has no history."""
    await runtime.results.flush()
    equity = runtime.results.equity
    async with runtime.db.session() as session:
        accounts = await AccountRepo(session).list()
        for account in accounts:
            start = await equity.day_start(session, account["id"])
            account["day_start_equity"] = None if start is None else start.equity
            account["day_start_at"] = None if start is None else start.ts
            account["pnl_today"] = None if start is None else account["equity"] - start.equity
    return public(accounts)


@router.get("/accounts/{account}/equity")
async def account_equity(
    account: Identifier,
    runtime: Runtime,
    _: Viewer,
    start: Moment | None = Query(None, description="from this time on (ISO 8601; naive: Beijing)"),
    end: Moment | None = Query(None, description="up to this time (ISO 8601; naive: Beijing)"),
    limit: int = Query(1000, ge=1, le=20_000, description="the newest rows in range"),
) -> list[dict[str, Any]]:
    """The account's equity history, oldest first: ``[{ts, equity, cash}]``, at most one
    point per ``accounts.equity_interval`` seconds plus each trading day's first."""
    start, end = _beijing(start), _beijing(end)
    if start is not None and end is not None and start > end:
        raise InvalidRequest("开始时间晚于结束时间", "start is after end", code="invalid_range")
    await runtime.results.flush()
    points = await runtime.results.equity.points(account, start=start, end=end, limit=limit)
    if not points:
        async with runtime.db.session() as session:
            known = {row["id"] for row in await AccountRepo(session).list()}
        if account not in known:
            raise NotFound(f"账户 {account} 不存在", f"no account {account}")
    return public(points)


def _beijing(moment: datetime | None) -> datetime | None:
    """A time without a zone is Beijing time."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=BEIJING)


@router.get("/commands")
async def list_commands(
    runtime: Runtime,
    _: Viewer,
    status: Identifier | None = None,
    node_id: Identifier | None = None,
    limit: int = Query(100, ge=1, le=5000),
) -> list[dict[str, Any]]:
    return await runtime.commands.list(limit=limit, status=status, node_id=node_id)


@router.get("/commands/{command_id}")
async def get_command(command_id: Identifier, runtime: Runtime, _: Viewer) -> dict[str, Any]:
    row = await runtime.commands.get(command_id)
    if row is None:
        raise NotFound(f"指令 {command_id} 不存在", f"no command {command_id}")
    return row
