"""Administration (role ``admin``): users, API keys, settings and the audit log.

Every change is written to the audit log in the same transaction as the change.
Callers: admin sessions, and API keys of scope ``admin`` (keys of scope ``read`` or
``trade`` get 403).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from aigupiao.domain.ranges import unsafe_character
from aigupiao.domain.users import USERNAME_PATTERN, Role
from aigupiao.protocol.http import JsonBodyRoute
from aigupiao.store import (
    ApiKeyRepo,
    AuditRepo,
    DuplicateName,
    SettingRepo,
    UserRepo,
    UserSessionRepo,
)
from aigupiao.store.passwords import MIN_PASSWORD_LENGTH
from aigupiao.store.repositories.auth import Scope

from ...deps import Admin, Runtime, SessionSecret
from ...errors import InvalidRequest, NotFound, ServiceError

router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=JsonBodyRoute)

# Settings that a service owns and validates through its own API: writing them here
# would bypass the validation and the service's copy in memory.
MANAGED_PREFIXES = {"risk.": "/api/risk", "agent.": "/api/agent"}


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(_Body):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)
    role: Role


class UserUpdate(_Body):
    role: Role | None = None
    password: str | None = Field(None, min_length=MIN_PASSWORD_LENGTH, max_length=256)


class UserPublic(BaseModel):
    username: str
    role: Role
    created_at: datetime


class ApiKeyCreate(_Body):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    scope: Scope = Field(
        "trade", description="read (acts as viewer), trade (trader) or admin (admin)"
    )


class ApiKeyPublic(BaseModel):
    name: str
    prefix: str
    scope: Scope
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class AuditEntry(BaseModel):
    id: int
    ts: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


def _last_admin(username: str) -> Conflict:
    return Conflict(
        f"{username} 是最后一个管理员，不能删除或降级",
        f"{username} is the last admin and cannot be removed or demoted",
        code="last_admin",
    )


async def _is_last_admin(users: UserRepo, user: dict[str, Any]) -> bool:
    return user["role"] == Role.ADMIN.value and set(await users.admins()) == {user["username"]}


# -- users ----------------------------------------------------------------------------


@router.get("/users", response_model=list[UserPublic])
async def list_users(runtime: Runtime, _: Admin) -> Any:
    async with runtime.db.session() as session:
        return await UserRepo(session).list()


@router.post("/users", status_code=201, response_model=UserPublic)
async def create_user(body: UserCreate, runtime: Runtime, caller: Admin) -> Any:
    """Create a user with a password of at least 8 characters."""
    async with runtime.db.session() as session:
        users = UserRepo(session)
        try:
            await users.add(body.username, body.password, body.role)
        except DuplicateName as exc:
            raise Conflict(
                f"用户名已存在：{body.username}",
                f"a user named {body.username} exists",
                code="duplicate_name",
            ) from exc
        await AuditRepo(session).add(
            caller.actor, "user.create", body.username, {"role": body.role.value}
        )
        created = await users.get(body.username)
        await session.commit()
    return created


@router.patch("/users/{username}", response_model=UserPublic)
async def update_user(
    username: str, body: UserUpdate, runtime: Runtime, caller: Admin, secret: SessionSecret
) -> Any:
    """Change a user's role and/or password. A role change applies to the user's next
    request; a new password ends the user's sessions (but the one the caller is using,
    when admins change their own)."""
    async with runtime.db.session() as session:
        users = UserRepo(session)
        user = await users.get(username)
        if user is None:
            raise NotFound(f"没有用户 {username}", f"no user {username}")
        detail: dict[str, Any] = {}
        if body.role is not None and body.role.value != user["role"]:
            if await _is_last_admin(users, user):
                raise _last_admin(username)
            await users.set_role(username, body.role)
            detail["role"] = {"from": user["role"], "to": body.role.value}
        if body.password is not None:
            await users.set_password(username, body.password)
            own = caller.kind == "user" and caller.name == username
            keep = secret if own else None
            detail["password"] = "changed"
            detail["sessions_ended"] = await UserSessionRepo(session).end_all(username, keep=keep)
        if detail:
            await AuditRepo(session).add(caller.actor, "user.update", username, detail)
        updated = await users.get(username)
        await session.commit()
    return updated


@router.delete("/users/{username}", status_code=204)
async def delete_user(username: str, runtime: Runtime, caller: Admin) -> Response:
    """Remove a user and end their sessions at once; the last admin cannot be removed."""
    async with runtime.db.session() as session:
        users = UserRepo(session)
        user = await users.get(username)
        if user is None:
            raise NotFound(f"没有用户 {username}", f"no user {username}")
        if await _is_last_admin(users, user):
            raise _last_admin(username)
        await users.remove(username)
        await AuditRepo(session).add(caller.actor, "user.remove", username, {"role": user["role"]})
        await session.commit()
    return Response(status_code=204)


# -- API keys -------------------------------------------------------------------------


@router.get("/apikeys", response_model=list[ApiKeyPublic])
async def list_api_keys(runtime: Runtime, _: Admin) -> Any:
    """Every key, revoked ones included; only a prefix of each (the key is never stored)."""
    async with runtime.db.session() as session:
        return await ApiKeyRepo(session).list()


@router.post("/apikeys", status_code=201)
async def create_api_key(body: ApiKeyCreate, runtime: Runtime, caller: Admin) -> dict[str, str]:
    """Create an API key of ``scope`` (default trade). The answer is the only time the
    key is shown."""
    async with runtime.db.session() as session:
        try:
            key = await ApiKeyRepo(session).add(body.name, body.scope)
        except DuplicateName as exc:
            raise Conflict(
                f"API 密钥名称已存在：{body.name}",
                f"an API key named {body.name} exists",
                code="duplicate_name",
            ) from exc
        await AuditRepo(session).add(
            caller.actor, "apikey.create", body.name, {"scope": body.scope}
        )
        await session.commit()
    return {"name": body.name, "scope": body.scope, "key": key}


@router.delete("/apikeys/{name}")
async def revoke_api_key(name: str, runtime: Runtime, caller: Admin) -> dict[str, Any]:
    """Revoke a key; this process stops accepting it at once."""
    async with runtime.db.session() as session:
        revoked = await ApiKeyRepo(session).revoke(name)
        if revoked:
            await AuditRepo(session).add(caller.actor, "apikey.revoke", name, {})
        await session.commit()
    if not revoked:
        raise NotFound(f"没有名为 {name} 的有效 API 密钥", f"no active API key named {name}")
    runtime.auth.forget()
    return {"name": name, "revoked": True}


# -- settings -------------------------------------------------------------------------


@router.get("/settings")
async def get_settings(runtime: Runtime, _: Admin) -> dict[str, Any]:
    """Every stored setting by key (the risk service's and the agent's included)."""
    async with runtime.db.session() as session:
        return await SettingRepo(session).all()


@router.put("/settings")
async def put_settings(
    runtime: Runtime,
    caller: Admin,
    body: dict[str, Any] = Body(examples=[{"dashboard.watchlist": ["sh600519", "sz000001"]}]),
) -> dict[str, Any]:
    """Store settings ``{key: value}`` (any JSON values). Keys under ``risk.`` and ``agent.``
    belong to their services and are changed through their own APIs."""
    for key, value in body.items():
        if not key or len(key) > 128 or unsafe_character(key) is not None:
            raise InvalidRequest(
                f"设置键无效：{key[:128]!r}（1-128 个可打印字符）",
                f"invalid setting key {key[:128]!r} (1-128 printable characters)",
            )
        if value is None:  # the column holds JSON values, never SQL NULL
            raise InvalidRequest(f"设置 {key} 的值不能为 null", f"setting {key} may not be null")
        for prefix, api in MANAGED_PREFIXES.items():
            if key.startswith(prefix):
                raise InvalidRequest(
                    f"{key} 由服务管理，请使用 {api}",
                    f"{key} is managed by its service: use {api}",
                    code="managed_setting",
                )
    async with runtime.db.session() as session:
        repo = SettingRepo(session)
        before = await repo.all()
        for key, value in body.items():
            await repo.set(key, value)
        changes = {key: {"from": before.get(key), "to": value} for key, value in body.items()}
        await AuditRepo(session).add(caller.actor, "settings.update", ",".join(body), changes)
        stored = await repo.all()
        await session.commit()
    return stored


# -- audit log ------------------------------------------------------------------------


@router.get("/audit", response_model=list[AuditEntry])
async def audit_log(
    runtime: Runtime,
    _: Admin,
    limit: int = Query(200, ge=1, le=5000),
    actor: str | None = Query(None, max_length=128, description="e.g. user:alice, apikey:bot"),
    action: str | None = Query(
        None, max_length=128, description="e.g. user.create; user.* for a prefix"
    ),
) -> Any:
    """Who changed what, newest first."""
    async with runtime.db.session() as session:
        return await AuditRepo(session).list(limit=limit, actor=actor, action=action)
