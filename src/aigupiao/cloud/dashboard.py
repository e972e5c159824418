"""Serving the built dashboard (the Vue SPA that ``make web`` builds into ``cloud/static``).

With ``index.html`` present: ``/`` answers it from memory; ``/assets/*`` (content-hashed
file names) are served with a one-year immutable cache, brotli or gzip as the build left
them; other files at the top of the folder (``favicon.ico`` ...) as they are; and every
other GET outside ``/api`` and the API docs answers ``index.html``, so that the SPA's own
routes (``/market``, ``/admin/users`` ...) survive a reload.
Without a build, ``/`` explains how to make one.
"""

from __future__ import annotations

from mimetypes import guess_type
from pathlib import Path
from stat import S_ISREG

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"

ASSET_CACHE = "public, max-age=31536000, immutable"
COMPRESSIBLE = (".js", ".css")
# The build's precompressed copies, the smaller first.
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))
# Everything under these stays the API's: an unknown /api path is a 404, not the SPA.
_NOT_SPA = ("api", "docs", "redoc", "openapi.json", "assets")

NOT_BUILT = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>aigupiao</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>aigupiao 云端 / cloud</h1>
<p>API 文档 (API docs): <a href="/docs">/docs</a></p>
<p>健康检查 (health): <a href="/api/health">/api/health</a></p>
<p>控制台尚未构建 (the dashboard is not built yet): 在仓库根目录运行 <code>make web</code>
(needs Node.js 20+), 然后重启云端 (then restart the cloud).</p>
</body></html>"""


class _Shell:
    """``index.html``, kept in memory: the first request of every page load, answered
    without a file read on a worker thread; re-read when the file changes (a new build)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._body = b""

    def response(self) -> Response:
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._body, self._stamp = self.path.read_bytes(), stamp
        # The shell is small and names the hashed assets: always revalidate it.
        return HTMLResponse(self._body, headers={"Cache-Control": "no-cache"})


def _accepted(scope: Scope) -> list[str]:
    """The encodings the client accepts (``Accept-Encoding``, those with ``q=0`` left out)."""
    accepted = []
    for name, value in scope.get("headers", ()):
        if name != b"accept-encoding":
            continue
        for item in value.decode("latin-1").split(","):
            coding, _, params = item.strip().partition(";")
            if params.replace(" ", "").lower() in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
                continue
            accepted.append(coding.strip().lower())
    return accepted


class _Assets(StaticFiles):
    """Static files whose names change with their content, so they may be cached for good.

    The build leaves ``name.br`` and ``name.gz`` beside the scripts and stylesheets
    (web/vite.config.ts); a client that accepts one gets it as is, compressed once at
    build time rather than on every request.
    """

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.endswith(COMPRESSIBLE):
            accepted = _accepted(scope)
            for coding, suffix in PRECOMPRESSED:
                if coding not in accepted:
                    continue
                full_path, stat = self.lookup_path(path + suffix)
                if stat is not None and S_ISREG(stat.st_mode):
                    return FileResponse(
                        full_path,
                        stat_result=stat,
                        media_type=guess_type(path)[0],
                        headers={
                            "Content-Encoding": coding,
                            "Vary": "Accept-Encoding",
                            "Cache-Control": ASSET_CACHE,
                        },
                    )
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = ASSET_CACHE
            if path.endswith(COMPRESSIBLE):
                response.headers["Vary"] = "Accept-Encoding"
        return response


def mount_dashboard(app: FastAPI, static_dir: Path) -> bool:
    """Serve the dashboard built into ``static_dir`` from ``app``; True if there is one.

    Call it after every router is included (it only answers what they do not).
    """
    root = static_dir.resolve()
    index = root / "index.html"
    if not index.is_file():

        @app.get("/", include_in_schema=False)
        async def not_built() -> HTMLResponse:
            return HTMLResponse(NOT_BUILT)

        return False

    if (root / "assets").is_dir():
        app.mount("/assets", _Assets(directory=root / "assets"), name="assets")
    shell = _Shell(index)

    @app.get("/", include_in_schema=False)
    async def overview() -> Response:
        return shell.response()

    def page(path: str) -> Response | None:
        """The file or the SPA's page for a GET of ``path`` that no route answered."""
        if path.split("/", 1)[0] in _NOT_SPA:
            return None
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                return FileResponse(candidate)
        return shell.response()

    @app.exception_handler(StarletteHTTPException)
    async def spa_fallback(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and request.method in ("GET", "HEAD"):
            answer = page(request.url.path.lstrip("/"))
            if answer is not None:
                return answer
        return await http_exception_handler(request, exc)

    return True
