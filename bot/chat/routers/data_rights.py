"""/mydata (the user's data as a JSON file) and /deletedata (their personal data erased,
after a confirmation); docs/consents.md says what each holds and keeps."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.admin import data_rights
from bot.core.languages import ChosenLanguages
from bot.texts import keyboards, plain, t
from bot.texts.keyboards import DataButton
from bot.transactions.unit_of_work import UnitOfWork


async def cmd_mydata(message: Message, bot: Bot, uow: UnitOfWork) -> None:
    if message.from_user is None:
        return
    user_id = message.from_user.id
    try:
        async with uow() as session:
            data = await data_rights.export(session, user_id, datetime.now(UTC))
    except data_rights.ExportTooSoonError:
        await message.answer(t("data.export.too_soon"))
        return
    document = BufferedInputFile(data, filename=f"mydata-{user_id}.json")
    try:  # to the private chat only, wherever it was asked
        await bot.send_document(user_id, document, caption=plain("data.export.caption"))
    except TelegramForbiddenError:
        # Asked in a group by someone who never opened (or blocked) the bot's chat: say
        # so where they asked; in their private chat there is nobody to tell.
        if message.chat.id != user_id:
            await message.answer(t("data.export.private"))


async def cmd_deletedata(message: Message, uow: UnitOfWork) -> None:
    if message.from_user is None:
        return
    user_id = message.from_user.id
    async with uow.reading() as session:
        renews = await data_rights.renews(session, user_id, datetime.now(UTC))
    if renews:
        await message.answer(t("data.erase.renews"))
        return
    await message.answer(t("data.erase.ask"), reply_markup=keyboards.confirm_erase(user_id))


async def cb_erase(
    query: CallbackQuery,
    callback_data: DataButton,
    bot: Bot,
    uow: UnitOfWork,
    chosen_languages: ChosenLanguages,
) -> None:
    """Only the user the buttons were made for: anyone else's tap changes nothing."""
    user_id = query.from_user.id
    if callback_data.user_id != user_id:
        await query.answer(plain("data.erase.not_yours"), show_alert=True)
        return
    if callback_data.action == "keep":
        await query.answer()
        await bot.send_message(user_id, t("data.erase.kept"))
        return
    try:
        async with uow() as session:
            await data_rights.erase(session, user_id, datetime.now(UTC))
    except data_rights.SubscriptionRenewsError:
        await query.answer()
        await bot.send_message(user_id, t("data.erase.renews"))
        return
    chosen_languages.remember(user_id, None)  # the /language choice is gone with the rest
    await query.answer()
    await bot.send_message(user_id, t("data.erase.done"))


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_mydata, Command("mydata"))
    router.message.register(cmd_deletedata, Command("deletedata"))
    router.callback_query.register(cb_erase, DataButton.filter())
    return router
