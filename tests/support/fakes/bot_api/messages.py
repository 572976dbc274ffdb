"""Messages and the bot itself: sendMessage with Telegram's checks on a text, editMessageText,
the other send* methods (a message id, no record), getMe, and the command menus."""

from __future__ import annotations

import html
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from tests.support.fakes.stars import FakeBadRequest

# Telegram: "1-4096 characters after entities parsing".
MAX_TEXT_LENGTH: Final = 4096

BOT_FIRST_NAME: Final = "SignalDesk Test"
BOT_USERNAME: Final = "signaldesk_test_bot"


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A sendMessage call that the fake accepted and assigned a message_id to."""

    chat_id: int | str
    text: str
    message_id: int
    params: dict[str, Any]


_TEXT_METHODS: Final = frozenset({"sendMessage", "editMessageText"})
_TAG = re.compile(r"<[^>]*>")


def _text_problem(params: dict[str, Any]) -> str | None:
    """Telegram's checks on a message text: not empty, and at most 4096 characters (UTF-16
    code units) after HTML entities are parsed."""
    text = str(params.get("text", ""))
    if params.get("parse_mode") == "HTML":
        text = html.unescape(_TAG.sub("", text))
    length = len(text.encode("utf-16-le")) // 2
    if not text.strip():
        return "Bad Request: message text is empty"
    if length > MAX_TEXT_LENGTH:
        return "Bad Request: message is too long"
    return None


def _chat_type(chat_id: int | str) -> str:
    if isinstance(chat_id, str):
        return "channel"
    return "private" if chat_id > 0 else "supergroup"


class Messages:
    """FakeBotAPI's messages, its own user and its command menus."""

    # FakeBotAPI's state (server.py), which its __init__ sets up.
    menus: dict[str, list[dict[str, str]]]
    _bot_users: dict[str, dict[str, Any]]
    _next_message_id: dict[int | str, int]
    _sent: list[SentMessage]
    _sent_by_chat: dict[int | str, list[SentMessage]]
    _on_send: list[tuple[int, Callable[[], None]]]
    _group_windows: dict[int | str, deque[float]]
    monotonic: Callable[[], float]

    def _set_my_commands(self, _token: str, params: dict[str, Any]) -> bool:
        """As Telegram checks them: at most 100 commands, names of 1-32 of a-z, 0-9 and _,
        descriptions of 1-256 characters, and a two-letter ISO 639-1 language code."""
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise FakeBadRequest("invalid language code specified")
        if not isinstance(commands, list) or len(commands) > 100:
            raise FakeBadRequest("too many commands specified")
        for command in commands:
            name, text = command.get("command", ""), command.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise FakeBadRequest("BOT_COMMAND_INVALID")
            if not 1 <= len(text) <= 256:
                raise FakeBadRequest("BOT_COMMAND_DESCRIPTION_INVALID")
        self.menus[language] = commands
        return True

    def _get_my_commands(self, _token: str, params: dict[str, Any]) -> list[dict[str, str]]:
        return self.menus.get(params.get("language_code") or "", [])

    def _bot_user(self, token: str) -> dict[str, Any]:
        user = self._bot_users.get(token)
        if user is None:
            prefix = token.split(":", 1)[0]
            user = {
                "id": int(prefix) if prefix.isdigit() else 1,
                "is_bot": True,
                "first_name": BOT_FIRST_NAME,
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
            self._bot_users[token] = user
        return user

    def _message(
        self, token: str, chat_id: int | str, message_id: int, params: dict[str, Any]
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": _chat_type(chat_id)}
        if isinstance(chat_id, str):
            # Telegram answers with a numeric id; keep the username so tests can still match.
            chat = {"id": -1_000_000_000_001, "type": "channel", "username": chat_id.lstrip("@")}
        elif chat["type"] != "private":
            chat["title"] = "SignalDesk Test Chat"
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self._bot_user(token),
            "text": params.get("text", ""),
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            # Telegram only echoes inline keyboards on the returned Message.
            message["reply_markup"] = markup
        return message

    def _next_id(self, chat_id: int | str) -> int:
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        return message_id

    def _send_message(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id: int | str = params.get("chat_id", 0)
        if _chat_type(chat_id) != "private":  # a group's minute counts what it accepted
            self._group_windows.setdefault(chat_id, deque()).append(self.monotonic())
        message_id = self._next_id(chat_id)
        sent = SentMessage(chat_id, str(params.get("text", "")), message_id, params)
        self._sent.append(sent)
        per_chat = self._sent_by_chat.get(chat_id)
        if per_chat is None:
            per_chat = self._sent_by_chat[chat_id] = []
        per_chat.append(sent)
        for trigger in [t for t in self._on_send if t[0] == len(self._sent)]:
            self._on_send.remove(trigger)
            trigger[1]()
        return self._message(token, chat_id, message_id, params)

    def _send_other(
        self, token: str, name: str, params: dict[str, Any]
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """Media/other send*: consume a message_id but stay out of ``sent_messages``."""
        chat_id: int | str = params.get("chat_id", 0)
        message = self._message(token, chat_id, self._next_id(chat_id), params)
        del message["text"]
        if "caption" in params:
            message["caption"] = params["caption"]
        if name == "sendmediagroup":
            return [message]
        return message

    def _edit_message_text(self, token: str, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True  # Telegram returns True for inline messages
        message = self._message(
            token, params.get("chat_id", 0), int(params.get("message_id", 1)), params
        )
        message["edit_date"] = int(time.time())
        return message
