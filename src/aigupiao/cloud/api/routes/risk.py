"""The kill switch and the risk limits (``/api/risk``).

The audit log's ``source`` of a change is the server's to say, from the caller
(``dashboard`` for a logged-in person, ``api`` for an API key): a body naming one is
refused (422), like any unknown field.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aigupiao.protocol.bounds import Identifier, Text
from aigupiao.protocol.http import JsonBodyRoute
from aigupiao.risk import TradingState

from ...deps import Runtime, Trader, Viewer, audit_source

router = APIRouter(prefix="/api/risk", tags=["risk"], route_class=JsonBodyRoute)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateUpdate(_Body):
    state: TradingState = Field(description="active, reducing (exits only) or halted (nothing)")
    account: Identifier | None = Field(None, description="this account only; default: all accounts")
    reason: Text = Field("", description="why (kept in the audit log)")


class LimitsUpdate(_Body):
    account: Identifier | None = Field(
        None, description="this account only; default: every account"
    )
    limits: dict[Identifier, Any] = Field(
        description='limits to change, e.g. {"max_position_size": "0.2"}; null turns an '
        "optional limit off",
        examples=[{"max_position_size": "0.2", "max_orders_per_minute": 20}],
    )
    reset: bool = Field(False, description="drop earlier changes first (back to the config)")


@router.get("/state")
async def get_state(
    runtime: Runtime, _: Viewer, account: Identifier | None = None
) -> dict[str, Any]:
    """Trading states: global and per account (with ``account``: the one its orders obey)."""
    return runtime.risk.describe_states(account)


@router.put("/state")
async def put_state(body: StateUpdate, runtime: Runtime, caller: Trader) -> dict[str, Any]:
    """The kill switch: halt, reduce-only or resume, globally or for one account; takes
    effect at once, survives restarts, and is written to the audit log."""
    return await runtime.risk.set_state(
        body.state,
        account=body.account,
        reason=body.reason,
        actor=caller.actor,
        source=audit_source(caller),
    )


@router.get("/limits")
async def get_limits(
    runtime: Runtime, _: Viewer, account: Identifier | None = None
) -> dict[str, Any]:
    """The limits in force for ``account`` (default: those of accounts without their own)."""
    return runtime.risk.describe_limits(account)


@router.put("/limits", responses={422: {"description": "invalid limits, each with its reason"}})
async def put_limits(body: LimitsUpdate, runtime: Runtime, caller: Trader) -> dict[str, Any]:
    """Change limits for one account or for all; validated, persisted and audited."""
    return await runtime.risk.set_limits(
        body.limits,
        account=body.account,
        actor=caller.actor,
        source=audit_source(caller),
        reset=body.reset,
    )
