"""GET /app/: the Mini App's static files (HTML, CSS, JS; no build step).

Served from a list of the files made once at start-up, not by resolving request paths on
disk: a path that names no file is a 404 before the file system sees it (a 300-byte path
segment made aiohttp's static handler fail with "File name too long" and a 500).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).with_name("static")
_NO_CACHE = {"Cache-Control": "no-cache"}


def _files(root: Path) -> dict[str, Path]:
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def register(app: web.Application) -> None:
    files = _files(STATIC_DIR)

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(files["index.html"], headers=_NO_CACHE)

    async def asset(request: web.Request) -> web.FileResponse:
        path = files.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound
        return web.FileResponse(path, headers=_NO_CACHE)

    async def to_index(_request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect("/app/")

    app.router.add_get("/app", to_index)
    app.router.add_get("/app/", index)
    app.router.add_get("/app/{name:.+}", asset)
