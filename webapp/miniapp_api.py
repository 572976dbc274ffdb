"""The Mini App JSON API under /api/v1 (contract in webapp/API.md)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import access, consents, roles, users
from bot.accounts.roles import Permission
from bot.admin import service as admin
from bot.billing.checkout import CheckoutRequest
from bot.core import languages
from bot.core.errors import (
    AlreadySubscribedError,
    BillingNotConfiguredError,
    BillingUnavailableError,
    ConsentRequiredError,
    NoCustomerError,
    RailNotOfferedError,
    UnknownPlanError,
)
from bot.delivery.broadcast_counts import counts_for
from bot.payments.links import PleaseWaitError
from bot.signals import service as signals
from bot.signals import statistics
from bot.telegram.client import bot_username
from bot.texts import admin as admin_texts
from bot.texts import disclaimer, language, plain
from bot.transactions.unit_of_work import UnitOfWork
from webapp import miniapp_views as views
from webapp import statistics_views
from webapp.callers import caller_id, client_address, require
from webapp.consents_api import consent_required
from webapp.errors import ApiError, please_wait, rail_not_offered
from webapp.keys import (
    ACCESS_CACHE,
    BILLING,
    BOT,
    FEED_CACHE,
    HOLDINGS,
    INITDATA_LIMITER,
    PAYMENT_LINKS,
    SETTINGS,
    STARS,
    TOKENS,
    UNIT_OF_WORK,
)
from webapp.miniapp_auth import InitDataError, validate_init_data
from webapp.request_body import json_object

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

MAX_JSON_BODY = 16 * 1024
MAX_INIT_DATA = 8 * 1024  # Telegram's initData is well under 2 KB


async def _json_body(request: web.Request) -> dict[str, Any]:
    return await json_object(request, MAX_JSON_BODY)


def _string(body: dict[str, Any], name: str, *, limit: int = 4096) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "bad_request", f"{name} is required")
    if len(value) > limit:
        raise ApiError(400, "bad_request", f"{name} is too long")
    return value


def _uow(request: web.Request) -> UnitOfWork:
    return request.app[UNIT_OF_WORK]


def _role(request: web.Request, user_id: int) -> dict[str, object]:
    """What the caller may do (bot/accounts/roles.py): the page shows those sections only;
    the routes check again. is_admin: in any role list (the admin console opens)."""
    held = roles.permissions_of(user_id, request.app[SETTINGS])
    return {"is_admin": bool(held), "permissions": sorted(held)}


@routes.post("/api/v1/miniapp/exchange-initdata")
async def exchange_initdata(request: web.Request) -> web.Response:
    wait = await request.app[INITDATA_LIMITER].attempt(client_address(request))
    if wait:
        raise ApiError(
            429,
            "too_many_requests",
            "too many attempts; try again shortly",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    raw = (await _json_body(request)).get("init_data")
    if raw is None or raw == "":
        # Like a missing Authorization header: no credentials at all.
        raise ApiError(401, "unauthorized", "init_data is required; open the app from the bot")
    if not isinstance(raw, str) or len(raw) > MAX_INIT_DATA:
        raise ApiError(400, "bad_request", "init_data must be the Mini App's initData string")
    settings = request.app[SETTINGS]
    try:
        _, tg_user = validate_init_data(
            settings.bot_token.get_secret_value(),
            raw,
            max_age=settings.initdata_max_age_seconds,
        )
    except InitDataError as error:
        log.info("rejected initData: %s", error.code)
        raise ApiError(401, error.code, str(error)) from None
    async with _uow(request)() as session:
        user = await users.ensure_user(session, tg_user)
    tokens = request.app[TOKENS]
    return web.json_response(
        {
            "token": tokens.issue(tg_user.id),
            "token_type": "Bearer",
            "expires_in": tokens.ttl,
            "user": views.user(user),
            **_role(request, tg_user.id),
        }
    )


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    user_id = caller_id(request)
    now = datetime.now(UTC)
    async with _uow(request).reading() as session:
        user = await users.find(session, user_id)
        if user is None:
            raise ApiError(401, "unauthorized", "unknown user; reopen the app")
        rows = await access.entitlements_of(session, user_id)
        has = await access.has_access(session, user_id, now)
        customer = await _portal_customer(request, session, user_id, now)
    billing = request.app[BILLING]
    row = views.shown_entitlement(rows, now)
    plan_name = None
    if row is not None and row.source == "stripe":
        plan_name = await billing.plan_name(row.price_id)
    elif row is not None:
        plan_name = plain("plan.stars" if row.source == "stars" else "plan.complimentary")
    return web.json_response(
        {
            "user": views.user(user),
            **_role(request, user_id),
            "billing_enabled": bool(request.app[SETTINGS].rails),
            "rails": list(request.app[SETTINGS].rails),
            "has_access": has,
            "can_manage_billing": billing.enabled and customer is not None,
            "subscription": views.subscription(row, plan_name, now),
            # What the chat speaks to them; the page reloads its texts if it shows another.
            "language": languages.of_user(user, request.app[SETTINGS].default_language),
        }
    )


async def _portal_customer(
    request: web.Request, session: AsyncSession, user_id: int, now: datetime
) -> str | None:
    """The customer the Manage billing button opens, if the caller may open the portal."""
    try:
        return await request.app[BILLING].portal_customer(session, user_id, now)
    except (BillingNotConfiguredError, RailNotOfferedError):
        return None


@routes.get("/api/v1/plans")
async def plans(request: web.Request) -> web.Response:
    """The plans of each rail on offer: Stripe's prices, and the Stars price."""
    caller_id(request)
    rails = request.app[SETTINGS].rails
    stars = request.app[STARS].price if "stars" in rails else None
    offered = []
    if "stripe" in rails:
        try:
            offered = await request.app[BILLING].plans()
        except BillingUnavailableError:
            if stars is None:
                raise ApiError(503, "unavailable", "Stripe cannot be reached; try again") from None
    if not rails:
        raise ApiError(503, "not_configured", "payments are not set up on this bot")
    return web.json_response(
        {"plans": [views.plan(p) for p in offered], "stars": views.stars_plan(stars)}
    )


