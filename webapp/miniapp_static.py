"""GET /app/: the Mini App's static files (HTML, CSS, JS; no build step).

Served from a list of the files made once at start-up, not by resolving request paths on
disk: a path that names no file is a 404 before the file system sees it (a 300-byte path
segment made aiohttp's static handler fail with "File name too long" and a 500).
"""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

from bot.texts import DEFAULT_BRAND, brand

STATIC_DIR = Path(__file__).with_name("static")
_NO_CACHE = {"Cache-Control": "no-cache"}


def _files(root: Path) -> dict[str, Path]:
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def _index(path: Path) -> bytes:
    """index.html with the provider's name (BRAND_NAME) in its title: the one word the
    page shows before its texts arrive."""
    page = path.read_text(encoding="utf-8")
    title = f">{DEFAULT_BRAND}</title>"
    return page.replace(title, f">{html.escape(brand(), quote=False)}</title>").encode()


def register(app: web.Application) -> None:
    files = _files(STATIC_DIR)
    page = _index(files["index.html"])

    async def index(_request: web.Request) -> web.Response:
        return web.Response(
            body=page, content_type="text/html", charset="utf-8", headers=_NO_CACHE
        )

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
