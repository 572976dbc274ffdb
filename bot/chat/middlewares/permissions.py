"""Staff-only handlers: one check, before the handler runs, for every such command and
button, asking bot/accounts/roles.py what the sender may do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.accounts.roles import Permission, permission_table
from bot.core.settings import Settings
from bot.texts import plain, t

NEEDS = "needs"
_NONE: frozenset[Permission] = frozenset()


def needs(*permissions: Permission) -> dict[str, tuple[Permission, ...]]:
    """Pass as `flags=needs(Permission.X)` when registering a handler: it runs for those
    who hold any one of them."""
    return {NEEDS: permissions}


class PermissionMiddleware(BaseMiddleware):
    """Refuses a flagged handler to whoever lacks its permission, with a line saying so,
    and hands every handler the sender's permissions (`permissions`), looked up once in
    the table built at start-up.

    An inner middleware, so the handler (and its flags) is already chosen; registered on
    the Dispatcher's message and callback_query observers, it covers every router.
    """

    def __init__(self, settings: Settings) -> None:
        self._table = permission_table(settings)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        held = self._table.get(user.id, _NONE) if user else _NONE
        data["permissions"] = held  # also for /help, which lists what they may use
        wanted: tuple[Permission, ...] | None = get_flag(data, NEEDS)
        if not wanted or not held.isdisjoint(wanted):
            return await handler(event, data)
        # Staff hear that their role does not reach this; anyone else that it is staff's.
        key = "common.not_allowed" if held else "common.not_admin"
        if isinstance(event, CallbackQuery):
            await event.answer(plain(key), show_alert=True)
        elif isinstance(event, Message):
            await event.answer(t(key))
        return None
