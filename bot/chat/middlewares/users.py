"""Every user who writes to the bot is registered, once per update, before any handler.

In private chats only (a group message says nothing about the sender's own chat with the
bot). The profile last written is remembered, so an update from someone already known
with the same names costs no write; the memory is dropped whenever a delivery marks a
user blocked, so the next message from them clears it. The users of updates that arrive
together are registered together, in one statement and one transaction of their own
(bot.transactions.coalescing): not the update's unit, whose record must commit with its own
changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts import users
from bot.core.languages import LANGUAGES, ChosenLanguages
from bot.transactions import commit_events
from bot.transactions.coalescing import Coalescer
from bot.transactions.unit_of_work import UnitOfWork

MAX_REMEMBERED = 100_000

Profile = tuple[str | None, str, str | None]


class RegisterUserMiddleware(BaseMiddleware):
    def __init__(
        self, chosen: ChosenLanguages, session_factory: async_sessionmaker[AsyncSession]
    ) -> None:
        self._known: dict[int, Profile] = {}
        self._unit = UnitOfWork(session_factory)
        self._registered = Coalescer(self._register_all)
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
            await self._register(user)
        return await handler(event, data)

    async def _register(self, user: User) -> None:
        version = commit_events.version(commit_events.USERS)
        if version != self._version or len(self._known) >= MAX_REMEMBERED:
            self._known.clear()  # someone was marked blocked: their next update unblocks
            self._version = version
        profile = (user.username, user.first_name, user.language_code)
        if self._known.get(user.id) == profile:
            return
        language = await self._registered(user.id, user)
        self._chosen.remember(user.id, language if language in LANGUAGES else None)
        self._known[user.id] = profile

    async def _register_all(self, profiles: Mapping[int, User]) -> dict[int, str | None]:
        async with self._unit() as session:
            return await users.register_returning_languages(session, profiles.values())
