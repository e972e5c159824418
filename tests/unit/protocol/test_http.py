"""Every route of the cloud that takes a JSON body has its depth checked first."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from aigupiao.cli.openapi import openapi_document
from aigupiao.cloud.app import create_app
from aigupiao.cloud.runtime import CloudRuntime
from aigupiao.cloud.settings import CloudSettings
from aigupiao.protocol.http import JsonBodyRoute


def _routes(routes: list[Any]) -> list[APIRoute]:
    """The API routes, also those of included routers (FastAPI includes them lazily)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(_routes(route.original_router.routes))
    return found


def test_every_body_route_of_the_cloud_checks_the_json_depth() -> None:
    settings = CloudSettings.load(None, database_url="sqlite+aiosqlite:///:memory:")
    app = create_app(CloudRuntime.build(settings, feed=None))
    with_body = [r for r in _routes(app.routes) if r.body_field is not None]
    assert len(with_body) >= 10
    unchecked = [r.path for r in with_body if not isinstance(r, JsonBodyRoute)]
    assert unchecked == [], "declare their router with route_class=JsonBodyRoute"


def test_the_bounds_are_in_the_openapi_document() -> None:
    schemas = openapi_document()["components"]["schemas"]
    trade = schemas["TradeCreate"]["properties"]
    assert trade["quantity"] == {
        "type": "integer", "maximum": 100_000_000, "minimum": 1, "title": "Quantity",
        "examples": [100],
    }  # fmt: skip
    price = next(p for p in trade["price"]["anyOf"] if p.get("type") == "number")
    assert price["maximum"] == 100000 and price["exclusiveMinimum"] == 0
    assert trade["client_order_id"]["anyOf"][0]["pattern"].startswith("^[A-Za-z0-9]")
