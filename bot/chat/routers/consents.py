"""The risk disclaimer's Accept button: the acceptance recorded, then the plans the user
asked for (docs/consents.md). /subscribe and its buttons ask for it (bot/chat/rail_offers.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.types import CallbackQuery

from bot.accounts import consents
from bot.chat.rail_offers import Offers
from bot.core.errors import DisclaimerChangedError
from bot.texts import disclaimer, keyboards, plain
from bot.texts.keyboards import ConsentButton
from bot.transactions.unit_of_work import UnitOfWork


async def cb_accept(
    query: CallbackQuery,
    callback_data: ConsentButton,
    bot: Bot,
    uow: UnitOfWork,
    offers: Offers,
) -> None:
    """Recorded for whoever taps (the button is theirs: a private chat's), and only for the
    version shown now: an old message's button, or a forged version, asks again."""
    user_id, current = query.from_user.id, disclaimer.version()
    try:
        async with uow() as session:
            await consents.accept(
                session, user_id, callback_data.version, current, datetime.now(UTC)
            )
    except DisclaimerChangedError:
        await query.answer(plain("consent.changed"), show_alert=True)
        ask_again = keyboards.accept_disclaimer(current, callback_data.then)
        await bot.send_message(user_id, disclaimer.ask(), reply_markup=ask_again)
        return
    await query.answer(plain("consent.accepted"))
    winback = callback_data.then == "winback"
    text, markup = await offers.reply(query.from_user, bot, uow, winback=winback)
    await bot.send_message(user_id, text, reply_markup=markup)


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.callback_query.register(cb_accept, ConsentButton.filter())
    return router
