"""Channels and supergroups in the fake Bot API: who is an administrator with which rights,
who is a member, invite links (join-request ones too), approving and declining requests,
banning and unbanning, with the real API's answers (https://core.telegram.org/bots/api)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.support.fakes.stars import FakeBadRequest

_ids = itertools.count(1)
ADMIN_RIGHTS = {"can_invite_users": True, "can_restrict_members": True}
# Every right ChatMemberAdministrator carries, off: what a chat_member update names.
NO_RIGHTS = dict.fromkeys(
    (
        "can_be_edited",
        "is_anonymous",
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_promote_members",
        "can_change_info",
        "can_invite_users",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
        "can_send_welcome_messages",
    ),
    False,
)

# Every permission ChatMemberRestricted carries besides is_member and until_date.
_RESTRICTED_RIGHTS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)


@dataclass
class FakeChat:
    chat_id: int
    admins: dict[int, dict[str, Any]] = field(default_factory=dict)  # user id -> rights
    members: set[int] = field(default_factory=set)
    banned: set[int] = field(default_factory=set)
    requests: set[int] = field(default_factory=set)  # pending join requests
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A ChatMember status the Bot API added after the library was written (Telegram adds
    # them): getChatMember answers it for everyone in this chat when set.
    new_status: str | None = None


@dataclass
class ChatsLedger:
    chats: dict[int, FakeChat] = field(default_factory=dict)
    bot_id: int = 0

    def add_chat(self, chat_id: int, *, bot_rights: dict[str, Any] | None = None) -> FakeChat:
        """A premium chat; the bot is an administrator with `bot_rights` (None: it is not
        one at all)."""
        chat = FakeChat(chat_id)
        if bot_rights is not None:
            chat.admins[self.bot_id] = bot_rights
        self.chats[chat_id] = chat
        return chat

    def handlers(self) -> dict[str, Any]:
        return {
            "getchatmember": self._get_chat_member,
            "createchatinvitelink": self._create_link,
            "approvechatjoinrequest": self._approve,
            "declinechatjoinrequest": self._decline,
            "banchatmember": self._ban,
            "unbanchatmember": self._unban,
        }

    def _chat(self, p: dict[str, Any]) -> FakeChat:
        chat = self.chats.get(int(p.get("chat_id") or 0))
        if chat is None:
            raise FakeBadRequest("chat not found")
        return chat

    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": user_id == self.bot_id, "first_name": f"U{user_id}"}

    def _get_chat_member(self, _token: str, p: dict[str, Any]) -> dict[str, Any]:
        chat, user_id = self._chat(p), int(p["user_id"])
        if chat.new_status is not None:
            return {"status": chat.new_status, "user": self._user(user_id), "until_date": 0}
        if user_id in chat.admins:
            rights = {**NO_RIGHTS, "can_manage_chat": True, **chat.admins[user_id]}
            return {"status": "administrator", "user": self._user(user_id), **rights}
        if user_id in chat.banned:
            return {"status": "kicked", "user": self._user(user_id), "until_date": 0}
        status = "member" if user_id in chat.members else "left"
        return {"status": status, "user": self._user(user_id)}

    def _need(self, chat: FakeChat, right: str) -> None:
        if not chat.admins.get(self.bot_id, {}).get(right):
            raise FakeBadRequest("not enough rights")

    def _create_link(self, _token: str, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p)
        self._need(chat, "can_invite_users")
        joins = p.get("creates_join_request") in (True, "true")
        if joins and p.get("member_limit"):
            raise FakeBadRequest("member limit can't be specified for links requiring approval")
        link = f"https://t.me/+fake{next(_ids):06d}"
        chat.links[link] = {
            "invite_link": link,
            "creator": self._user(self.bot_id),
            "creates_join_request": joins,
            "is_primary": False,
            "is_revoked": False,
            "name": p.get("name"),
            "expire_date": p.get("expire_date"),
        }
        return chat.links[link]

    def _request(self, p: dict[str, Any]) -> tuple[FakeChat, int]:
        chat, user_id = self._chat(p), int(p["user_id"])
        self._need(chat, "can_invite_users")
        if user_id not in chat.requests:
            raise FakeBadRequest("HIDE_REQUESTER_MISSING")
        chat.requests.discard(user_id)
        return chat, user_id

    def _approve(self, _token: str, p: dict[str, Any]) -> bool:
        chat, user_id = self._request(p)
        chat.members.add(user_id)
        return True

    def _decline(self, _token: str, p: dict[str, Any]) -> bool:
        self._request(p)
        return True

    def _ban(self, _token: str, p: dict[str, Any]) -> bool:
        chat, user_id = self._chat(p), int(p["user_id"])
        self._need(chat, "can_restrict_members")
        if user_id in chat.admins:
            raise FakeBadRequest("user is an administrator of the chat")
        chat.members.discard(user_id)
        chat.banned.add(user_id)
        return True

    def _unban(self, _token: str, p: dict[str, Any]) -> bool:
        chat, user_id = self._chat(p), int(p["user_id"])
        self._need(chat, "can_restrict_members")
        only_if_banned = p.get("only_if_banned") in (True, "true")
        if user_id in chat.members and not only_if_banned:
            chat.members.discard(user_id)  # unbanning a member removes them, as Telegram does
        chat.banned.discard(user_id)
        return True

    # -- playing users ----------------------------------------------------------------------

    def join_request(self, chat_id: int, user_id: int, link: str) -> dict[str, Any]:
        """A user opens a join-request link: the update Telegram sends the bot."""
        chat = self.chats[chat_id]
        chat.requests.add(user_id)
        return {
            "chat_join_request": {
                "chat": {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"},
                "from": self._user(user_id),
                "user_chat_id": user_id,
                "date": 1,
                "invite_link": chat.links[link],
            }
        }

    def restricted(self, chat_id: int, user_id: int, *, is_member: bool) -> dict[str, Any]:
        """An administrator restricts a user (ChatMemberRestricted): still in the chat with
        `is_member` true; with it false, one who had left, or left while restricted."""
        chat = self.chats[chat_id]
        old = "member" if user_id in chat.members else "left"
        (chat.members.add if is_member else chat.members.discard)(user_id)
        rights = dict.fromkeys(_RESTRICTED_RIGHTS, False)
        new = {"status": "restricted", "user": self._user(user_id), "is_member": is_member}
        return {
            "chat_member": {
                "chat": {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"},
                "from": self._user(1),
                "date": 1,
                "old_chat_member": {"status": old, "user": self._user(user_id)},
                "new_chat_member": {**new, **rights, "until_date": 0},
            }
        }

    def joined(self, chat_id: int, user_id: int, *, link: str | None = None) -> dict[str, Any]:
        """A user becomes a member (through `link`, or added by someone): chat_member."""
        chat = self.chats[chat_id]
        chat.members.add(user_id)
        update: dict[str, Any] = {
            "chat": {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"},
            "from": self._user(user_id),
            "date": 1,
            "old_chat_member": {"status": "left", "user": self._user(user_id)},
            "new_chat_member": {"status": "member", "user": self._user(user_id)},
        }
        if link is not None:
            update["invite_link"] = chat.links[link]
        return {"chat_member": update}
