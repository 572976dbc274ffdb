"""The Mini App's notification settings: the same choices as /settings in chat."""

from __future__ import annotations

from aiohttp import web

from bot import preferences
from webapp.callers import caller_id
from webapp.errors import ApiError
from webapp.keys import UNIT_OF_WORK
from webapp.request_body import json_object

routes = web.RouteTableDef()
MAX_BODY = 1024


def _shown(chosen: preferences.Preferences) -> dict[str, object]:
    return {
        "signals": chosen.signals,
        "updates": chosen.updates,
        "choices": {
            "signals": list(preferences.SIGNAL_CHOICES),
            "updates": list(preferences.UPDATE_CHOICES),
        },
    }


@routes.get("/api/v1/settings")
async def get_settings(request: web.Request) -> web.Response:
    user_id = caller_id(request)
    async with request.app[UNIT_OF_WORK]() as session:
        chosen = await preferences.of(session, user_id)
    return web.json_response(_shown(chosen))


@routes.post("/api/v1/settings")
async def set_settings(request: web.Request) -> web.Response:
    """`{"signals": "silent"}`, `{"updates": "off"}`, or both; nothing else."""
    user_id = caller_id(request)
    body = await json_object(request, MAX_BODY)
    wanted = {key: value for key, value in body.items() if key in ("signals", "updates")}
    if not wanted or len(wanted) != len(body):
        raise ApiError(400, "bad_request", "send signals and/or updates, nothing else")
    async with request.app[UNIT_OF_WORK]() as session:
        for what, choice in wanted.items():
            if not isinstance(choice, str):
                raise ApiError(400, "bad_request", f"{what} must be one of the choices")
            try:
                chosen = await preferences.choose(session, user_id, what, choice)
            except preferences.UnknownChoiceError:
                raise ApiError(400, "bad_request", f"{what}: no such choice") from None
    return web.json_response(_shown(chosen))
