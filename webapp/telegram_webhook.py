"""POST /telegram/webhook: aiogram's request handler, with bad input answered 400, not 500."""

from __future__ import annotations

import logging

from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from webapp.errors import json_error

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramWebhookHandler(SimpleRequestHandler):
    """Checks the secret token, then refuses bodies that are not a Telegram Update.

    aiogram would raise on such a body and the server would answer 500; Telegram would then
    retry a request that can never succeed.
    """

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), bot):
            return json_error(401, "missing or wrong secret token")
        try:
            Update.model_validate(await request.json())
        except (ValueError, ValidationError):
            log.warning("rejected a malformed Telegram update")
            return json_error(400, "body is not a Telegram update")
        return await super().handle(request)

    __call__ = handle
