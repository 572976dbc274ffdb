"""/settings: how new signals and their updates arrive (on, silent; updates also off)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.accounts import preferences
from bot.accounts.preferences import Preferences, UnknownChoiceError
from bot.texts import Html, plain, t
from bot.texts.keyboards import PreferenceButton
from bot.transactions.unit_of_work import UnitOfWork

# The catalogue's ids, spelled out (tests/project/test_texts.py finds every id in the code).
_CHOICE = {
    "on": "settings.choice.on",
    "silent": "settings.choice.silent",
    "off": "settings.choice.off",
}
_BUTTON = {
    ("signals", "on"): "settings.button.signals.on",
    ("signals", "silent"): "settings.button.signals.silent",
    ("updates", "on"): "settings.button.updates.on",
    ("updates", "silent"): "settings.button.updates.silent",
    ("updates", "off"): "settings.button.updates.off",
}


def _text(chosen: Preferences) -> Html:
    return t(
        "settings.text",
        signals=plain(_CHOICE[chosen.signals]),
        updates=plain(_CHOICE[chosen.updates]),
    )


def _markup(chosen: Preferences) -> InlineKeyboardMarkup:
    def row(what: str, choices: tuple[str, ...], current: str) -> list[InlineKeyboardButton]:
        return [
            InlineKeyboardButton(
                text=("✓ " if choice == current else "") + plain(_BUTTON[what, choice]),
                callback_data=PreferenceButton(what=what, choice=choice).pack(),
            )
            for choice in choices
        ]

    return InlineKeyboardMarkup(
        inline_keyboard=[
            row("signals", preferences.SIGNAL_CHOICES, chosen.signals),
            row("updates", preferences.UPDATE_CHOICES, chosen.updates),
        ]
    )


async def cmd_settings(message: Message, uow: UnitOfWork) -> None:
    if message.from_user is None:
        return
    async with uow.reading() as session:
        chosen = await preferences.of(session, message.from_user.id)
    await message.answer(_text(chosen), reply_markup=_markup(chosen))


async def cb_choose(
    query: CallbackQuery, callback_data: PreferenceButton, bot: Bot, uow: UnitOfWork
) -> None:
    try:
        async with uow() as session:
            chosen = await preferences.choose(
                session, query.from_user.id, callback_data.what, callback_data.choice
            )
    except UnknownChoiceError as error:
        await query.answer(plain(error.key))
        return
    await query.answer(plain("settings.saved"))
    await bot.send_message(query.from_user.id, _text(chosen), reply_markup=_markup(chosen))


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_settings, Command("settings"))
    router.callback_query.register(cb_choose, PreferenceButton.filter())
    return router
