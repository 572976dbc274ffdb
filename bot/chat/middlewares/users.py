"""Every user who writes to the bot is registered, once per update, before any handler.

In private chats only (a group message says nothing about the sender's own chat with the
bot). The profile last written is remembered, so an update from someone already known
with the same names costs no write; the memory is dropped whenever a delivery marks a
user blocked, so the next message from them clears it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from bot import commit_events, users
from bot.chat.middlewares.unit_of_work import UpdateWork
from bot.languages import LANGUAGES, ChosenLanguages

MAX_REMEMBERED = 100_000

Profile = tuple[str | None, str, str | None]


class RegisterUserMiddleware(BaseMiddleware):
    def __init__(self, chosen: ChosenLanguages) -> None:
        self._known: dict[int, Profile] = {}
        # The statement that registers a user also says what language they chose: the
        # language middleware after this one then needs no query of its own.
        self._chosen = chosen
        self._version = commit_events.version(commit_events.USERS)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is not None and not user.is_bot and (chat is None or chat.type == "private"):
            await self._register(user, data["uow"])
        return await handler(event, data)

    async def _register(self, user: User, uow: UpdateWork) -> None:
        version = commit_events.version(commit_events.USERS)
        if version != self._version or len(self._known) >= MAX_REMEMBERED:
            self._known.clear()  # someone was marked blocked: their next update unblocks
            self._version = version
        profile = (user.username, user.first_name, user.language_code)
        if self._known.get(user.id) == profile:
            return
        async with uow.untracked() as session:
            language = await users.register_returning_language(session, user)
        self._chosen.remember(user.id, language if language in LANGUAGES else None)
        self._known[user.id] = profile
