"""The admin console's subscriber search and timeline (the Mini App's /user)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot import subscribers
from webapp import miniapp_views as views
from webapp.callers import require_admin
from webapp.errors import ApiError
from webapp.keys import UNIT_OF_WORK

routes = web.RouteTableDef()
MAX_USER_ID = 2**53  # Telegram's ids fit in 52 bits


@routes.get("/api/v1/admin/subscribers")
async def search(request: web.Request) -> web.Response:
    require_admin(request)
    query = request.query.get("q", "").strip()
    if not query:
        raise ApiError(400, "bad_request", "q is required: an id, an @username or a name")
    if len(query) > subscribers.MAX_QUERY:
        raise ApiError(400, "bad_request", f"q is longer than {subscribers.MAX_QUERY}")
    async with request.app[UNIT_OF_WORK]() as session:
        found = await subscribers.search(session, query, datetime.now(UTC))
    return web.json_response({"subscribers": [views.found(row) for row in found]})


@routes.get("/api/v1/admin/subscribers/{user_id}")
async def timeline(request: web.Request) -> web.Response:
    require_admin(request)
    raw = request.match_info["user_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16 or int(raw) > MAX_USER_ID:
        raise ApiError(400, "bad_request", "user id must be a Telegram id")
    async with request.app[UNIT_OF_WORK]() as session:
        now = datetime.now(UTC)
        found = await subscribers.timeline(session, int(raw), now)
        shown = views.timeline(found, now) if found is not None else None
    if shown is None:
        raise ApiError(404, "not_found", "no such user: they have not started the bot")
    return web.json_response(shown)
