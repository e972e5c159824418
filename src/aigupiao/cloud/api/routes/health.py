"""Health checks (no authentication)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from aigupiao import __version__

from ...deps import Runtime

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
async def health(runtime: Runtime) -> JSONResponse:
    """``ok`` when the database answers and no background task is down (failed, or
    waiting to be restarted). ``tasks`` has each task's state, ``task_details`` also how
    often it was restarted after a failure and its last error."""
    try:
        async with runtime.db.session() as session:
            await session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:
        database = f"error: {type(exc).__name__}"
    healthy = database == "ok" and runtime.tasks.healthy
    stats = runtime.stats
    body: dict[str, Any] = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "database": database,
        "tasks": runtime.tasks.health(),
        "task_details": runtime.tasks.details(),
        "nodes_online": len(runtime.hub.links),
        "symbols": len(runtime.market.latest),
        "market_time": runtime.clock.now().isoformat(),
        "stats": {
            "quotes": stats.quotes,
            "decisions": stats.decisions,
            "decisions_accepted": stats.decisions_accepted,
            "orders": stats.orders,
            "fills": stats.fills,
            "quotes_refused": runtime.market.validator.counters()["refused"],
            # Node messages about another node's commands or another account.
            "node_messages_refused": stats.refused_not_yours,
            "bars_stored": runtime.bars.stored,
        },
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
