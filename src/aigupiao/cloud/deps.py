"""FastAPI dependencies: the runtime and API-key authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from .runtime import CloudRuntime


def get_runtime(request: Request) -> CloudRuntime:
    runtime: CloudRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[CloudRuntime, Depends(get_runtime)]

_UNAUTHORIZED = {
    "code": "unauthorized",
    "message": "缺少或无效的 API 密钥：请使用 Authorization: Bearer <key> 或 X-API-Key 头",
    "message_en": "missing or invalid API key: send Authorization: Bearer <key> or X-API-Key",
}


def _presented(authorization: str | None, x_api_key: str | None) -> str:
    key = x_api_key
    if key is None and authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    if not key:
        raise HTTPException(401, _UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return key


async def _authenticate(
    runtime: CloudRuntime, authorization: str | None, x_api_key: str | None, *, nodes: bool
) -> str:
    """The caller's name: an API key's name, or ``node:NAME`` for a node token if ``nodes``."""
    name = await runtime.auth.name_of(_presented(authorization, x_api_key), nodes=nodes)
    if name is None:
        raise HTTPException(401, _UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return name


async def require_api_key(
    runtime: Runtime,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    """The name of the API key presented; 401 if none or invalid."""
    return await _authenticate(runtime, authorization, x_api_key, nodes=False)


async def require_reader(
    runtime: Runtime,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    """An API key, or a node token (nodes read quotes for their paper broker)."""
    return await _authenticate(runtime, authorization, x_api_key, nodes=True)


ApiKeyName = Annotated[str, Depends(require_api_key)]
ReaderName = Annotated[str, Depends(require_reader)]
