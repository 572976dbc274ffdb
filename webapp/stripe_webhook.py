"""POST /stripe/webhook: verify the raw body, apply the event once, answer fast."""

from __future__ import annotations

import logging

import stripe
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.services.group_commit import ShutDownError
from bot.services.stripe_events import InvalidWebhookError
from webapp.errors import json_error
from webapp.keys import STRIPE_EVENTS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

MAX_BODY = 512 * 1024  # Stripe events are a few KB; anything near this is not from Stripe


@routes.post("/stripe/webhook")
async def stripe_webhook(request: web.Request) -> web.Response:
    processor = request.app[STRIPE_EVENTS]
    if not processor.enabled:
        return json_error(
            503, "Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)", "not_configured"
        )
    if request.content_length is not None and request.content_length > MAX_BODY:
        return json_error(413, "payload too large")
    payload = await request.read()  # the raw bytes: the signature covers them exactly
    try:
        event = processor.verify(payload, request.headers.get("Stripe-Signature"))
    except InvalidWebhookError as error:
        log.warning("rejected Stripe webhook: %s", error)
        return json_error(400, str(error), "invalid_webhook")
    try:
        outcome = await processor.apply(event)
    except (SQLAlchemyError, OSError, stripe.StripeError, ShutDownError) as error:
        # Nothing was committed; a 5xx makes Stripe deliver the event again later.
        log.error("stripe event %s not applied: %s", event["id"], type(error).__name__)
        return json_error(500, "event not applied; retry later", "retry_later")
    return web.json_response({"received": True, "status": outcome.status})
