"""POST /telegram/webhook: the secret checked, the body bounded, the update handled before
Telegram hears 200, and a 500 when the database failed so that Telegram sends it again."""

from __future__ import annotations

import logging
from typing import Any

from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from bot.core.credentials import same_secret
from bot.telegram.webhook import WEBHOOK_OUTCOME, WebhookOutcome
from webapp.errors import json_error
from webapp.request_body import parse, read_body

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # Telegram's updates are a few KB


class TelegramWebhookHandler(SimpleRequestHandler):
    """aiogram's handler with a mandatory secret and no background handling.

    aiogram answers 200 at once by default and handles the update afterwards, so an update
    that then failed was lost. Here the answer waits for the handling (Telegram allows a
    minute; aiogram moves anything slower than 55 s to the background), and a body that is
    not an Update is refused with 400 instead of failing with 500 forever.
    """

    def __init__(self, *, secret_token: str, **kwargs: object) -> None:
        if not secret_token:
            raise ValueError("the Telegram webhook needs a secret token")
        super().__init__(handle_in_background=False, secret_token=secret_token, **kwargs)  # type: ignore[arg-type]

    def verify_secret(self, telegram_secret_token: str, bot: object) -> bool:
        assert self.secret_token is not None
        return same_secret(telegram_secret_token, self.secret_token)

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), bot):
            return json_error(401, "missing or wrong secret token")
        raw = await read_body(request, MAX_UPDATE_BYTES)
        try:
            update = Update.model_validate(parse(raw), context={"bot": bot})
        except ValidationError:
            log.warning("rejected a malformed Telegram update")
            return json_error(400, "body is not a Telegram update")
        outcome = WebhookOutcome()
        data = {**self.data, WEBHOOK_OUTCOME: outcome}
        result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(
            bot, update, **data
        )
        if outcome.retry:
            return json_error(500, "update not handled; send it again", "retry_later")
        return web.Response(body=self._build_response_writer(bot=bot, result=result))

    __call__ = handle
