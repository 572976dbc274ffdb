"""GET /api/v1/admin/audit[?action=&user=&actor=&limit=]: the audit log for the admin
console, newest first, filtered by action, the user concerned or the admin who acted."""

from __future__ import annotations

from aiohttp import web

from bot.accounts.roles import Permission
from bot.audit import log as audit
from bot.core.ids import parse_user_id
from webapp import miniapp_views as views
from webapp.callers import require
from webapp.errors import ApiError
from webapp.keys import UNIT_OF_WORK

routes = web.RouteTableDef()
MAX_LIMIT = 200


def _id(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    found = parse_user_id(raw)
    if found is None:
        raise ApiError(400, "bad_request", f"{name} must be a Telegram user id")
    return found


def _filters(request: web.Request) -> tuple[str | None, int | None, int | None, int]:
    action = request.query.get("action")
    if action is not None and action not in set(audit.Action):
        raise ApiError(400, "bad_request", f"action must be one of {', '.join(audit.Action)}")
    raw = request.query.get("limit", str(audit.LATEST))
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, "bad_request", f"limit must be 1..{MAX_LIMIT}")
    return action, _id(request, "user"), _id(request, "actor"), int(raw)


@routes.get("/api/v1/admin/audit")
async def audit_log(request: web.Request) -> web.Response:
    require(request, Permission.READ_AUDIT)
    action, user, actor, limit = _filters(request)
    async with request.app[UNIT_OF_WORK].reading() as session:
        entries = await audit.latest(
            session, limit=limit, action=action, subject_id=user, actor_id=actor
        )
    return web.json_response({"entries": [views.audit_entry(entry) for entry in entries]})
