"""The signal channel's rights, asked of Telegram at start-up (SIGNAL_CHAT_ID): the bot must
be an administrator there that may post. A problem is one log line, an entry under
`signal_chat` in /readyz (the instance stays ready: the rest of the bot works) and a
message to the admins, at most once a day however often the bot starts."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from db.models import OutboxMessage

log = logging.getLogger(__name__)
TELL_ADMINS_EVERY = timedelta(days=1)


def missing_rights(member: Mapping[str, Any]) -> list[str]:
    """What the bot lacks to post, from its own getChatMember: nothing as the creator; an
    administrator of a channel needs can_post_messages (Telegram names it for channels
    only; an administrator of a supergroup may always send); anyone else is not one."""
    status = member.get("status")
    if status == "creator":
        return []
    if status != "administrator":
        return ["administrator"]
    return ["can_post_messages"] if member.get("can_post_messages") is False else []


class SignalChat:
    """SIGNAL_CHAT_ID as Telegram sees it; `problems` is what /readyz shows."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        chat_id: int | None,
        admin_ids: Sequence[int],
    ) -> None:
        self._bot = bot
        self._sessions = session_factory
        self.chat_id = chat_id
        self._admin_ids = list(admin_ids)
        self.problems: dict[int, str] = {}  # chat -> what the bot lacks there

    @property
    def enabled(self) -> bool:
        return self.chat_id is not None

    async def check_rights(self, now: datetime) -> dict[int, str]:
        """At start-up: whether the bot may post in the channel; a problem is logged, kept
        for /readyz and told to the admins."""
        self.problems = {}
        if self.chat_id is None:
            return {}
        missing, theirs = await self._missing(self.chat_id)
        if missing:
            problem = "missing: " + ", ".join(missing)
            self.problems[self.chat_id] = problem
            log.warning("signal chat %s: the bot lacks %s", self.chat_id, ", ".join(missing))
            if theirs:
                await self._tell_admins(problem, now)
        return self.problems

    async def _missing(self, chat_id: int) -> tuple[list[str], bool]:
        """What the bot lacks in the chat, and whether the admins can do something about it."""
        try:
            member = await self._bot.get_chat_member(chat_id, self._bot.id)
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as error:
            # Telegram's trouble, not the channel's: nothing for the admins to fix.
            return [f"rights unknown, Telegram unavailable ({type(error).__name__})"], False
        except TelegramAPIError as error:
            return [f"chat unreachable ({type(error).__name__})"], True
        except AiogramError as error:
            # An answer the library cannot parse (a member status newer than it): the
            # rights are unknown, which is no reason to stop the process.
            name = type(error).__name__
            return [f"rights unknown, Telegram's answer not understood ({name})"], True
        return missing_rights(member.model_dump()), True

    async def _tell_admins(self, problem: str, now: datetime) -> None:
        """A message to each admin, unless one went to them in the last day (several
        instances, or restarts, say the same thing once)."""
        params = {"chat_id": self.chat_id, "problem": problem}
        async with self._sessions() as session, session.begin():
            told = set(
                await session.scalars(
                    select(OutboxMessage.chat_id).where(
                        OutboxMessage.kind == NoticeKind.CHANNEL_PROBLEM,
                        OutboxMessage.chat_id.in_(self._admin_ids),
                        OutboxMessage.created_at >= now - TELL_ADMINS_EVERY,
                    )
                )
            )
            await outbox.enqueue_many(
                session,
                (
                    (admin, NoticeKind.CHANNEL_PROBLEM, params)
                    for admin in self._admin_ids
                    if admin not in told
                ),
            )
