"""The last router: what no other handler understood still gets an answer.

Telegram shows a spinner on a pressed button until the bot answers the callback; a button
from an old message, or callback data that is not ours, would spin and do nothing. A
private message that is no command of ours (plain text, a command we do not have) gets a
short pointer to /help instead of silence. Groups and channels are left alone: the
premium chats are people talking to each other.
"""

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message

from bot.texts import plain, t


async def cb_unknown(query: CallbackQuery) -> None:
    await query.answer(plain("common.button_expired"), show_alert=True)


async def msg_unknown(message: Message) -> None:
    text = message.text or ""
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0].partition("@")[0][:64]
        await message.answer(t("fallback.command", command=command))
        return
    await message.answer(t("fallback.text"))


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.callback_query.register(cb_unknown)
    router.message.register(msg_unknown, F.chat.type == ChatType.PRIVATE, F.text)
    return router
