"""/help: what the bot does and its commands (to staff, the ones their role may use)."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.accounts.roles import Permission
from bot.core.settings import Settings
from bot.texts.commands import Offered, help_text


async def cmd_help(
    message: Message, settings: Settings, permissions: frozenset[Permission]
) -> None:
    """`permissions`: the sender's, from bot.chat.middlewares.permissions (no look-up of
    the role lists per /help)."""
    await message.answer(help_text(Offered.by(settings), permissions))


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_help, Command("help"))
    return router
