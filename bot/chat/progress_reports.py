"""Broadcast progress for admins: one message, edited as delivery goes, then a summary.

Run by the delivery worker that has the sending turn, between batches (one process edits:
several editing the same message could leave an older count showing last).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import AiogramError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import languages
from bot.core.languages import ENGLISH
from bot.delivery.broadcast_counts import counts_for
from bot.texts import CATALOGUE
from bot.texts import admin as texts
from db.models import Broadcast

log = logging.getLogger(__name__)


class ProgressReporter:
    """Edits each running broadcast's admin message at most every `interval` seconds."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        interval: float,
        default_language: str = ENGLISH,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._bot = bot
        self._session_factory = session_factory
        self._interval = interval
        self._now = now
        self._last = 0.0
        self._shown: dict[int, str] = {}
        self._default_language = default_language

    async def maybe_report(self) -> None:
        if time.monotonic() - self._last >= self._interval:
            await self.report()

    async def report(self) -> None:
        self._last = time.monotonic()
        now = self._now()
        to_show: list[tuple[int, int, int | None, str]] = []
        async with self._session_factory() as session, session.begin():
            running = list(
                await session.scalars(select(Broadcast).where(Broadcast.finished_at.is_(None)))
            )
            if not running:
                return
            counts = await counts_for(session, [b.id for b in running])
            admins = [b.admin_chat_id for b in running if b.admin_chat_id is not None]
            spoken = await languages.of_many(session, admins, self._default_language)
            for broadcast in running:
                tally = counts[broadcast.id]
                if tally.done:
                    broadcast.finished_at = now
                if broadcast.admin_chat_id is None:
                    continue
                elapsed = tally.seconds_to_last(broadcast.created_at)  # Send to the last one
                language = spoken.get(broadcast.admin_chat_id, self._default_language)
                with CATALOGUE.use_locale(language):  # the admin's, as the chat speaks to them
                    title = texts.broadcast_title(broadcast.kind, broadcast.title)
                    text = texts.progress(title, tally, elapsed)
                if self._shown.get(broadcast.id) != text:  # Telegram refuses a no-op edit
                    to_show.append(
                        (
                            broadcast.id,
                            broadcast.admin_chat_id,
                            broadcast.progress_message_id,
                            text,
                        )
                    )
        # Telegram calls happen after the commit: no transaction waits on the network.
        for broadcast_id, chat_id, message_id, shown in to_show:
            new_id = await self._show(chat_id, message_id, shown)
            self._shown[broadcast_id] = shown
            if new_id is not None:
                async with self._session_factory() as session, session.begin():
                    row = await session.get(Broadcast, broadcast_id)
                    if row is not None:
                        row.progress_message_id = new_id

    async def _show(self, chat_id: int, message_id: int | None, text: str) -> int | None:
        """Edit the progress message, or send one; returns a newly sent message's id."""
        try:
            if message_id is None:
                return (await self._bot.send_message(chat_id, text)).message_id
            await self._bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id)
        except AiogramError as error:
            # Progress is a courtesy; a failed edit (a 429, an error page, Telegram away)
            # must never stop delivery. The next report tries again.
            log.info("progress message in chat %s not updated: %s", chat_id, type(error).__name__)
        return None
