"""POST /stripe/webhook: verify the raw body, apply the event once, answer fast."""

from __future__ import annotations

import logging

import stripe
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.billing.stripe_events import InvalidWebhookError
from bot.core import metrics
from bot.transactions.group_commit import ShutDownError
from webapp.errors import json_error
from webapp.keys import STRIPE_EVENTS
from webapp.request_body import read_body

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
    payload = await read_body(request, MAX_BODY)  # the raw bytes the signature covers
    try:
        event = processor.verify(payload, request.headers.get("Stripe-Signature"))
    except InvalidWebhookError as error:
        log.warning("rejected Stripe webhook: %s", error)
        metrics.WEBHOOKS.labels("rejected").inc()
        return json_error(400, str(error), "invalid_webhook")
    try:
        outcome = await processor.apply(event)
    except (SQLAlchemyError, OSError, stripe.StripeError, ShutDownError) as error:
        # Nothing was committed; a 5xx makes Stripe deliver the event again later.
        log.error("stripe event %s not applied: %s", event.id, type(error).__name__)
        metrics.WEBHOOKS.labels("retry").inc()
        return json_error(500, "event not applied; retry later", "retry_later")
    metrics.WEBHOOKS.labels(outcome.status).inc()
    return web.json_response({"received": True, "status": outcome.status})
