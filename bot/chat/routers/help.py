"""/help: what the bot does and its commands (the admin commands to admins)."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.core.settings import Settings
from bot.texts.commands import Offered, help_text


async def cmd_help(message: Message, settings: Settings) -> None:
    is_admin = settings.is_admin(message.from_user.id if message.from_user else None)
    await message.answer(help_text(Offered.by(settings), is_admin=is_admin))


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_help, Command("help"))
    return router
