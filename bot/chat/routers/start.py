"""/start, including deep-link payloads such as the return from Stripe Checkout."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from bot.access import entitlement_grants_access, stripe_entitlement
from bot.billing.checkout import BillingService
from bot.chat import texts
from bot.settings import Settings
from bot.unit_of_work import UnitOfWork


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
    now = datetime.now(UTC)
    if payload == "cancel":
        await message.answer(texts.CHECKOUT_CANCELLED)
        return
    if payload != "paid":
        await message.answer(
            texts.welcome(message.from_user.first_name),
            reply_markup=texts.open_app_markup(settings.public_url),
        )
        return
    async with uow() as session:
        entitlement = await stripe_entitlement(session, message.from_user.id)
    if entitlement is not None and entitlement_grants_access(entitlement, now):
        plan = await billing.plan_name(entitlement.price_id)
        await message.answer(
            texts.status(entitlement, plan, now),
            reply_markup=texts.open_app_markup(settings.public_url),
        )
    else:
        await message.answer(texts.PAID_PENDING)


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_start, CommandStart())
    return router
