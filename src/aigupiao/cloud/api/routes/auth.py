"""People logging in and out: ``/api/auth``.

A login makes a server-side session (``user_sessions``, the token stored hashed) that
lasts ``auth.session_hours``. The token comes back in the body (for API clients:
``Authorization: Bearer <token>``) and as the cookie ``aigupiao_session`` (HttpOnly,
SameSite=Strict; Secure when the request came over HTTPS, directly or through a proxy
in ``server.trusted_proxies``, or always with ``auth.cookie_secure``) that the
dashboard uses. Every login and logout is audited.

Wrong passwords slow further attempts down (:class:`~aigupiao.cloud.auth.LoginThrottle`):
an attempt inside the wait is answered 429 with ``Retry-After`` and the reason.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from aigupiao.domain.users import USERNAME_PATTERN
from aigupiao.protocol.http import JsonBodyRoute
from aigupiao.store import AuditRepo, UserRepo, UserSessionRepo

from ...auth import LoginThrottle
from ...deps import SESSION_COOKIE, Runtime, SessionSecret, session_principal, unauthorized

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=JsonBodyRoute)


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(pattern=USERNAME_PATTERN)  # what a user can be named, nothing else
    # Bounded: hashing a megabyte of "password" would be a cheap way to burn our CPU.
    password: str = Field(min_length=1, max_length=256)


class UserPublic(BaseModel):
    username: str
    role: str


class LoginAnswer(BaseModel):
    user: UserPublic
    expires_at: datetime
    token: str = Field(description="the session token, also set as the aigupiao_session cookie")


class Me(BaseModel):
    username: str
    role: str
    expires_at: datetime


def _error(status: int, code: str, zh: str, en: str, **headers: str) -> HTTPException:
    return HTTPException(
        status, {"code": code, "message": zh, "message_en": en}, headers=headers or None
    )


def _throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def _address(request: Request) -> str:
    # The peer, or the client a trusted proxy names: the server (uvicorn) believes
    # X-Forwarded-For only from server.trusted_proxies.
    return request.client.host if request.client else "unknown"


def _secure(request: Request, runtime: Runtime) -> bool:
    """Whether the session cookie is marked Secure: over HTTPS (the scheme is https with
    TLS here, or as a trusted proxy's X-Forwarded-Proto says), or when configured."""
    return runtime.settings.auth.cookie_secure or request.url.scheme == "https"


@router.post(
    "/login",
    response_model=LoginAnswer,
    responses={
        401: {"description": "wrong username or password (bad_credentials)"},
        429: {"description": "wait before trying again after wrong passwords (too_many_attempts)"},
    },
)
async def login(body: LoginBody, request: Request, response: Response, runtime: Runtime) -> Any:
    """Log in with a username and password; answers the session and sets its cookie."""
    throttle, address = _throttle(request), _address(request)
    wait = throttle.retry_after(body.username, address)
    if wait is not None:
        seconds = max(1, math.ceil(wait.seconds))
        who_zh = "该用户名" if wait.by == "user" else "该地址"
        who_en = "this username" if wait.by == "user" else "this address"
        raise HTTPException(
            429,
            {
                "code": "too_many_attempts",
                "message": f"{who_zh}已连续 {wait.failures} 次登录失败，请 {seconds} 秒后再试",
                "message_en": f"{wait.failures} failed logins in a row for {who_en}; "
                f"try again in {seconds} s",
                "reason": "username" if wait.by == "user" else "address",
                "retry_after": seconds,
            },
            headers={"Retry-After": str(seconds)},
        )
    lifetime = timedelta(hours=runtime.settings.auth.session_hours)
    async with runtime.db.session() as session:
        user = await UserRepo(session).authenticate(body.username, body.password)
        audit = AuditRepo(session)
        if user is None:
            throttle.failed(body.username, address)
            await audit.add(
                f"user:{body.username}", "auth.login_failed", body.username, {"address": address}
            )
            await session.commit()
            raise _error(401, "bad_credentials", "用户名或密码错误", "wrong username or password")
        sessions = UserSessionRepo(session)
        await sessions.purge_expired()
        token, expires_at = await sessions.create(user["username"], lifetime)
        await audit.add(
            f"user:{user['username']}", "auth.login", user["username"], {"address": address}
        )
        await session.commit()
    throttle.succeeded(body.username)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        expires=expires_at,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request, runtime),
    )
    return {
        "user": {"username": user["username"], "role": user["role"]},
        "expires_at": expires_at,
        "token": token,
    }


@router.post("/logout", status_code=204)
async def logout(request: Request, runtime: Runtime, secret: SessionSecret) -> Response:
    """End the session (cookie or bearer) and clear the cookie. Without a live session
    there is nothing to end: the cookie is cleared all the same."""
    found = await session_principal(runtime, secret)
    if found is not None:
        principal, token = found
        async with runtime.db.session() as session:
            await UserSessionRepo(session).end(token)
            await AuditRepo(session).add(
                principal.actor, "auth.logout", principal.name, {"address": _address(request)}
            )
            await session.commit()
    answer = Response(status_code=204)
    answer.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request, runtime),
    )
    return answer


@router.get("/me", response_model=Me, responses={401: {"description": "no live session"}})
async def me(runtime: Runtime, secret: SessionSecret) -> Any:
    """The logged-in user of this session, and when the session ends."""
    found = await session_principal(runtime, secret)
    if found is None:
        raise unauthorized()
    principal = found[0]
    assert principal.role is not None
    return {
        "username": principal.name,
        "role": principal.role.value,
        "expires_at": principal.expires_at,
    }
