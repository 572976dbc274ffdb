"""create_web_app: the embedded aiohttp application and its routes."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.access_cache import AccessCache
from bot.accounts.attempt_limits import Limiter, limiter_for
from bot.billing.checkout import BillingService
from bot.billing.stripe_events import StripeEventProcessor
from bot.core.languages import ChosenLanguages
from bot.core.settings import Settings
from bot.outcomes.benchmark import Holdings
from bot.payments.links import PaymentLinks, payment_links
from bot.premium.service import PremiumChats
from bot.stars.service import StarsService
from bot.telegram.health import TelegramHealth
from bot.telegram.setup import TELEGRAM_WEBHOOK_PATH
from bot.telegram.signal_chat import SignalChat
from bot.transactions.unit_of_work import UnitOfWork
from webapp import (
    analytics_api,
    audit_api,
    consents_api,
    exports_api,
    health,
    metrics_route,
    miniapp_api,
    miniapp_static,
    record_json,
    settings_api,
    signals_admin_api,
    stars_api,
    stripe_webhook,
    subscribers_api,
    texts_api,
    track_record,
    tradingview,
)
from webapp.errors import error_middleware
from webapp.feed_cache import FeedCache
from webapp.keys import (
    ACCESS_CACHE,
    ALERT_LIMITER,
    BILLING,
    BOT,
    CHOSEN_LANGUAGES,
    FEED_CACHE,
    HOLDINGS,
    INITDATA_LIMITER,
    PAYMENT_LINKS,
    PREMIUM,
    READINESS,
    SETTINGS,
    SIGNAL_CHAT,
    STARS,
    STRIPE_EVENTS,
    TOKENS,
    UNIT_OF_WORK,
)
from webapp.language import language_middleware
from webapp.miniapp_auth import TokenSigner
from webapp.readiness import Readiness
from webapp.security import add_security_headers
from webapp.telegram_webhook import TelegramWebhookHandler

# How long a connection may sit without a complete request: idle between requests, or
# with headers half sent (aiohttp's keep-alive timer runs in both cases). aiohttp's own
# default is an hour; a client trickling headers would hold a connection all that time.
HTTP_IDLE_TIMEOUT = 20.0
# Bodies larger than this are refused by aiohttp itself; routes have lower limits.
MAX_BODY = 1024**2


# Ten initData exchanges at once per client address, then one every six seconds.
INITDATA_BURST = 10
INITDATA_PER_SECOND = 1 / 6


def _initdata_limiter(settings: Settings, uow: UnitOfWork) -> Limiter:
    """Shared by every instance on PostgreSQL; in this process's memory on SQLite."""
    return limiter_for(
        settings.database_url, uow, burst=INITDATA_BURST, per_second=INITDATA_PER_SECOND
    )


def _alerts(app: web.Application, settings: Settings) -> None:
    """TradingView's alerts, when TRADINGVIEW_SECRET is set (without it there is no such
    route: 404); their rate shared by every instance on PostgreSQL."""
    if settings.tradingview_secret is None:
        return
    app[ALERT_LIMITER] = limiter_for(
        settings.database_url,
        app[UNIT_OF_WORK],
        burst=tradingview.ALERT_BURST,
        per_second=tradingview.ALERTS_PER_SECOND,
    )
    app.add_routes(tradingview.routes)


def _holdings(app: web.Application, holdings: Holdings | None) -> None:
    """Holding BTC beside the track record's portfolio, when PRICE_SOURCE names an
    exchange (the composition root builds the one cache /performance reads too): read
    through it at the first view that needs it, closed with the app."""
    if holdings is None:
        return
    app[HOLDINGS] = holdings

    async def close(_app: web.Application) -> None:
        await holdings.close()

    app.on_cleanup.append(close)


# Every module whose `routes` the app serves; the order is the order of registration.
_ROUTE_MODULES = (
    health,
    metrics_route,
    stripe_webhook,
    miniapp_api,
    signals_admin_api,
    texts_api,
    subscribers_api,
    stars_api,
    track_record,
    record_json,
    settings_api,
    exports_api,
    audit_api,
    consents_api,
    analytics_api,
)


def create_web_app(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    stripe_events: StripeEventProcessor,
    *,
    bot: Bot,
    billing: BillingService,
    stars: StarsService,
    premium: PremiumChats,
    telegram_health: TelegramHealth,
    dispatcher: Dispatcher | None = None,
    chosen_languages: ChosenLanguages | None = None,
    links: PaymentLinks | None = None,
    holdings: Holdings | None = None,
) -> web.Application:
    """Build the app; pass the dispatcher to receive Telegram updates by webhook."""
    app = web.Application(
        middlewares=[error_middleware, language_middleware], client_max_size=MAX_BODY
    )
    app[SETTINGS] = settings
    app[UNIT_OF_WORK] = UnitOfWork(session_factory)
    app[STRIPE_EVENTS] = stripe_events
    app[BOT] = bot
    app[BILLING] = billing
    app[STARS] = stars
    app[PREMIUM] = premium
    # The signal channel's rights: asked by `python -m bot` at start-up, shown by /readyz.
    app[SIGNAL_CHAT] = SignalChat(
        bot, session_factory, chat_id=settings.signal_chat_id, admin_ids=settings.admin_ids
    )
    app[READINESS] = Readiness(app[UNIT_OF_WORK], telegram_health)
    app[TOKENS] = TokenSigner(settings.bot_token.get_secret_value())
    app[INITDATA_LIMITER] = _initdata_limiter(settings, app[UNIT_OF_WORK])
    app[FEED_CACHE] = FeedCache()
    app[ACCESS_CACHE] = AccessCache()
    app[CHOSEN_LANGUAGES] = chosen_languages if chosen_languages is not None else ChosenLanguages()
    app[PAYMENT_LINKS] = links if links is not None else payment_links(settings, app[UNIT_OF_WORK])
    app.on_response_prepare.append(add_security_headers)
    for module in _ROUTE_MODULES:
        app.add_routes(module.routes)
    miniapp_static.register(app)
    _alerts(app, settings)
    _holdings(app, holdings)
    if dispatcher is not None:
        # The secret token is checked on every request (401 without it); there always is
        # one, configured or derived from the bot token.
        TelegramWebhookHandler(
            dispatcher=dispatcher, bot=bot, secret_token=settings.webhook_secret_token
        ).register(app, path=TELEGRAM_WEBHOOK_PATH)
    return app


def create_runner(
    app: web.Application, *, idle_timeout: float = HTTP_IDLE_TIMEOUT
) -> web.AppRunner:
    """The runner serving `app`, with our timeouts; the caller sets it up and binds it."""
    return web.AppRunner(app, access_log=None, keepalive_timeout=idle_timeout)
