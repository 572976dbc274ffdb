"""/help: what the bot does and its commands (to staff, the ones their role may use)."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.accounts.roles import permissions_of
from bot.core.settings import Settings
from bot.texts.commands import Offered, help_text


async def cmd_help(message: Message, settings: Settings) -> None:
    permissions = permissions_of(message.from_user.id if message.from_user else None, settings)
    await message.answer(help_text(Offered.by(settings), permissions))


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_help, Command("help"))
    return router
