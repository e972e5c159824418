"""FastAPI dependencies: the runtime, and who may call what.

Routes declare the role they need with an ``Annotated`` alias::

    @router.get("/orders")
    async def list_orders(runtime: Runtime, caller: Viewer) -> ...

- :data:`Viewer`: reads (any logged-in user, any API key);
- :data:`Reader`: reads that local nodes make too (quotes), so node tokens pass;
- :data:`Trader`: orders, cancels, exports, the kill switch, strategies, risk limits
  (role trader or admin; an API key of scope ``trade`` or ``admin``);
- :data:`Admin`: ``/api/admin/*`` and node tokens (role admin; an API key of scope
  ``admin``).

An API key acts as the role of its scope (``read`` viewer, ``trade`` trader, ``admin``
admin; :data:`aigupiao.cloud.auth.SCOPE_ROLES`).

A caller presents a session token (cookie ``aigupiao_session`` or
``Authorization: Bearer ags_...``), an API key (``Authorization: Bearer agp_...`` or
``X-API-Key``) or a node token. None or an invalid one: 401 ``unauthorized``; a role
below the one needed: 403 ``forbidden`` naming the role.

:data:`ApiKeyName` and :data:`ReaderName` are the older string aliases (the caller's
audit name, such as ``apikey:bot`` or ``user:alice``) for trader and reader routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from aigupiao.domain.users import Role

from .auth import Principal
from .runtime import CloudRuntime

SESSION_COOKIE = "aigupiao_session"


def get_runtime(request: Request) -> CloudRuntime:
    runtime: CloudRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[CloudRuntime, Depends(get_runtime)]

_UNAUTHORIZED = {
    "code": "unauthorized",
    "message": "未登录或凭据无效：请登录，或提供 API 密钥"
    "（Authorization: Bearer <key> 或 X-API-Key 头）",
    "message_en": "not logged in or invalid credentials: log in, or send "
    "Authorization: Bearer <key> or X-API-Key",
}

# Declared as security schemes so that /docs offers them; none of them refuses by itself.
_bearer = HTTPBearer(auto_error=False, description="会话令牌或 API 密钥 (session token or API key)")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="API 密钥 (API key)")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="控制台会话 (session)")


def unauthorized() -> HTTPException:
    return HTTPException(401, _UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})


def forbidden(principal: Principal, needed: Role) -> HTTPException:
    has = principal.role.value if principal.role else principal.kind
    if principal.scope is not None:
        has = f"{has} (scope {principal.scope})"
    return HTTPException(
        403,
        {
            "code": "forbidden",
            "message": f"需要「{needed.title_zh}」({needed.value}) 角色，"
            f"{principal.actor} 的角色是 {has}",
            "message_en": f"this needs the role {needed.value}; {principal.actor} is {has}",
            "required_role": needed.value,
        },
    )


def allowed(principal: Principal, needed: Role) -> bool:
    """Whether ``principal`` may do what ``needed`` may (a node never: it has no role)."""
    return principal.may(needed)


def presented_secret(
    bearer: HTTPAuthorizationCredentials | None, api_key: str | None, cookie: str | None
) -> str | None:
    """The secret a request carries: X-API-Key, else the bearer token, else the cookie."""
    if api_key:
        return api_key
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return cookie or None


def require(needed: Role, *, nodes: bool = False) -> Callable[..., Awaitable[Principal]]:
    """A dependency answering the caller, refusing anyone below ``needed``.

    Args:
        needed: the least role that may call.
        nodes: node tokens pass too (the reads nodes make).
    """

    async def dependency(
        request: Request,
        runtime: Runtime,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        api_key: Annotated[str | None, Depends(_api_key)],
        cookie: Annotated[str | None, Depends(_cookie)],
    ) -> Principal:
        secret = presented_secret(bearer, api_key, cookie)
        if not secret:
            raise unauthorized()
        principal = await runtime.auth.principal(secret, nodes=nodes)
        if principal is None:
            raise unauthorized()
        if principal.kind != "node" and not allowed(principal, needed):
            raise forbidden(principal, needed)
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{needed.value}" + ("_or_node" if nodes else "")
    return dependency


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Reader = Annotated[Principal, Depends(require(Role.VIEWER, nodes=True))]
Trader = Annotated[Principal, Depends(require(Role.TRADER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


async def _trader_actor(caller: Trader) -> str:
    return caller.actor


async def _reader_actor(caller: Reader) -> str:
    return caller.actor


# The caller's audit name for routes that need a trader (or an API key): what routes
# written before users existed declare.
ApiKeyName = Annotated[str, Depends(_trader_actor)]
ReaderName = Annotated[str, Depends(_reader_actor)]


async def session_principal(
    runtime: CloudRuntime, secret: str | None
) -> tuple[Principal, str] | None:
    """The logged-in user of a session token and the token; None for anything else."""
    if not secret:
        return None
    principal = await runtime.auth.principal(secret, nodes=False)
    if principal is None or principal.kind != "user":
        return None
    return principal, secret


async def session_secret(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> str | None:
    """The session token of a request (bearer first, then the cookie), unchecked."""
    return presented_secret(bearer, None, cookie)


SessionSecret = Annotated[str | None, Depends(session_secret)]


def _same_origin(headers: Any) -> bool:
    """A browser's WebSocket from another site would carry our cookie only if SameSite
    failed; refuse a cookie login whose Origin is not this host anyway."""
    origin = headers.get("origin")
    if not origin:
        return True  # not a browser
    return bool(urlsplit(origin).netloc.lower() == str(headers.get("host", "")).lower())


async def websocket_principal(
    websocket: WebSocket, runtime: CloudRuntime, needed: Role, *, nodes: bool = False
) -> tuple[Principal | None, int]:
    """Who opened ``websocket`` and whether they may: ``(principal, 0)``, or ``(None, code)``
    with the close code to answer (4401 no or bad credentials, 4403 role too low).

    Accepts ``?api_key=``, ``X-API-Key``, ``Authorization: Bearer`` (API key or session
    token) and the session cookie, which browsers send on a same-origin WebSocket.
    """
    secret = websocket.query_params.get("api_key") or websocket.headers.get("x-api-key")
    authorization = websocket.headers.get("authorization", "")
    if not secret and authorization.lower().startswith("bearer "):
        secret = authorization[7:].strip()
    if not secret:
        secret = websocket.cookies.get(SESSION_COOKIE)
        if secret and not _same_origin(websocket.headers):
            return None, 4403
    if not secret:
        return None, 4401
    principal = await runtime.auth.principal(secret, nodes=nodes)
    if principal is None:
        return None, 4401
    if principal.kind != "node" and not allowed(principal, needed):
        return None, 4403
    return principal, 0


def audit_source(principal: Principal) -> str:
    """Where a change comes from, as the audit log records it: decided by the server
    from the caller (a dashboard session or an API key), never taken from the request."""
    return "dashboard" if principal.kind == "user" else "api"
