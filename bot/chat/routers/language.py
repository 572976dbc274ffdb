"""/language: the language the bot and the Mini App speak to this user, kept until changed.

Until someone chooses, their Telegram app's language applies (bot.core.languages.pick). The
answer to a choice already reads in the new language, and so does everything after it,
the outbox's notices included (they are rendered when sent).
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.core import languages
from bot.core.languages import LANGUAGES, NATIVE_NAMES, ChosenLanguages
from bot.texts import CATALOGUE, Html, language, plain, t
from bot.texts.keyboards import LanguageButton
from bot.transactions.unit_of_work import UnitOfWork


def _text() -> Html:
    return t("language.text", language=NATIVE_NAMES[language()])


def _markup() -> InlineKeyboardMarkup:
    current = language()
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=("✓ " if code == current else "") + NATIVE_NAMES[code],
                    callback_data=LanguageButton(language=code).pack(),
                )
            ]
            for code in LANGUAGES
        ]
    )


async def cmd_language(message: Message) -> None:
    await message.answer(_text(), reply_markup=_markup())


async def cb_choose(
    query: CallbackQuery,
    callback_data: LanguageButton,
    bot: Bot,
    uow: UnitOfWork,
    chosen_languages: ChosenLanguages,
) -> None:
    async with uow() as session:
        await languages.choose(session, query.from_user.id, callback_data.language)
    chosen_languages.remember(query.from_user.id, callback_data.language)
    with CATALOGUE.use_locale(callback_data.language):
        await query.answer(plain("language.saved"))
        await bot.send_message(query.from_user.id, _text(), reply_markup=_markup())


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_language, Command("language"))
    router.callback_query.register(cb_choose, LanguageButton.filter())
    return router
