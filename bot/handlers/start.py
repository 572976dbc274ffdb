"""/start, including deep-link payloads such as the return from Stripe Checkout."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.services import users
from bot.services.access import entitlement_grants_access, stripe_entitlement
from bot.services.billing import BillingService
from bot.settings import Settings


async def cmd_start(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    billing: BillingService,
    settings: Settings,
) -> None:
    if message.from_user is None:
        return
    user = await users.ensure_user(session, message.from_user, unblock=True)
    payload = (command.args or "").strip().lower()
    now = datetime.now(UTC)
    entitlement = await stripe_entitlement(session, user.id)
    await session.commit()  # nothing below touches the database; free it before replying

    if payload == "cancel":
        await message.answer(texts.CHECKOUT_CANCELLED)
        return
    if payload == "paid":
        if entitlement is not None and entitlement_grants_access(entitlement, now):
            plan = await billing.plan_name(entitlement.price_id)
            await message.answer(
                texts.status(entitlement, plan, now),
                reply_markup=texts.open_app_markup(settings.public_url),
            )
        else:
            await message.answer(texts.PAID_PENDING)
        return
    await message.answer(
        texts.welcome(message.from_user.first_name),
        reply_markup=texts.open_app_markup(settings.public_url),
    )


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_start, CommandStart())
    return router
