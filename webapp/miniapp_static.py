"""GET /app/: the Mini App's static files (HTML, CSS, JS; no build step)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).with_name("static")


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def to_index(_request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect("/app/")


def register(app: web.Application) -> None:
    # The explicit routes come first so /app/ serves index.html instead of a listing.
    app.router.add_get("/app", to_index)
    app.router.add_get("/app/", index)
    app.router.add_static("/app/", STATIC_DIR, show_index=False, follow_symlinks=False)
