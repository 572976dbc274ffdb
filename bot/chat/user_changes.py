"""An admin's change to one user from chat (/grant, /revoke): the parsed arguments applied
in the update's unit of work, the refusal or the result answered once it has committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import DomainError
from bot.texts import Html, t
from bot.transactions.unit_of_work import UnitOfWork

Value = TypeVar("Value")
Result = TypeVar("Result")
# The service: (session, user id, value, admin id, now) -> what it did.
Change = Callable[[AsyncSession, int, Value, int, datetime], Awaitable[Result]]


async def change_one_user(
    message: Message,
    uow: UnitOfWork,
    parsed: tuple[int, Value] | Html,
    *,
    change: Change[Value, Result],
    refused: type[DomainError],
    reply: Callable[[int, Value, Result], Html],
) -> None:
    """`parsed` is (user id, value), or the reply naming what is wrong with the arguments;
    `refused` is the service's error a user can be told about (its catalogue key)."""
    assert message.from_user is not None  # staff only: PermissionMiddleware saw the user
    if isinstance(parsed, Html):
        await message.answer(parsed)
        return
    user_id, value = parsed
    try:
        async with uow() as session:
            result = await change(session, user_id, value, message.from_user.id, datetime.now(UTC))
    except refused as error:
        await message.answer(t(error.key, **error.params))
        return
    await message.answer(reply(user_id, value, result))
