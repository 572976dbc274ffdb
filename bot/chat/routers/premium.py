"""Premium chats in Telegram: join requests (approved for users with access only), the
chat_member updates that keep the membership record, and /join for fresh links."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import ChatJoinRequest, ChatMemberRestricted, ChatMemberUpdated, Message

from bot.accounts.access import with_access
from bot.premium.service import PremiumChats
from bot.texts import keyboards, t
from bot.transactions.unit_of_work import UnitOfWork


async def on_join_request(request: ChatJoinRequest, premium: PremiumChats) -> None:
    await premium.on_join_request(request.chat.id, request.from_user.id, datetime.now(UTC))


async def on_chat_member(update: ChatMemberUpdated, premium: PremiumChats) -> None:
    member = update.new_chat_member
    # Only ChatMemberRestricted says whether the user is still in the chat.
    is_member = member.is_member if isinstance(member, ChatMemberRestricted) else None
    await premium.on_member(
        update.chat.id, member.user.id, member.status, datetime.now(UTC), is_member=is_member
    )


async def cmd_join(message: Message, uow: UnitOfWork, premium: PremiumChats) -> None:
    if message.from_user is None:
        return
    if not premium.enabled:
        await message.answer(t("join.off"))
        return
    now = datetime.now(UTC)
    async with uow.reading() as session:
        allowed = message.from_user.id in await with_access(session, [message.from_user.id], now)
    if not allowed:
        await message.answer(t("join.no_access"), reply_markup=keyboards.subscribe())
        return
    links = await premium.links(message.from_user.id, now)
    if not links:
        await message.answer(t("join.unavailable"))
        return
    await message.answer(t("join.links"), reply_markup=keyboards.join_links(links))


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.chat_join_request.register(on_join_request)
    router.chat_member.register(on_chat_member)
    router.message.register(cmd_join, Command("join"))
    return router
