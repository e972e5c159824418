"""Local nodes and their tokens: ``/api/nodes``. Tokens are managed with admin rights only
(an admin session, or an API key of scope ``admin``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aigupiao.protocol.bounds import Identifier
from aigupiao.protocol.http import JsonBodyRoute
from aigupiao.store import AuditRepo, DuplicateName, NodeRepo, NodeTokenRepo

from ...deps import Admin, Runtime, Viewer
from ...errors import InvalidRequest, NotFound

router = APIRouter(prefix="/api/nodes", tags=["nodes"], route_class=JsonBodyRoute)


class NodeTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    account: Identifier = Field(description="the one account this node trades")


@router.get("")
async def list_nodes(runtime: Runtime, _: Viewer) -> list[dict[str, Any]]:
    """Every node ever registered, with its live state (online / degraded / offline)."""
    async with runtime.db.session() as session:
        rows = await NodeRepo(session).list()
    for row in rows:
        link = runtime.hub.links.get(row["id"])
        row["status"] = link.state(runtime.hub.heartbeat_s) if link else "offline"
    return rows


@router.get("/tokens")
async def list_tokens(runtime: Runtime, _: Admin) -> list[dict[str, Any]]:
    """Node tokens by name (only a prefix of each token; the token itself is never stored)."""
    async with runtime.db.session() as session:
        return await NodeTokenRepo(session).list()


@router.post("/tokens", status_code=201)
async def create_token(body: NodeTokenCreate, runtime: Runtime, caller: Admin) -> dict[str, str]:
    """Create a node token. The answer is the only time the token is shown."""
    async with runtime.db.session() as session:
        try:
            token = await NodeTokenRepo(session).add(body.name, body.account)
            await AuditRepo(session).add(caller.actor, "node_token.create", body.name,
                                         {"account": body.account})  # fmt: skip
        except DuplicateName as exc:
            raise InvalidRequest(
                f"节点令牌名称已存在：{body.name}", f"a node token named {body.name} exists",
                code="duplicate_name",
            ) from exc  # fmt: skip
        await session.commit()
    return {"name": body.name, "account": body.account, "token": token}


@router.delete("/tokens/{name}")
async def revoke_token(name: str, runtime: Runtime, caller: Admin) -> dict[str, Any]:
    """Revoke a token; a node connected with it is disconnected at once (close code 4401)."""
    async with runtime.db.session() as session:
        revoked = await NodeTokenRepo(session).revoke(name)
        if revoked:
            await AuditRepo(session).add(caller.actor, "node_token.revoke", name, {})
        await session.commit()
    if not revoked:
        raise NotFound(f"没有名为 {name} 的有效节点令牌", f"no active node token named {name}")
    runtime.auth.forget()
    dropped = await runtime.hub.drop_token(name)
    return {"name": name, "revoked": True, "disconnected": dropped}
