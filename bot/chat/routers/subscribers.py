"""Staff commands about one subscriber: /revoke USER_ID REASON (owners), /user USER_ID
(owners and support)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.accounts import subscribers
from bot.accounts.access import entitlement_grants_access
from bot.accounts.roles import Permission
from bot.chat.middlewares.permissions import needs
from bot.chat.user_changes import change_one_user
from bot.core.ids import parse_user_id
from bot.texts import Html, keyboards, t
from bot.texts import subscribers as texts
from bot.transactions.unit_of_work import UnitOfWork
from db.models import EntitlementSource

REVOKE_SYNTAX = "/revoke USER_ID REASON"
USER_SYNTAX = "/user USER_ID"


def _revoke_args(args: str | None) -> tuple[int, str] | Html:
    """(user id, reason) from `/revoke` arguments, or the reply naming what is wrong."""
    parts = (args or "").strip().split(maxsplit=1)
    if len(parts) != 2:  # noqa: PLR2004 - an id and a reason
        return t("revoke.usage", syntax=REVOKE_SYNTAX)
    user_id = parse_user_id(parts[0])
    if user_id is None:
        return t("revoke.bad_user", value=parts[0][:32], syntax=REVOKE_SYNTAX)
    reason = " ".join(parts[1].split())
    if len(reason) > subscribers.MAX_REASON:
        return t("revoke.long_reason", max=subscribers.MAX_REASON)
    return user_id, reason


async def cmd_revoke(message: Message, command: CommandObject, uow: UnitOfWork) -> None:
    parsed = _revoke_args(command.args)
    await change_one_user(
        message,
        uow,
        parsed,
        change=subscribers.revoke,
        refused=subscribers.NothingToRevokeError,
        reply=lambda user_id, _reason, revoked: texts.revoked(user_id, revoked),
    )


async def cmd_user(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    permissions: frozenset[Permission],
) -> None:
    parts = (command.args or "").split()
    if len(parts) != 1:
        await message.answer(t("user.usage", syntax=USER_SYNTAX))
        return
    user_id = parse_user_id(parts[0])
    if user_id is None:
        await message.answer(t("user.bad_user", value=parts[0][:32], syntax=USER_SYNTAX))
        return
    now = datetime.now(UTC)
    async with uow.reading() as session:
        found = await subscribers.timeline(session, user_id, now)
    if found is None:
        await message.answer(t("user.unknown", user=user_id))
        return
    # A running Stars subscription can be refunded from here (RefundButton), by whoever
    # may refund: support looks people up but sees no such button.
    refundable = Permission.REFUND in permissions and any(
        row.source == EntitlementSource.STARS and entitlement_grants_access(row, now)
        for row in found.entitlements
    )
    markup = keyboards.refund(user_id) if refundable else None
    await message.answer(texts.timeline(found), reply_markup=markup)


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_revoke, Command("revoke"), flags=needs(Permission.REVOKE))
    router.message.register(cmd_user, Command("user"), flags=needs(Permission.LOOK_UP))
    return router
