"""What the premium chats decide, without a database or the network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The rights the bot needs as an administrator of each premium chat.
RIGHTS = ("can_invite_users", "can_restrict_members")
# chat_member statuses (https://core.telegram.org/bots/api#chatmember): "restricted" is in
# the chat only with is_member true; "left" and "kicked" are not in it.
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


def recorded_status(telegram_status: str, *, is_member: bool | None = None) -> str:
    """The membership record's word for a chat_member status. A restricted user is in the
    chat only while `is_member` is true (ChatMemberRestricted): one restricted after they
    left, or who left while restricted, is not a member and has nothing to be removed from."""
    if telegram_status in ADMINS:
        return "admin"
    if telegram_status == "member" or (telegram_status == "restricted" and is_member is True):
        return "member"
    return "left"


def must_leave(*, status: str, has_access: bool, allowlisted: bool) -> bool:
    """Whether someone recorded in a premium chat is to be removed: a member without access,
    never an administrator, never someone on PREMIUM_CHAT_ALLOWLIST."""
    return status == "member" and not has_access and not allowlisted


def invite_key(user_id: int, period: int) -> str:
    """One invite message per access period (invite_period)."""
    return f"premium-invite:{user_id}:{period}"


def invite_period(recorded: tuple[int, bool] | None, removals: int) -> int:
    """The number of a user's current access period: the recorded one (premium_periods,
    (period, invited)); for a user with no record yet, the removals, which counted the
    periods before the record existed, so an invite sent then is not sent again."""
    return recorded[0] if recorded is not None else removals


def invited(recorded: tuple[int, bool] | None) -> bool:
    """Whether the current period's invite went out."""
    return recorded is not None and recorded[1]


def removal_key(chat_id: int, user_id: int, removals: int) -> str:
    return f"premium-removed:{chat_id}:{user_id}:{removals}"
