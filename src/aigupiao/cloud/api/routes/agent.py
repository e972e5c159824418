"""The agent: its status, each account's strategies, the user strategy files (``/api/agent``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aigupiao.protocol.bounds import Identifier, Name
from aigupiao.protocol.http import JsonBodyRoute

from ...deps import ApiKeyName, Runtime, Viewer
from ...errors import InvalidRequest
from ...runtime import CloudRuntime

router = APIRouter(prefix="/api/agent", tags=["agent"], route_class=JsonBodyRoute)


class StrategyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(None, description="run it for the account (false drops it)")
    paused: bool | None = Field(None, description="keep it, with its memory, but do not run it")
    params: dict[Identifier, Any] | None = Field(
        None,
        description="params to change (validated against param_schema; the others stay)",
        examples=[{"threshold": "-0.06", "quantity": 200}],
    )


def _account(runtime: CloudRuntime, account: str | None) -> str:
    chosen = account or runtime.agent.default_account()
    if not chosen:
        raise InvalidRequest(
            "请用 account 参数指定账户（当前没有唯一的交易账户）",
            "name the account with ?account= (there is no single traded account)",
            code="account_required",
        )
    return chosen


@router.get("/status")
async def status(runtime: Runtime, _: Viewer) -> dict[str, Any]:
    """Whether the agent runs, its last round, the accounts it trades, the strategies
    there are, and the latest strategy failures (newest first)."""
    return runtime.agent.status()


@router.get("/strategies")
async def list_strategies(
    runtime: Runtime, _: Viewer, account: Identifier | None = None
) -> list[dict[str, Any]]:
    """Every strategy for ``account`` (default: the only traded account): enabled,
    paused, params, the params' JSON schema and where it comes from."""
    return await runtime.agent.book.describe(_account(runtime, account))


@router.put(
    "/strategies/{name}",
    responses={404: {"description": "no such strategy"}, 422: {"description": "bad params"}},
)
async def update_strategy(
    name: Name,
    body: StrategyUpdate,
    runtime: Runtime,
    caller: ApiKeyName,
    account: Identifier | None = None,
) -> dict[str, Any]:
    """Enable, pause or configure one strategy for one account: validated (a bad param
    is a 422 with the reason and changes nothing), stored, audited, applied at once.
    The LLM strategy's ``endpoint`` is a name from the operator's ``agent.llm.endpoints``;
    ``base_url``, ``api_key`` and ``api_key_env`` are refused (config file only)."""
    return await runtime.agent.book.update(
        _account(runtime, account),
        name,
        enabled=body.enabled,
        paused=body.paused,
        params=body.params,
        actor=caller,
    )


@router.post("/reload")
async def reload_strategies(runtime: Runtime, caller: ApiKeyName) -> dict[str, Any]:
    """Reload the user strategy files (``agent.strategy_paths``) without a restart: a
    file that fails is listed in ``errors`` and keeps its last good version running."""
    return await runtime.agent.book.reload(caller)
