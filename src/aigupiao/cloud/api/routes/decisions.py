"""The decision log: every decision, why, what the gate said, and how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query

from aigupiao.domain.errors import DomainError
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import parse_symbol
from aigupiao.protocol.bounds import Identifier, Moment, Name, SecurityCode

from ...deps import Runtime, Viewer
from ...errors import InvalidRequest, NotFound
from ...services.decisions import decision_story, list_decisions
from ..public import public

router = APIRouter(prefix="/api/decisions", tags=["decisions"])


def _full_code(code: str) -> str:
    try:
        return parse_symbol(code).full
    except DomainError as exc:
        raise InvalidRequest(exc.message_zh, exc.message_en, code=exc.code) from exc


def _aware(moment: datetime | None) -> datetime | None:
    """A time without a zone is Beijing time."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=BEIJING)


@router.get("")
async def get_decisions(
    runtime: Runtime,
    _: Viewer,
    account: Identifier | None = None,
    strategy: Name | None = None,
    code: SecurityCode | None = None,
    verdict: Literal["accepted", "rejected"] | None = None,
    since: Moment | None = Query(None, description="from this time on (ISO 8601)"),
    until: Moment | None = Query(None, description="before this time (ISO 8601)"),
    limit: int = Query(200, ge=1, le=5000),
    before_id: Identifier | None = Query(None, description="the next page: older than this one"),
) -> list[dict[str, Any]]:
    """Decisions newest first, each with its verdict, command and outcome status."""
    rows = await list_decisions(
        runtime.db,
        account=account,
        strategy=strategy,
        symbol=_full_code(code) if code else None,
        verdict=verdict,
        since=_aware(since),
        until=_aware(until),
        limit=limit,
        before_id=before_id,
    )
    return public(rows)


@router.get("/{decision_id}", responses={404: {"description": "no such decision"}})
async def get_decision(decision_id: Identifier, runtime: Runtime, _: Viewer) -> dict[str, Any]:
    """The whole story: strategy, inputs, reason, the risk verdict with its rule and
    values, the command it became, its outcome and every event on the way."""
    story = await decision_story(runtime.db, decision_id)
    if story is None:
        raise NotFound(f"决策 {decision_id} 不存在", f"no decision {decision_id}")
    return public(story)
