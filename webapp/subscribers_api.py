"""The admin console's subscriber search and timeline (the Mini App's /user)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramRetryAfter,
)
from aiohttp import web

from bot.accounts import roles, subscribers
from bot.accounts.roles import Permission
from bot.audit.log import Actor
from bot.core.ids import parse_user_id
from bot.core.safe_input import UnsafeInputError, check_text
from bot.stars.ledger import NoStarsSubscriptionError, NothingToRefundError
from bot.stars.rules import MAX_CHARGE_ID
from webapp import miniapp_views as views
from webapp.callers import require
from webapp.errors import ApiError
from webapp.keys import BOT, SETTINGS, STARS, UNIT_OF_WORK
from webapp.request_body import json_object

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
MAX_BODY = 4 * 1024
MAX_REASON = 300
# Telegram did not answer a refund (5xx, no connection, an error page): ask again after this.
TELEGRAM_RETRY_AFTER = 10


@routes.get("/api/v1/admin/subscribers")
async def search(request: web.Request) -> web.Response:
    require(request, Permission.LOOK_UP)
    query = request.query.get("q", "").strip()
    if not query:
        raise ApiError(400, "bad_request", "q is required: an id, an @username or a name")
    if len(query) > subscribers.MAX_QUERY:
        raise ApiError(400, "bad_request", f"q is longer than {subscribers.MAX_QUERY}")
    try:
        check_text(query, "q")  # PostgreSQL refuses NUL, UTF-8 a lone surrogate
    except UnsafeInputError as error:
        raise ApiError(400, "bad_request", str(error)) from None
    async with request.app[UNIT_OF_WORK].reading() as session:
        found = await subscribers.search(session, query, datetime.now(UTC))
    return web.json_response({"subscribers": [views.found(row) for row in found]})


def _user_id(request: web.Request) -> int:
    user_id = parse_user_id(request.match_info["user_id"])  # as /user and /refund read it
    if user_id is None:
        raise ApiError(400, "bad_request", "user id must be a Telegram id")
    return user_id


@routes.get("/api/v1/admin/subscribers/{user_id}")
async def timeline(request: web.Request) -> web.Response:
    caller = require(request, Permission.LOOK_UP)
    user_id = _user_id(request)
    async with request.app[UNIT_OF_WORK].reading() as session:
        now = datetime.now(UTC)
        found = await subscribers.timeline(session, user_id, now)
        shown = views.timeline(found, now) if found is not None else None
    if shown is None:
        raise ApiError(404, "not_found", "no such user: they have not started the bot")
    if not roles.may(caller, request.app[SETTINGS], Permission.REFUND):
        shown["refundable"] = False  # support looks up; owners refund
    return web.json_response(shown)


@routes.post("/api/v1/admin/subscribers/{user_id}/refund")
async def refund(request: web.Request) -> web.Response:
    """Refund the Telegram Stars payment whose period is running, as /refund does in chat,
    or an older one named by `charge_id`. A second tap finds nothing running: 409."""
    admin_id = require(request, Permission.REFUND)
    user_id = _user_id(request)
    body = await json_object(request, MAX_BODY)
    reason, charge_id = body.get("reason", ""), body.get("charge_id")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ApiError(400, "bad_request", f"reason must be text of at most {MAX_REASON}")
    if charge_id is not None and (
        not isinstance(charge_id, str) or not 1 <= len(charge_id) <= MAX_CHARGE_ID
    ):
        raise ApiError(400, "bad_request", f"charge_id must be text of at most {MAX_CHARGE_ID}")
    try:  # PostgreSQL refuses NUL, UTF-8 a lone surrogate
        check_text(reason, "reason")
        if charge_id is not None:
            check_text(charge_id, "charge_id")
    except UnsafeInputError as error:
        raise ApiError(400, "bad_request", str(error)) from None
    stars, bot = request.app[STARS], request.app[BOT]
    try:
        done = await stars.refund(
            bot,
            request.app[UNIT_OF_WORK],
            user_id,
            " ".join(reason.split()),
            datetime.now(UTC),
            charge_id=charge_id,
            actor=Actor.admin(admin_id),
        )
    except NothingToRefundError as error:
        ended = error.params["ended"]
        assert isinstance(ended, datetime)  # noqa: S101 - what the service puts there
        raise ApiError(
            409, "nothing_to_refund", f"nothing to refund: Stars access ended {ended.isoformat()}"
        ) from None
    except NoStarsSubscriptionError:
        raise ApiError(409, "nothing_to_refund", "no Telegram Stars payment to refund") from None
    except TelegramBadRequest as error:
        raise ApiError(502, "refund_refused", f"Telegram refused: {error.message}") from None
    except (TelegramAPIError, ClientDecodeError) as error:
        # Telegram away: nothing booked here; a refund Telegram made all the same is found
        # by the next tap ("already refunded") or by reconciliation.
        log.warning("refund: Telegram did not answer (%s)", type(error).__name__)
        wait = error.retry_after if isinstance(error, TelegramRetryAfter) else None
        raise ApiError(
            503,
            "telegram_unavailable",
            "Telegram did not answer the refund; try again shortly",
            headers={"Retry-After": str(wait or TELEGRAM_RETRY_AFTER)},
        ) from None
    return web.json_response(
        {"amount": done.amount, "already": done.already, "charge_id": done.charge_id}
    )
