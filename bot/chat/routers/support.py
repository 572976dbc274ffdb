"""/support and /paysupport: who to write to, and how to cancel or get a refund.

Telegram's terms require every bot that takes payments to answer /paysupport.
"""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.core.settings import Settings
from bot.texts import t


async def cmd_support(message: Message, settings: Settings) -> None:
    user_id = message.from_user.id if message.from_user else message.chat.id
    if settings.support_contact:
        await message.answer(
            t("support.answer", contact=settings.support_contact, user_id=user_id)
        )
    else:
        await message.answer(t("support.no_contact", user_id=user_id))


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_support, Command("support", "paysupport"))
    return router
