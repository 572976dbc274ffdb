"""Admin-only handlers: one check, before the handler runs, for every such command and button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.core.settings import Settings
from bot.texts import plain, t

# Pass as `flags=ADMIN_ONLY` when registering a handler.
ADMIN_ONLY = {"admin_only": True}


class AdminOnlyMiddleware(BaseMiddleware):
    """Answers NOT_ADMIN to anyone not in ADMIN_IDS instead of running a flagged handler.

    An inner middleware, so the handler (and its flags) is already chosen; registered on
    the Dispatcher's message and callback_query observers, it covers every router.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not get_flag(data, "admin_only"):
            return await handler(event, data)
        user: User | None = data.get("event_from_user")
        if self._settings.is_admin(user.id if user else None):
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            await event.answer(plain("common.not_admin"), show_alert=True)
        elif isinstance(event, Message):
            await event.answer(t("common.not_admin"))
        return None
