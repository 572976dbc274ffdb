"""The last router: a button no other handler understood still gets an answer.

Telegram shows a spinner on a pressed button until the bot answers the callback; a button
from an old message, or callback data that is not ours, would spin and do nothing.
"""

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.chat.texts import plain


async def cb_unknown(query: CallbackQuery) -> None:
    await query.answer(plain("common.button_expired"), show_alert=True)


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.callback_query.register(cb_unknown)
    return router
