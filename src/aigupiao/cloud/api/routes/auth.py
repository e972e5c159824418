"""People logging in and out: ``/api/auth``.

A login makes a server-side session (``user_sessions``, the token stored hashed) that
lasts ``auth.session_hours``. The token comes back in the body (for API clients:
``Authorization: Bearer <token>``) and as the cookie ``aigupiao_session`` (HttpOnly,
SameSite=Strict) that the dashboard uses. Every login and logout is audited.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from aigupiao.store import AuditRepo, UserRepo, UserSessionRepo

from ...auth import LoginThrottle
from ...deps import SESSION_COOKIE, Runtime, SessionSecret, session_principal, unauthorized

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
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
    return request.client.host if request.client else "unknown"


@router.post(
    "/login",
    response_model=LoginAnswer,
    responses={
        401: {"description": "wrong username or password (bad_credentials)"},
        429: {"description": "too many wrong passwords lately (too_many_attempts)"},
    },
)
async def login(body: LoginBody, request: Request, response: Response, runtime: Runtime) -> Any:
    """Log in with a username and password; answers the session and sets its cookie."""
    throttle, address = _throttle(request), _address(request)
    wait = throttle.retry_after(body.username, address)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise _error(
            429,
            "too_many_attempts",
            f"密码错误次数过多，请 {seconds} 秒后再试",
            f"too many failed logins; try again in {seconds} s",
            **{"Retry-After": str(seconds)},
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
        secure=runtime.settings.auth.cookie_secure,
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
        secure=runtime.settings.auth.cookie_secure,
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
