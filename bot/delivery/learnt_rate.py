"""The send rate Telegram was found to allow, kept in the database for the next sender.

DELIVERY_RATE=auto finds Telegram's limit with 429s (bot.delivery.adaptive). One process
at a time sends (bot.delivery.turn): when another takes the turn, or the bot starts again,
it recalls what was learnt and starts just under it, so the bot finds the limit once, not
once per hand-over or restart. A lesson older than FORGET_AFTER is not recalled: the
limit may have changed, and a fresh start finds it again within seconds.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Insert, Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.pacing import SendPacer
from db.engine import upsert_on
from db.models import LearntRate

log = logging.getLogger(__name__)

NAME = "telegram_sends"
FORGET_AFTER = timedelta(days=1)

_TABLE = cast(Table, LearntRate.__table__)


@functools.cache
def _save(dialect: str) -> Insert:
    # Built at the first lesson, for this database only: the worker loads no other dialect.
    return upsert_on(dialect, _TABLE, _TABLE.c.name, update=["ceiling", "learnt_at"])


async def recall(sessions: async_sessionmaker[AsyncSession], now: datetime) -> float | None:
    """The ceiling learnt within FORGET_AFTER of `now`, if any."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(_TABLE.c.ceiling, _TABLE.c.learnt_at).where(_TABLE.c.name == NAME)
            )
        ).first()
    if row is None or now - row.learnt_at > FORGET_AFTER:
        return None
    return float(row.ceiling)


async def remember(
    sessions: async_sessionmaker[AsyncSession], ceiling: float, now: datetime
) -> None:
    """Keep `ceiling` as what was learnt at `now` (replacing any earlier lesson)."""
    async with sessions() as session, session.begin():
        connection = await session.connection()
        await connection.execute(
            _save(connection.dialect.name), {"name": NAME, "ceiling": ceiling, "learnt_at": now}
        )


class Memory:
    """The `auto` rate's memory for one worker: it begins from the ceiling learnt before (by
    this process or another) and keeps each new lesson, one write per lesson."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        pacer: SendPacer,
        now: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._pacer = pacer
        self._now = now
        self._due = True  # recall before the first batch
        self._remembered: float | None = None  # the ceiling last kept in the database

    def recall_again(self) -> None:
        """Recall before the next batch (this worker stood by while another sent)."""
        self._due = True

    async def recall_if_due(self) -> None:
        if not self._due:
            return
        self._due = False
        if not self._pacer.learns:
            return
        ceiling = await recall(self._sessions, self._now())
        if ceiling is not None and ceiling != self._pacer.learnt:
            self._pacer.resume(ceiling)
            log.info(
                "delivery: Telegram allowed %.1f messages a second before; starting at %.1f",
                ceiling,
                self._pacer.rate,
            )
        self._remembered = self._pacer.learnt

    async def remember(self) -> None:
        """Keep a newly learnt ceiling for the next sender."""
        learnt = self._pacer.learnt
        if learnt is None or learnt == self._remembered:
            return
        await remember(self._sessions, learnt, self._now())
        self._remembered = learnt
