"""What the cloud's and the node's HTTP APIs share at the boundary: JSON bodies whose
depth is checked before FastAPI parses them.

FastAPI parses a JSON body with :func:`json.loads`, which recurses once per level of
nesting: a body of a hundred thousand ``[`` raises :class:`RecursionError` inside the
parser. :class:`JsonBodyRoute` measures the depth first
(:func:`aigupiao.core.jsontext.check_depth`) and answers a body that is nested too
deep, or is not UTF-8, as the app answers any malformed JSON: a
:class:`~fastapi.exceptions.RequestValidationError` of type ``json_invalid``.

Every router with a body route is declared ``APIRouter(route_class=JsonBodyRoute)``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from aigupiao.core import jsontext


def _json_body(request: Request) -> bool:
    """Whether FastAPI will parse the body as JSON (no content type, or a JSON one)."""
    content_type = request.headers.get("content-type")
    if not content_type:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def check_json_body(request: Request) -> None:
    """Raise ``json_invalid`` if the request's JSON body is not UTF-8 or nests too deep."""
    body = await request.body()  # kept by the request: FastAPI parses this copy
    if not body or not _json_body(request):
        return
    try:
        body.decode("utf-8")
        jsontext.check_depth(body)
    except ValueError as exc:  # UnicodeDecodeError, JsonTooDeep
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", 0),
                    "msg": f"JSON decode error: {str(exc)[:100]}",
                    "input": {},
                    "ctx": {"error": str(exc)[:100]},
                }
            ]
        ) from exc


class JsonBodyRoute(APIRoute):
    """A route whose JSON body is checked by :func:`check_json_body` before parsing."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            await check_json_body(request)
            return await handler(request)

        return checked


__all__ = ["JsonBodyRoute", "check_json_body"]
