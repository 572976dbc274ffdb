"""The Dispatcher with every router (no import-time globals); the Bot is in bot.telegram."""

from __future__ import annotations

from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handlers import get_routers
from bot.middlewares.admin_only import AdminOnlyMiddleware
from bot.middlewares.db import DbSessionMiddleware
from bot.middlewares.server_faults import ServerFaultMiddleware
from bot.services.billing import BillingService
from bot.settings import Settings


def create_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    billing: BillingService,
) -> Dispatcher:
    """The Dispatcher with every router; long-lived services reach handlers by name."""
    dispatcher = Dispatcher(settings=settings, billing=billing)
    # Outer middlewares on update, outermost first: a database failure becomes a retry
    # (a 500 to Telegram in webhook mode); one session per update, each update applied once.
    dispatcher.update.outer_middleware(ServerFaultMiddleware())
    dispatcher.update.outer_middleware(DbSessionMiddleware(session_factory))
    # Handlers registered with flags=ADMIN_ONLY run for ADMIN_IDS only, in every router.
    admin_only = AdminOnlyMiddleware(settings)
    dispatcher.message.middleware(admin_only)
    dispatcher.callback_query.middleware(admin_only)
    dispatcher.include_routers(*get_routers())
    return dispatcher
