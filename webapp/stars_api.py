"""The Mini App's Telegram Stars invoice: a link only the caller can pay (the one made
before, while valid), opened in the app with Telegram.WebApp.openInvoice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram.exceptions import TelegramAPIError
from aiohttp import web

from bot.accounts import access, consents
from bot.core.errors import ConsentRequiredError
from bot.payments.links import PleaseWaitError
from bot.stars import invoice_links
from bot.stars.service import Invoice
from bot.texts import disclaimer, plain
from webapp.callers import caller_id
from webapp.consents_api import consent_required
from webapp.errors import ApiError, please_wait, rail_not_offered
from webapp.keys import BOT, PAYMENT_LINKS, SETTINGS, STARS, UNIT_OF_WORK

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.post("/api/v1/billing/stars-invoice")
async def stars_invoice(request: web.Request) -> web.Response:
    user_id = caller_id(request)
    if "stars" not in request.app[SETTINGS].rails:
        raise rail_not_offered("stars")
    try:
        async with request.app[UNIT_OF_WORK].reading() as session:
            if await access.subscribed(session, user_id, datetime.now(UTC)):
                raise ApiError(
                    409, "already_subscribed", "you already have an active subscription"
                )
            await consents.require(session, user_id, disclaimer.version())
    except ConsentRequiredError as error:
        raise consent_required(error.version) from None
    invoice = Invoice(plain("stars.invoice.title"), plain("stars.invoice.description"))
    links = request.app[PAYMENT_LINKS]
    try:
        await links.brake(user_id)
        url = await invoice_links.invoice_link(
            links, request.app[STARS], request.app[BOT], user_id, invoice, now=datetime.now(UTC)
        )
    except PleaseWaitError as error:
        raise please_wait(error.retry_after) from None
    except TelegramAPIError as error:
        log.warning("createInvoiceLink failed: %s", type(error).__name__)
        raise ApiError(503, "unavailable", "Telegram cannot make the invoice; try again") from None
    return web.json_response({"url": url})
