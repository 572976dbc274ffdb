"""The Mini App's settings: notifications (the same choices as /settings in chat) and the
language (as /language)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import preferences, users
from bot.core import languages
from webapp.callers import caller_id
from webapp.errors import ApiError
from webapp.keys import CHOSEN_LANGUAGES, SETTINGS, UNIT_OF_WORK
from webapp.request_body import json_object

routes = web.RouteTableDef()
MAX_BODY = 1024


FIELDS = ("signals", "updates", "language")


def _shown(chosen: preferences.Preferences, language: str) -> dict[str, object]:
    return {
        "signals": chosen.signals,
        "updates": chosen.updates,
        "language": language,
        "choices": {
            "signals": list(preferences.SIGNAL_CHOICES),
            "updates": list(preferences.UPDATE_CHOICES),
            "language": [
                {"code": code, "name": languages.NATIVE_NAMES[code]}
                for code in languages.LANGUAGES
            ],
        },
    }


async def _current(request: web.Request, session: AsyncSession, user_id: int) -> dict[str, object]:
    user = await users.find(session, user_id)
    language = languages.of_user(user, request.app[SETTINGS].default_language)
    return _shown(await preferences.of(session, user_id), language)


@routes.get("/api/v1/settings")
async def get_settings(request: web.Request) -> web.Response:
    user_id = caller_id(request)
    async with request.app[UNIT_OF_WORK].reading() as session:
        return web.json_response(await _current(request, session, user_id))


def _wanted(body: dict[str, object]) -> dict[str, str]:
    wanted = {key: value for key, value in body.items() if key in FIELDS}
    if not wanted or len(wanted) != len(body):
        raise ApiError(400, "bad_request", "send signals, updates and/or language, nothing else")
    for what, choice in wanted.items():
        if not isinstance(choice, str):
            raise ApiError(400, "bad_request", f"{what} must be one of the choices")
    if "language" in wanted and wanted["language"] not in languages.LANGUAGES:
        raise ApiError(400, "bad_request", "language: no such choice")
    return {what: str(choice) for what, choice in wanted.items()}


@routes.post("/api/v1/settings")
async def set_settings(request: web.Request) -> web.Response:
    """`{"signals": "silent"}`, `{"updates": "off"}`, `{"language": "ru"}`, or several."""
    user_id = caller_id(request)
    wanted = _wanted(await json_object(request, MAX_BODY))
    async with request.app[UNIT_OF_WORK]() as session:
        for what, choice in wanted.items():
            if what == "language":
                await languages.choose(session, user_id, choice)
                continue
            try:
                await preferences.choose(session, user_id, what, choice)
            except preferences.UnknownChoiceError:
                raise ApiError(400, "bad_request", f"{what}: no such choice") from None
        shown = await _current(request, session, user_id)
    if "language" in wanted:  # after the commit: the chat's next update reads it
        request.app[CHOSEN_LANGUAGES].remember(user_id, wanted["language"])
    return web.json_response(shown)
