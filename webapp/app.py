"""create_web_app: the embedded aiohttp application and its routes."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.stripe_events import StripeEventProcessor
from bot.settings import Settings
from webapp import health, stripe_webhook
from webapp.errors import error_middleware
from webapp.keys import SESSION_FACTORY, SETTINGS, STRIPE_EVENTS
from webapp.telegram_webhook import TelegramWebhookHandler

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"


def create_web_app(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    stripe_events: StripeEventProcessor,
    *,
    dispatcher: Dispatcher | None = None,
    bot: Bot | None = None,
) -> web.Application:
    """Build the app; pass dispatcher and bot to receive Telegram updates by webhook."""
    app = web.Application(middlewares=[error_middleware], client_max_size=1024**2)
    app[SETTINGS] = settings
    app[SESSION_FACTORY] = session_factory
    app[STRIPE_EVENTS] = stripe_events
    app.add_routes(health.routes)
    app.add_routes(stripe_webhook.routes)
    if dispatcher is not None and bot is not None:
        secret = settings.telegram_webhook_secret
        # The secret token is checked on every request (401 without it).
        TelegramWebhookHandler(
            dispatcher=dispatcher,
            bot=bot,
            secret_token=secret.get_secret_value() if secret else None,
        ).register(app, path=TELEGRAM_WEBHOOK_PATH)
    return app
