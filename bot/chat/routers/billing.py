"""/subscribe, /status and /manage: plans, Checkout links, state and the billing portal."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.types import User as TelegramUser

from bot.accounts.access import PaidEntitlementsReader
from bot.billing.checkout import BillingService
from bot.chat.rail_offers import Offers
from bot.core.errors import (
    BillingUnavailableError,
    NoCustomerError,
    RailNotOfferedError,
)
from bot.core.settings import Settings
from bot.payments.links import PleaseWaitError
from bot.stars.service import StarsService
from bot.telegram.client import bot_username
from bot.texts import Html, format_date, keyboards, language, t
from bot.texts import billing as texts
from bot.texts.keyboards import BillingButton
from bot.transactions.unit_of_work import UnitOfWork

Reply = tuple[Html, InlineKeyboardMarkup | None]


async def cmd_subscribe(message: Message, bot: Bot, uow: UnitOfWork, offers: Offers) -> None:
    if message.from_user is None:
        return
    text, markup = await offers.reply(message.from_user, bot, uow)
    await message.answer(text, reply_markup=markup)


async def cb_plans(query: CallbackQuery, bot: Bot, uow: UnitOfWork, offers: Offers) -> None:
    text, markup = await offers.reply(query.from_user, bot, uow)
    await query.answer()
    await bot.send_message(query.from_user.id, text, reply_markup=markup)


async def cb_winback(query: CallbackQuery, bot: Bot, uow: UnitOfWork, offers: Offers) -> None:
    text, markup = await offers.reply(query.from_user, bot, uow, winback=True)
    await query.answer()
    await bot.send_message(query.from_user.id, text, reply_markup=markup)


async def cmd_status(
    message: Message,
    paid_entitlements: PaidEntitlementsReader,
    billing: BillingService,
    stars: StarsService,
    settings: Settings,
) -> None:
    if message.from_user is None:
        return
    entitlement, paid_in_stars = await paid_entitlements(message.from_user.id)
    plan = await billing.plan_name(entitlement.price_id if entitlement else None)
    text = texts.status(entitlement, plan, paid_in_stars, stars.price, datetime.now(UTC))
    await message.answer(text, reply_markup=keyboards.open_app(settings.public_url))


async def _portal_reply(
    tg_user: TelegramUser, bot: Bot, uow: UnitOfWork, billing: BillingService, offers: Offers
) -> Reply:
    if not billing.enabled:
        return t("billing.off"), None
    try:
        async with uow.reading() as session:
            customer_id = await billing.portal_customer(session, tg_user.id, datetime.now(UTC))
        await offers.links.brake(tg_user.id)  # each portal link is a Stripe call
        return_url = f"https://t.me/{await bot_username(bot)}"
        url = await billing.portal_url(customer_id, return_url, language=language())
    except (NoCustomerError, RailNotOfferedError):
        # Stripe not offered and no Stripe subscription running: nothing of theirs there.
        return t("billing.no_customer"), None
    except BillingUnavailableError:
        return t("billing.down"), None
    except PleaseWaitError:
        return t("billing.please_wait"), None
    return t("billing.portal"), keyboards.portal(url)


async def cmd_manage(
    message: Message,
    *,
    bot: Bot,
    uow: UnitOfWork,
    billing: BillingService,
    stars: StarsService,
    offers: Offers,
) -> None:
    """A Stars subscriber stops or resumes the renewal here; Stripe's billing is managed in
    its portal (both, for someone who pays through each)."""
    if message.from_user is None:
        return
    async with uow.reading() as session:
        running = await stars.subscription(session, message.from_user.id, datetime.now(UTC))
    if running is not None and running.expires_at is not None:
        renewing = not running.cancel_at_period_end
        key = "stars.manage" if renewing else "stars.manage_stopped"
        await message.answer(
            t(key, date=format_date(running.expires_at)),
            reply_markup=keyboards.stars_renewal(renewing),
        )
        if not billing.enabled:
            return
    text, markup = await _portal_reply(message.from_user, bot, uow, billing, offers)
    if running is not None and markup is None:
        return  # a Stars subscriber who never paid through Stripe: nothing more to say
    await message.answer(text, reply_markup=markup)


async def cb_portal(
    query: CallbackQuery, bot: Bot, uow: UnitOfWork, billing: BillingService, offers: Offers
) -> None:
    text, markup = await _portal_reply(query.from_user, bot, uow, billing, offers)
    await query.answer()
    await bot.send_message(query.from_user.id, text, reply_markup=markup)


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_subscribe, Command("subscribe"))
    router.callback_query.register(cb_plans, BillingButton.filter(F.action == "plans"))
    router.callback_query.register(cb_winback, BillingButton.filter(F.action == "winback"))
    router.message.register(cmd_status, Command("status"))
    router.message.register(cmd_manage, Command("manage"))
    router.callback_query.register(cb_portal, BillingButton.filter(F.action == "portal"))
    return router
