"""What every HTTP answer of the cloud and the node carries, and what no request may do:
request bodies over the cap (413, never read past it), the security headers, and the
session cookie's Secure flag. Real servers on 127.0.0.1; raw sockets where a well-behaved
client could not send what an attacker would."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigupiao.cloud.app import server_options
from aigupiao.cloud.settings import CloudSettings
from aigupiao.core.asgi import MIB
from aigupiao.core.config import ConfigError
from aigupiao.domain.users import Role
from aigupiao.store import UserRepo

from ..integration.stack import Stack, running_stack

EXECUTE = "/api/cloud-local-trading/execute-trade"
HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


async def _raw(port: int, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (and ``body``) on a new connection; the answer until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return _parse(await asyncio.wait_for(reader.read(), 10))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def _head(path: str, port: int, key: str, **extra: str) -> str:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"X-API-Key: {key}"]
    lines += ["Content-Type: application/json", *(f"{k}: {v}" for k, v in extra.items())]
    return "\r\n".join(lines) + "\r\n\r\n"


def _too_large(status: int, body: bytes, limit: int) -> None:
    assert status == 413, body
    detail = json.loads(body)["detail"]
    assert detail["code"] == "body_too_large" and detail["limit"] == limit
    assert "请求体过大" in detail["message"] and "too large" in detail["message_en"]


async def test_a_body_over_the_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        port = stack.cloud_server.port
        # A Content-Length above the cap: refused at once, nothing of it read (the client
        # has sent 1 KiB of the 64 MiB it announced).
        head = _head(EXECUTE, port, stack.api_key, **{"Content-Length": str(64 * MIB)})
        status, headers, body = await _raw(port, head, b" " * 1024)
        _too_large(status, body, MIB)
        assert headers["connection"] == "close"

        # No Content-Length (chunked): counted as it streams in, refused once past the cap,
        # though the body has not ended. (Just past it: the server closes the connection,
        # and bytes it never read would make the client's system drop the answer.)
        status, body = await _unfinished_chunked(port, EXECUTE, stack.api_key, MIB + 1024)
        _too_large(status, body, MIB)

        # Pushed quotes may be larger (server.max_push_bytes): 2 MiB passes the door.
        quote = {"code": "sh600519", "ts": "2026-11-24T10:00:00+08:00", "name": "x" * 300}
        big = json.dumps({"quotes": [quote] * 9000}).encode()
        assert len(big) > 2 * MIB
        async with stack.client() as client:
            answer = await client.post(
                "/api/market/quotes", content=big, headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 200, answer.text[:300]
        # The same 2 MiB anywhere else: over the cap.
        head = _head(EXECUTE, port, stack.api_key, **{"Content-Length": str(len(big))})
        status, _, body = await _raw(port, head)
        _too_large(status, body, MIB)

        # The node: its own, smaller cap (64 KiB), the same answer.
        node_port = stack.node_server.port if stack.node_server else 0
        head = _head("/trade", node_port, "node-key", **{"Content-Length": str(70 * 1024)})
        status, _, body = await _raw(node_port, head)
        _too_large(status, body, 64 * 1024)
        status, body = await _unfinished_chunked(node_port, "/trade", "node-key", 65 * 1024)
        _too_large(status, body, 64 * 1024)


async def _unfinished_chunked(port: int, path: str, key: str, size: int) -> tuple[int, bytes]:
    """POST ``size`` bytes chunked (no Content-Length) and never finish the body (no last
    chunk): an answer can only come from a server that counts as the body streams in."""
    sizes = [64 * 1024] * (size // (64 * 1024)) + (
        [size % (64 * 1024)] if size % (64 * 1024) else []
    )
    body = b"".join(b"%x\r\n" % n + b" " * n + b"\r\n" for n in sizes)
    head = _head(path, port, key, **{"Transfer-Encoding": "chunked"})
    status, _, answer = await _raw(port, head, body)
    return status, answer


def _secured(response: httpx.Response, where: str, *, docs: bool = False) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (where, name, dict(response.headers))
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, (where, csp)
    if docs:
        assert "https://cdn.jsdelivr.net" in csp, (where, csp)
    else:
        assert "script-src 'self';" in csp and "unsafe-inline' https" not in csp, (where, csp)


async def test_every_answer_carries_the_security_headers(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        async with stack.client() as client, httpx.AsyncClient(base_url=stack.cloud_url) as anyone:
            answers: dict[str, httpx.Response] = {
                "health": await anyone.get("/api/health"),
                "dashboard": await anyone.get("/"),
                "spa route": await anyone.get("/market"),
                "unauthorized": await anyone.get("/api/orders"),
                "not found": await client.get("/api/commands/nope"),
                "invalid": await client.post(EXECUTE, json={}),
                "read": await client.get("/api/orders"),
                "openapi": await anyone.get("/openapi.json"),
            }
            for where, response in answers.items():
                _secured(response, where)
            assert answers["unauthorized"].status_code == 401
            port = stack.cloud_server.port
            head = _head(EXECUTE, port, stack.api_key, **{"Content-Length": str(MIB + 1)})
            status, headers, _ = await _raw(port, head)
            assert status == 413
            _secured(httpx.Response(status, headers=headers), "too large")
            for page in ("/docs", "/redoc"):
                _secured(await anyone.get(page), page, docs=True)
        async with httpx.AsyncClient(base_url=stack.node_url) as node:
            for path in ("/", "/status", "/health"):
                _secured(await node.get(path), f"node {path}")
            refused = await node.post("/trade", json={})
            assert refused.status_code == 401
            _secured(refused, "node 401")


async def _login(stack: Stack, **headers: str) -> httpx.Response:
    async with stack.cloud.db.session() as session:
        if await UserRepo(session).get("carol") is None:
            await UserRepo(session).add("carol", "carol-password", Role.VIEWER)
            await session.commit()
    async with httpx.AsyncClient(base_url=stack.cloud_url) as client:
        answer = await client.post(
            "/api/auth/login",
            json={"username": "carol", "password": "carol-password"},
            headers=headers,
        )
    assert answer.status_code == 200, answer.text
    return answer


def _cookie(answer: httpx.Response) -> dict[str, Any]:
    (cookie,) = [v for k, v in answer.headers.multi_items() if k == "set-cookie"]
    flags = [part.strip().lower() for part in cookie.split(";")]
    return {"secure": "secure" in flags, "httponly": "httponly" in flags, "raw": cookie}


async def test_the_session_cookie_is_secure_over_https(tmp_path: Path) -> None:
    https = {"X-Forwarded-Proto": "https"}
    async with running_stack(tmp_path / "direct", with_node=False) as stack:
        assert not _cookie(await _login(stack))["secure"]  # plain http
        # Any client can claim https: without a trusted proxy it is not believed.
        assert not _cookie(await _login(stack, **https))["secure"]
    proxied = {"trusted_proxies": ["127.0.0.1"]}
    async with running_stack(tmp_path / "proxied", with_node=False, server=proxied) as stack:
        assert not _cookie(await _login(stack))["secure"]
        cookie = _cookie(await _login(stack, **https))  # TLS ended at the trusted proxy
        assert cookie["secure"] and cookie["httponly"], cookie["raw"]
    forced = {"cookie_secure": True}
    async with running_stack(tmp_path / "forced", with_node=False, auth=forced) as stack:
        assert _cookie(await _login(stack))["secure"]


def test_trusted_proxies_are_addresses_or_networks() -> None:
    server = CloudSettings.load(None, server={"trusted_proxies": ["10.0.0.0/8", "::1"]}).server
    assert server_options(server) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.0/8", "::1"],
    }
    # By default nobody's forwarded headers are believed (uvicorn's own default: 127.0.0.1).
    assert server_options(CloudSettings.load(None).server)["proxy_headers"] is False
    with pytest.raises(ConfigError, match="trusted_proxies"):
        CloudSettings.load(None, server={"trusted_proxies": ["proxy.example.com"]})
