"""The aiogram Bot: the one client every part of the app sends to Telegram through.

Kept apart from the Dispatcher and its routers so that a process that only delivers
(`python -m bot worker`) does not import the handlers, Stripe or the web server.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response

from bot.core.settings import Settings
from bot.telegram.health import TelegramHealth

# The methods the delivery worker and the progress reports call, over and over.
_HOT_METHODS: tuple[type[TelegramMethod[Any]], ...] = (SendMessage, EditMessageText)
_response_models: list[type[Response[Any]]] = []


class BotSession(AiohttpSession):
    """aiogram's aiohttp session. Its close() waits 250 ms for TLS connections to shut down
    cleanly (aiohttp's advice); a plain-http Bot API (a local Bot API server, the tests'
    fake) has no TLS to wait for, and every test paid those 250 ms."""

    async def close(self) -> None:
        if self.api.base.startswith("https://"):
            await super().close()
        elif self._session is not None and not self._session.closed:
            await self._session.close()


async def bot_username(bot: Bot) -> str:
    """The bot's @username, for t.me links (aiogram caches getMe after the first call)."""
    me = await bot.me()
    return me.username or ""


def create_bot(settings: Settings, health: TelegramHealth | None = None) -> Bot:
    """The Bot; `health`, when given, watches every call it makes."""
    session = BotSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    if health is not None:
        session.middleware(health)
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def warm_response_models() -> None:
    """Build aiogram's Response[...] models for the hot methods now, at start-up.

    aiogram builds each method's response model on its first call; pydantic keeps it only
    in a weak cache. Building stalls the event loop (from milliseconds to ~0.3 s for the
    Message tree), which showed up as the webhook bench's tail. Holding them here builds
    each once, before the app freezes its start-up objects out of the GC's reach.
    """
    for method in _HOT_METHODS:
        _response_models.append(Response[method.__returning__])  # type: ignore[name-defined]
