"""The Dispatcher with every router (no import-time globals); the Bot is in bot.telegram.client."""

from __future__ import annotations

from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.access import PaidEntitlementsReader
from bot.billing.checkout import BillingService
from bot.chat.middlewares.language import LanguageMiddleware
from bot.chat.middlewares.permissions import PermissionMiddleware
from bot.chat.middlewares.server_faults import ServerFaultMiddleware
from bot.chat.middlewares.unit_of_work import UnitOfWorkMiddleware
from bot.chat.middlewares.users import RegisterUserMiddleware
from bot.chat.rail_offers import Offers
from bot.chat.replies import ReplyScope
from bot.chat.routers import get_routers
from bot.core.languages import ChosenLanguages
from bot.core.settings import Settings
from bot.outcomes.benchmark import Holdings
from bot.payments.links import PaymentLinks, payment_links
from bot.premium.service import PremiumChats
from bot.stars.service import StarsService
from bot.transactions.unit_of_work import UnitOfWork


def create_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    billing: BillingService,
    stars: StarsService,
    premium: PremiumChats,
    *,
    chosen_languages: ChosenLanguages | None = None,
    links: PaymentLinks | None = None,
    holdings: Holdings | None = None,
) -> Dispatcher:
    """The Dispatcher with every router; long-lived services reach handlers by name.
    `links`: the users' payment links and their brake, shared with the Mini App."""
    if links is None:
        links = payment_links(settings, UnitOfWork(session_factory))
    offers = Offers(settings.rails, billing, stars, links)
    chosen = chosen_languages if chosen_languages is not None else ChosenLanguages()
    dispatcher = Dispatcher(
        settings=settings,
        billing=billing,
        stars=stars,
        offers=offers,
        premium=premium,
        chosen_languages=chosen,
        paid_entitlements=PaidEntitlementsReader(session_factory),
        holdings=holdings,  # holding BTC for /performance: the web app's cache (None: unset)
    )
    # Outer middlewares on update, outermost first (after aiogram's own, which finds the
    # user and chat): a database failure becomes a retry (a 500 to Telegram in webhook
    # mode); each update gets its unit of work and is applied once; its user is registered;
    # whatever the handler renders reads in the user's language; and its replies wait
    # out a 429 or go to the outbox (bot/chat/replies.py), ending the handler quietly
    # inside the update's unit of work, which then commits as usual.
    dispatcher.update.outer_middleware(ServerFaultMiddleware())
    dispatcher.update.outer_middleware(
        UnitOfWorkMiddleware(session_factory, every_update=settings.public_url is not None)
    )
    dispatcher.update.outer_middleware(RegisterUserMiddleware(chosen, session_factory))
    dispatcher.update.outer_middleware(LanguageMiddleware(chosen, settings.default_language))
    dispatcher.update.outer_middleware(ReplyScope())
    # Handlers registered with flags=needs(Permission.X) run only for those whose role
    # holds it (bot/accounts/roles.py), in every router.
    permissions = PermissionMiddleware(settings)
    dispatcher.message.middleware(permissions)
    dispatcher.callback_query.middleware(permissions)
    dispatcher.include_routers(*get_routers())
    return dispatcher
