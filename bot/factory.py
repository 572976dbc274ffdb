"""Factories for the Bot and the Dispatcher (no import-time globals)."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handlers import get_routers
from bot.middlewares.db import DbSessionMiddleware
from bot.services.billing import BillingService
from bot.settings import Settings


def create_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    billing: BillingService,
) -> Dispatcher:
    """The Dispatcher with every router; long-lived services reach handlers by name."""
    dispatcher = Dispatcher(settings=settings, billing=billing)
    # Outer middleware on update: one session per update, whatever the event type.
    dispatcher.update.outer_middleware(DbSessionMiddleware(session_factory))
    dispatcher.include_routers(*get_routers())
    return dispatcher
