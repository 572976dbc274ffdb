"""/start, including deep-link payloads such as the return from Stripe Checkout."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from bot.accounts import referrals
from bot.accounts.access import entitlement_grants_access, stripe_entitlement
from bot.billing.checkout import BillingService
from bot.core.settings import Settings
from bot.telegram.client import bot_username
from bot.texts import billing as billing_texts
from bot.texts import keyboards, plain, t, tn
from bot.transactions.unit_of_work import UnitOfWork

# The payloads Stripe Checkout returns to (bot/billing/checkout.py).
CHECKOUT_RETURNS = frozenset({"paid", "cancel"})


async def cmd_start(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    billing: BillingService,
    settings: Settings,
) -> None:
    if message.from_user is None:
        return
    payload = (command.args or "").strip().lower()
    if payload in CHECKOUT_RETURNS and not billing.offered:
        payload = ""  # a Stripe return while Stripe is not offered: a plain /start
    if payload == "cancel":
        await message.answer(t("start.checkout_cancelled"))
        return
    open_app = keyboards.open_app(settings.public_url)
    referrer = referrals.referrer_in(payload)
    if referrer is not None:
        async with uow() as session:
            await referrals.record(session, message.from_user.id, referrer)
    if payload != "paid":
        name = message.from_user.first_name or plain("start.someone")
        await message.answer(t("start.welcome", name=name), reply_markup=open_app)
        return
    now = datetime.now(UTC)
    async with uow.reading() as session:
        entitlement = await stripe_entitlement(session, message.from_user.id)
    if entitlement is not None and entitlement_grants_access(entitlement, now):
        plan = await billing.plan_name(entitlement.price_id)
        await message.answer(
            billing_texts.status(entitlement, plan, None, None, now), reply_markup=open_app
        )
    else:
        await message.answer(t("start.paid_pending"))


async def cmd_referral(message: Message, bot: Bot, uow: UnitOfWork, settings: Settings) -> None:
    """A user's link to share; the bonus when a friend who came through it first pays."""
    if message.from_user is None:
        return
    days = settings.referral_bonus_days
    if not days:
        await message.answer(t("referral.off"))
        return
    username = await bot_username(bot)
    link = f"https://t.me/{username}?start={referrals.payload(message.from_user.id)}"
    async with uow.reading() as session:
        brought, paid = await referrals.mine(session, message.from_user.id)
    await message.answer(tn("referral.link", days, link=link, brought=brought, paid=paid))


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_referral, Command("referral"))
    return router
