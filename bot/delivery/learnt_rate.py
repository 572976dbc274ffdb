"""The send rate Telegram was found to allow, kept in the database for the next sender.

DELIVERY_RATE=auto finds Telegram's limit with 429s (bot.delivery.adaptive). One process
at a time sends (bot.delivery.turn): when another takes the turn, or the bot starts again,
it recalls what was learnt and starts just under it, so the bot finds the limit once, not
once per hand-over or restart. A lesson older than FORGET_AFTER is not recalled: the
limit may have changed, and a fresh start finds it again within seconds.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Insert, Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import upsert_on
from db.models import LearntRate

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
