"""Reconciliation: ``GET /api/reconcile`` compares the broker with the cloud's records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aigupiao.protocol.bounds import Identifier, PriceOrZero

from ...deps import ApiKeyName, Runtime
from ...services.reconcile import COST_TOLERANCE, Reconciler

router = APIRouter(prefix="/api", tags=["reconcile"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "no local node of the account is connected"},
    502: {"description": "the node's export failed"},
    504: {"description": "the node did not answer the export within api_timeout"},
}


@router.get("/reconcile", responses=_RESPONSES)
async def reconcile(
    runtime: Runtime,
    _: ApiKeyName,
    account: Annotated[
        Identifier | None, Query(description="默认：唯一在线节点的账户 (the only node's)")
    ] = None,
    cost_tolerance: Annotated[
        PriceOrZero, Query(description="成本价容差 (CNY per share)")
    ] = COST_TOLERANCE,
) -> dict[str, Any]:
    """对账：券商持仓与当日成交 vs 云端记录 (broker positions and today's trades vs the cloud).

    Asks the account's node for an export, so it takes as long as the node does.
    Quantity differences are broker minus cloud; ``matched`` is true when nothing differs.
    """
    reconciler = Reconciler(
        runtime.db, runtime.hub, runtime.commands, runtime.results, runtime.clock
    )
    return await reconciler.run(account, cost_tolerance=cost_tolerance)
