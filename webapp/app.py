"""create_web_app: the embedded aiohttp application and its routes."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.billing import BillingService
from bot.services.stripe_events import StripeEventProcessor
from bot.settings import Settings
from webapp import health, miniapp_api, miniapp_static, stripe_webhook
from webapp.errors import error_middleware
from webapp.hot_cache import AccessCache, FeedCache
from webapp.keys import (
    ACCESS_CACHE,
    BILLING,
    BOT,
    FEED_CACHE,
    INITDATA_LIMITER,
    SESSION_FACTORY,
    SETTINGS,
    STRIPE_EVENTS,
    TOKENS,
)
from webapp.miniapp_auth import RateLimiter, TokenSigner
from webapp.security import add_security_headers
from webapp.telegram_webhook import TelegramWebhookHandler

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"


# Ten initData exchanges at once per client address, then one every six seconds.
INITDATA_BURST = 10
INITDATA_PER_SECOND = 1 / 6


def create_web_app(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    stripe_events: StripeEventProcessor,
    *,
    bot: Bot,
    billing: BillingService,
    dispatcher: Dispatcher | None = None,
) -> web.Application:
    """Build the app; pass the dispatcher to receive Telegram updates by webhook."""
    app = web.Application(middlewares=[error_middleware], client_max_size=1024**2)
    app[SETTINGS] = settings
    app[SESSION_FACTORY] = session_factory
    app[STRIPE_EVENTS] = stripe_events
    app[BOT] = bot
    app[BILLING] = billing
    app[TOKENS] = TokenSigner(settings.bot_token.get_secret_value())
    app[INITDATA_LIMITER] = RateLimiter(burst=INITDATA_BURST, per_second=INITDATA_PER_SECOND)
    app[FEED_CACHE] = FeedCache()
    app[ACCESS_CACHE] = AccessCache()
    app.on_response_prepare.append(add_security_headers)
    app.add_routes(health.routes)
    app.add_routes(stripe_webhook.routes)
    app.add_routes(miniapp_api.routes)
    miniapp_static.register(app)
    if dispatcher is not None:
        secret = settings.telegram_webhook_secret
        # The secret token is checked on every request (401 without it).
        TelegramWebhookHandler(
            dispatcher=dispatcher,
            bot=bot,
            secret_token=secret.get_secret_value() if secret else None,
        ).register(app, path=TELEGRAM_WEBHOOK_PATH)
    return app
