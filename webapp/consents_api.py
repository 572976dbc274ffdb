"""The risk disclaimer in the Mini App (docs/consents.md): what it says and whether the
caller accepted it, their acceptance, and the 409 every payment route answers before it."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.accounts import consents
from bot.core.errors import DisclaimerChangedError
from bot.texts import disclaimer
from webapp.callers import caller_id
from webapp.errors import ApiError
from webapp.keys import UNIT_OF_WORK
from webapp.request_body import json_object

routes = web.RouteTableDef()
MAX_BODY = 1024
MAX_VERSION = 64  # a version is 12 hex digits; anything longer is not one


def shown() -> dict[str, str]:
    """The current disclaimer, in the request's language, and its version."""
    return {"version": disclaimer.version(), "text": disclaimer.text()}


def consent_required(version: str) -> ApiError:
    """409: the caller's own state is in the way, and accepting the disclaimer clears it."""
    return ApiError(
        409,
        "consent_required",
        "accept the risk disclaimer before paying",
        extra={"disclaimer": shown() | {"version": version}},
    )


@routes.get("/api/v1/consent")
async def get_consent(request: web.Request) -> web.Response:
    user_id = caller_id(request)
    current = shown()
    async with request.app[UNIT_OF_WORK].reading() as session:
        accepted = await consents.accepted(session, user_id, current["version"])
    return web.json_response({"disclaimer": current, "accepted": accepted})


@routes.post("/api/v1/consent")
async def accept(request: web.Request) -> web.Response:
    """`{"version": "<the version shown>"}`: recorded once; another version is a 409 with
    the current one, and nothing recorded."""
    user_id = caller_id(request)
    body = await json_object(request, MAX_BODY)
    version = body.get("version")
    if set(body) != {"version"} or not isinstance(version, str) or len(version) > MAX_VERSION:
        raise ApiError(400, "bad_request", 'send {"version": ...}, nothing else')
    try:
        async with request.app[UNIT_OF_WORK]() as session:
            await consents.accept(
                session, user_id, version, disclaimer.version(), datetime.now(UTC)
            )
    except DisclaimerChangedError:
        raise ApiError(
            409,
            "disclaimer_changed",
            "the disclaimer has changed; read the current one",
            extra={"disclaimer": shown()},
        ) from None
    return web.json_response({"disclaimer": shown(), "accepted": True})
