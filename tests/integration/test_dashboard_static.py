"""The cloud serves the built dashboard (SPA fallback, cached assets) or says how to build it."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx

from aigupiao.cloud.dashboard import ASSET_CACHE

from .stack import running_stack

INDEX = '<!doctype html><div id="app"></div><script src="/assets/index-3f9a.js"></script>'
SCRIPT = "console.log('dashboard')"


def _build(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-3f9a.js").write_text(SCRIPT)
    (root / "favicon.ico").write_bytes(b"\x00\x01icon")
    (root.parent / "secret.txt").write_text("not for the web")
    return root


async def test_a_built_dashboard_is_served_with_client_side_routes(tmp_path: Path) -> None:
    static = _build(tmp_path / "site" / "static")
    async with (
        running_stack(tmp_path, with_node=False, server={"static_dir": str(static)}) as stack,
        httpx.AsyncClient(base_url=stack.cloud_url) as client,
    ):
        for path in ("/", "/market", "/admin/users", "/trading/orders?tab=today"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert page.text == INDEX and page.headers["content-type"].startswith("text/html")
            assert page.headers["cache-control"] == "no-cache"
        asset = await client.get("/assets/index-3f9a.js")
        assert asset.status_code == 200 and asset.text == SCRIPT
        assert asset.headers["cache-control"] == ASSET_CACHE
        assert (await client.get("/assets/missing.js")).status_code == 404
        icon = await client.get("/favicon.ico")
        assert icon.content == b"\x00\x01icon"
        # Escaping the folder gets the SPA's page, never the file.
        for sneaky in ("/..%2fsecret.txt", "/%2e%2e/secret.txt"):
            answer = await client.get(sneaky)
            assert "not for the web" not in answer.text

        # The API and its docs stay the API's.
        missing = await client.get("/api/no-such-thing")
        assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
        assert (await client.get("/api/health")).json()["status"] in ("ok", "degraded")
        assert "swagger" in (await client.get("/docs")).text.lower()
        schema = (await client.get("/openapi.json")).json()
        assert "/api/auth/login" in schema["paths"] and "/api/admin/users" in schema["paths"]
        assert not any(path.startswith("/assets") for path in schema["paths"])
        assert (await client.post("/market")).status_code in (404, 405)


async def test_without_a_build_the_root_says_how_to_make_one(tmp_path: Path) -> None:
    empty = tmp_path / "static"
    empty.mkdir()
    async with (
        running_stack(tmp_path, with_node=False, server={"static_dir": str(empty)}) as stack,
        httpx.AsyncClient(base_url=stack.cloud_url) as client,
    ):
        root = await client.get("/")
        assert root.status_code == 200 and "make web" in root.text and "/docs" in root.text
        assert (await client.get("/market")).status_code == 404
        assert (await client.get("/assets/index.js")).status_code == 404


async def test_assets_go_out_precompressed_and_a_new_build_is_served_at_once(
    tmp_path: Path,
) -> None:
    static = _build(tmp_path / "site" / "static")
    brotli = b"as the build compressed it"  # sent as is: the server never decodes it
    (static / "assets" / "index-3f9a.js.br").write_bytes(brotli)
    (static / "assets" / "index-3f9a.js.gz").write_bytes(gzip.compress(SCRIPT.encode()))

    async def raw(client: httpx.AsyncClient, accept: str) -> tuple[httpx.Response, bytes]:
        headers = {"Accept-Encoding": accept}
        async with client.stream("GET", "/assets/index-3f9a.js", headers=headers) as answer:
            return answer, b"".join([chunk async for chunk in answer.aiter_raw()])

    async with (
        running_stack(tmp_path, with_node=False, server={"static_dir": str(static)}) as stack,
        httpx.AsyncClient(base_url=stack.cloud_url) as client,
    ):
        cases = (
            ("gzip, deflate, br", "br"),
            ("gzip", "gzip"),
            ("br;q=0, gzip", "gzip"),
            ("identity", None),
        )
        for accept, coding in cases:
            answer, body = await raw(client, accept)
            assert answer.status_code == 200, accept
            assert answer.headers.get("content-encoding") == coding, accept
            assert answer.headers["content-type"].startswith("text/javascript"), accept
            assert answer.headers["cache-control"] == ASSET_CACHE
            assert answer.headers["vary"] == "Accept-Encoding"
            expected = {"br": brotli, "gzip": None, None: SCRIPT.encode()}[coding]
            if coding == "gzip":
                assert gzip.decompress(body).decode() == SCRIPT
            else:
                assert body == expected, accept

        assert (await client.get("/")).text == INDEX
        rebuilt = INDEX.replace("3f9a", "77be") + "<!-- a new build -->"
        (static / "index.html").write_text(rebuilt)
        for path in ("/", "/market"):
            assert (await client.get(path)).text == rebuilt
