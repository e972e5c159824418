"""What every HTTP answer of the cloud and the node gets, as plain ASGI middleware.

- :class:`BodyLimit`: a request body over the cap is answered 413 and never read past
  the cap: a ``Content-Length`` above it is refused before anything is read, and a body
  without one (chunked) or with one that does not hold is counted as it streams in.
- :class:`SecurityHeaders`: ``Content-Security-Policy``, ``X-Frame-Options``,
  ``X-Content-Type-Options`` and ``Referrer-Policy`` on every answer.

:func:`harden` wraps an app's whole middleware stack in both, so that even the answers
of its outermost error handler (a 500) carry the headers. Only ``http`` scopes are
touched: WebSocket frames have their own cap (the server's ``ws_max_size``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIB = 1 << 20

# The built dashboard (web/, Vite): scripts only from its own files (no inline script,
# no eval); Vue and ECharts set element styles, so inline styles stay allowed; the
# stream is a same-origin WebSocket ('self' covers ws: and wss: of this host).
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# FastAPI's /docs (Swagger UI) and /redoc pages load their scripts from a CDN and start
# them with an inline script; they show only the API's own description.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' data: https://fonts.gstatic.com; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


class BodyLimit:
    """Answer 413 to a request body larger than its cap, reading no more than the cap.

    Args:
        app: the app behind.
        max_bytes: the cap of every request body.
        per_path: caps of particular paths (exact matches) that legitimately take more.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: Mapping[str, int] | None = None
    ) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope.get("path", ""), self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)  # nothing of the body is read
            return
        received = 0
        refused = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now, then tell the app the client is gone: it stops reading,
                    # and whatever it answers after this is dropped.
                    refused = True
                    if not started:
                        await _too_large(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # The app's complaint about the cut-off body (a "client disconnect"): answered.


class SecurityHeaders:
    """Add the security headers to every HTTP answer (those the app set itself stay).

    Args:
        app: the app behind.
        csp: the Content-Security-Policy of every page but the API docs.
        docs_csp: the one of ``/docs`` and ``/redoc``.
    """

    def __init__(self, app: ASGIApp, csp: str = DASHBOARD_CSP, docs_csp: str = DOCS_CSP) -> None:
        self.app = app
        self._csp, self._docs_csp = csp.encode(), docs_csp.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = self._docs_csp if scope.get("path") in DOCS_PATHS else self._csp

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in (*SECURITY_HEADERS, (b"content-security-policy", csp)):
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def harden(
    app: Any,
    *,
    max_body_bytes: int,
    per_path: Mapping[str, int] | None = None,
    csp: str = DASHBOARD_CSP,
) -> None:
    """Put :class:`SecurityHeaders` and :class:`BodyLimit` around the whole middleware
    stack of the Starlette/FastAPI ``app`` (outside its error handler, which a plain
    ``add_middleware`` would not be)."""
    build_stack: Callable[[], ASGIApp] = app.build_middleware_stack

    def build() -> ASGIApp:
        return SecurityHeaders(BodyLimit(build_stack(), max_body_bytes, per_path), csp)

    app.build_middleware_stack = build


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses such a request before us anyway
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "detail": {
                "code": "body_too_large",
                "message": f"请求体过大：上限 {limit} 字节",
                "message_en": f"the request body is too large: the limit is {limit} bytes",
                "limit": limit,
            }
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
