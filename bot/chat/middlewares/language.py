"""Every update is answered in its user's language (aiogram's I18nMiddleware).

The catalogue's language is a context variable: set here around the handler, everything
the handler renders with bot.texts reads in that language. Which one is
bot.core.languages.pick's rule; the choice made with /language is read from the database once
and then remembered (bot.core.languages.ChosenLanguages), so an update costs no query for it.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18nMiddleware

from bot.chat.middlewares.unit_of_work import UpdateWork
from bot.core import languages
from bot.core.languages import NOT_KNOWN, ChosenLanguages
from bot.texts import CATALOGUE


class LanguageMiddleware(I18nMiddleware):
    def __init__(self, chosen: ChosenLanguages, default: str) -> None:
        super().__init__(CATALOGUE, i18n_key=None, middleware_key="language_middleware")
        self._chosen = chosen
        self._default = default

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return self._default
        choice = self._chosen.known(user.id)
        if choice == NOT_KNOWN:
            uow: UpdateWork = data["uow"]
            async with uow.untracked.reading() as session:
                choice = await languages.chosen(session, user.id)
            self._chosen.remember(user.id, choice)
        return languages.pick(choice, user.language_code, self._default)
