"""/help: what the bot does and its commands."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot import texts


async def cmd_help(message: Message) -> None:
    await message.answer(texts.HELP)


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_help, Command("help"))
    return router
