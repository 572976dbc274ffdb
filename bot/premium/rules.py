"""What the premium chats decide, without a database or the network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The rights the bot needs as an administrator of each premium chat.
RIGHTS = ("can_invite_users", "can_restrict_members")
# chat_member statuses, as the membership record keeps them.
IN_CHAT = frozenset({"member", "restricted"})
ADMINS = frozenset({"administrator", "creator"})


def missing_rights(member: Mapping[str, Any]) -> list[str]:
    """What the bot lacks in a chat, from its own getChatMember: empty when it can invite
    and remove; "administrator" when it is not one at all."""
    status = member.get("status")
    if status == "creator":
        return []
    if status != "administrator":
        return ["administrator"]
    return [right for right in RIGHTS if not member.get(right)]


def recorded_status(telegram_status: str) -> str:
    """The membership record's word for a chat_member status."""
    if telegram_status in ADMINS:
        return "admin"
    if telegram_status in IN_CHAT:
        return "member"
    return "left"


def must_leave(*, status: str, has_access: bool, allowlisted: bool) -> bool:
    """Whether someone recorded in a premium chat is to be removed: a member without access,
    never an administrator, never someone on PREMIUM_CHAT_ALLOWLIST."""
    return status == "member" and not has_access and not allowlisted


def invite_key(user_id: int, removals: int) -> str:
    """One invite message per access period: the periods are counted by removals."""
    return f"premium-invite:{user_id}:{removals}"


def removal_key(chat_id: int, user_id: int, removals: int) -> str:
    return f"premium-removed:{chat_id}:{user_id}:{removals}"