@routes.post("/api/v1/billing/checkout")
async def checkout(request: web.Request) -> web.Response:
    """The caller's Checkout Session for a plan: the one made before while it is open."""
    user_id = caller_id(request)
    price_id = _string(await _json_body(request), "price_id", limit=255)
    billing, links = request.app[BILLING], request.app[PAYMENT_LINKS]
    try:
        async with _uow(request).reading() as session:
            customer_id = await billing.prepare_checkout(session, user_id, datetime.now(UTC))
            await consents.require(session, user_id, disclaimer.version())
        await links.brake(user_id)
        username = await bot_username(request.app[BOT])
        checkout_for = CheckoutRequest(user_id, customer_id, username, language())
        link = await billing.checkout_link(links, checkout_for, price_id, datetime.now(UTC))
    except PleaseWaitError as error:
        raise please_wait(error.retry_after) from None
    except BillingNotConfiguredError:
        raise ApiError(503, "not_configured", "payments are not set up on this bot") from None
    except AlreadySubscribedError:
        raise ApiError(
            409, "already_subscribed", "you already have an active subscription"
        ) from None
    except RailNotOfferedError:
        raise rail_not_offered("stripe") from None
    except ConsentRequiredError as error:
        raise consent_required(error.version) from None
    except UnknownPlanError:
        raise ApiError(400, "unknown_plan", "that plan is not on offer") from None
    except BillingUnavailableError:
        raise ApiError(503, "unavailable", "Stripe cannot be reached; try again") from None
    return web.json_response({"url": link.url})


@routes.post("/api/v1/billing/portal")
async def portal(request: web.Request) -> web.Response:
    user_id = caller_id(request)
    billing = request.app[BILLING]
    try:
        async with _uow(request).reading() as session:
            customer_id = await billing.portal_customer(session, user_id, datetime.now(UTC))
        await request.app[PAYMENT_LINKS].brake(user_id)  # each portal link is a Stripe call
        url = await billing.portal_url(
            customer_id,
            f"https://t.me/{await bot_username(request.app[BOT])}",
            language=language(),
        )
    except BillingNotConfiguredError:
        raise ApiError(503, "not_configured", "payments are not set up on this bot") from None
    except RailNotOfferedError:
        raise rail_not_offered("stripe") from None
    except PleaseWaitError as error:
        raise please_wait(error.retry_after) from None
    except NoCustomerError:
        raise ApiError(409, "no_customer", "you have not subscribed yet") from None
    except BillingUnavailableError:
        raise ApiError(503, "unavailable", "Stripe cannot be reached; try again") from None
    return web.json_response({"url": url})


@routes.get("/api/v1/signals")
async def signal_feed(request: web.Request) -> web.Response:
    """The hottest read: cached, and invalidated the moment a signal or an access changes."""
    user_id = caller_id(request)
    uow = _uow(request)
    if not await request.app[ACCESS_CACHE].has_access(uow, user_id, datetime.now(UTC)):
        raise ApiError(403, "no_access", "subscribe to see the signals")

    async def load() -> bytes:
        async with uow.reading() as session:
            recent = await signals.latest(session, limit=50)
        return json.dumps({"signals": [views.signal(s) for s in recent]}).encode()

    body = await request.app[FEED_CACHE].get(load, language())
    return web.Response(body=body, content_type="application/json", charset="utf-8")


@routes.get("/api/v1/performance")
async def performance(request: web.Request) -> web.Response:
    caller_id(request)
    async with _uow(request).reading() as session:
        closed = await signals.closed_signals(session)
    windows = signals.summarise(closed, datetime.now(UTC))
    body = views.performance(windows, closed)
    trades = statistics.trades_of(closed)
    body["statistics"] = statistics_views.statistics_of(trades)
    holdings = request.app.get(HOLDINGS)
    if holdings is not None:  # PRICE_SOURCE set: the public page's cached comparison
        body["statistics"]["holding"] = statistics_views.holding(await holdings.compare(trades))
    return web.json_response(body)


@routes.get("/api/v1/admin/broadcasts/{broadcast_id}")
async def broadcast_progress(request: web.Request) -> web.Response:
    require(request, Permission.POST_SIGNALS, Permission.BROADCAST)
    raw = request.match_info["broadcast_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise ApiError(400, "bad_request", "broadcast id must be a number")
    async with _uow(request).reading() as session:
        broadcast = await admin.find_broadcast(session, int(raw))
        if broadcast is None:
            raise ApiError(404, "not_found", "no such broadcast")
        counts = (await counts_for(session, [broadcast.id]))[broadcast.id]
    title = admin_texts.broadcast_title(broadcast.kind, broadcast.title)
    return web.json_response(views.progress(broadcast.id, title, counts, broadcast.created_at))


@routes.get("/api/v1/admin/stats")
async def admin_stats(request: web.Request) -> web.Response:
    require(request, Permission.READ_STATS)
    try:
        offered = await request.app[BILLING].plans()
    except (BillingNotConfiguredError, BillingUnavailableError):
        offered = []
    async with _uow(request).reading() as session:
        price = request.app[SETTINGS].stars_price
        figures = await admin.stats(session, datetime.now(UTC), offered, price)
    return web.json_response(views.stats(figures))
