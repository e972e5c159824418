"""Live versus backtest: ``GET /api/backtests/replay?account=&date=``.

Replays the account's day through the same strategies and risk gate
(:mod:`aigupiao.backtest.replay`) and answers each decision where live and replay
differ, with its reason. A day of raw snapshots is a large read and a long replay, so
both run on a worker thread with a database connection of their own (SQLite statements
would otherwise run on the server's event loop), one replay at a time: trading never
waits for one.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aigupiao.backtest.replay import ReplayInputError, ReplayResult, ReplaySettings, replay_day
from aigupiao.protocol.bounds import Identifier
from aigupiao.store import Database

from ...deps import Runtime, Viewer
from ...errors import InvalidRequest, NotFound, ServiceError
from ...services.rounds import replay_settings

router = APIRouter(prefix="/api/backtests", tags=["backtests"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown account (unknown_account), or nothing stored that day (no_data)"},
    422: {"description": "a bad date, or not a trading day (not_trading_day)"},
}


class ReplayDecision(BaseModel):
    """One side of a compared decision. Prices are strings (Decimal)."""

    model_config = ConfigDict(extra="forbid")

    strategy: str
    side: str
    quantity: int
    price: str | None = Field(description="限价；null 为市价 (limit price; null = market)")
    accepted: bool
    rule: str | None = Field(description="拒绝的规则 (the rule that refused it)")
    message: str | None
    decision_id: str | None = Field(description="实盘决策的 id (the live decision's id)")


class ReplayDifference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ts: datetime
    code: str
    strategy: str
    kind: str = Field(description="live_only / replay_only / changed")
    fields: list[str] = Field(description="不同的字段 (what differs)")
    live: ReplayDecision | None
    replay: ReplayDecision | None
    reason: str = Field(
        description="node_offline, broker_refused, command_unknown, late_quote, fill_price, "
        "gate, follows, coarse_quotes, unknown"
    )
    reason_zh: str
    reason_en: str
    root: str = Field(description="一连串差异的根源 (the first cause of a chain)")


class ReplaySpan(BaseModel):
    start: datetime
    end: datetime


class ReplayPublic(BaseModel):
    """The comparison of a live day with its replay."""

    model_config = ConfigDict(extra="forbid")

    account: str
    date: date
    quote_source: str = Field(description="raw（原始快照）或 bars（1 分钟K线）")
    moments_source: str = Field(description="rounds（记录的代理轮次）或 decisions_and_bars")
    moments: int
    live_decisions: int
    replay_decisions: int
    matched: int
    differences: list[ReplayDifference]
    offline: list[ReplaySpan] = Field(description="实盘未为该账户决策的时段 (node offline)")
    not_replayed: int = Field(description="不在回放时刻的实盘决策（手工委托）(manual orders)")
    warnings: list[str]
    seconds: float


@router.get("/replay", response_model=ReplayPublic, responses=_RESPONSES)
async def backtest_replay(
    request: Request,
    runtime: Runtime,
    _: Viewer,
    account: Annotated[Identifier, Query(description="账户 (account)")],
    day: Annotated[date, Query(alias="date", description="交易日 YYYY-MM-DD (trading day)")],
) -> ReplayPublic:
    """实盘与回放对比 (live versus backtest): 每个不同的决策及其原因 (each differing
    decision and its reason)."""
    lock: asyncio.Lock | None = getattr(request.app.state, "replay_lock", None)
    if lock is None:
        lock = request.app.state.replay_lock = asyncio.Lock()
    settings = replay_settings(runtime.settings.agent)
    async with lock:
        try:
            result = await asyncio.to_thread(
                _replay, runtime.settings.database_url, account, day, settings
            )
        except ReplayInputError as exc:
            raise _http_error(exc) from exc
    return ReplayPublic.model_validate(result.as_json())


def _replay(url: str, account: str, day: date, settings: ReplaySettings) -> ReplayResult:
    """The replay on this (worker) thread, with its own event loop and connection."""

    async def main() -> ReplayResult:
        db = Database(url)
        try:
            return await replay_day(db, account, day, settings)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _http_error(exc: ReplayInputError) -> ServiceError:
    kind = NotFound if exc.code in ("unknown_account", "no_data") else InvalidRequest
    return kind(exc.message_zh, exc.message_en, code=exc.code)
