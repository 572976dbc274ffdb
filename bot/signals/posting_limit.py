"""How many signals may go out in a minute (SIGNAL_STYLE=cornix: what auto-trading bots
take), counted across every process, publishes taken one at a time on PostgreSQL."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import DomainError
from db.models import Signal


class PostingLimitError(DomainError):
    """More signals in the last minute than auto-trading bots take (`signal.too_many`)."""


# The window of `per_minute` (Cornix takes up to 7 signals in one minute).
POSTING_WINDOW = timedelta(minutes=1)
# PostgreSQL: the transaction-scoped advisory lock that takes publishes one at a time, so
# two at once cannot both count six (any fixed 64-bit number no other lock in this
# database uses; bot/delivery/turn.py and bot/accounts/referrals.py have their own).
PUBLISH_LOCK_KEY = 0x5D_0DE3


async def one_at_a_time(session: AsyncSession) -> None:
    """Held to the commit, so two publishes at once cannot both count six. On SQLite the
    one writer already takes them in turn."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLISH_LOCK_KEY}
        )


async def check(session: AsyncSession, signal_id: int, now: datetime, limit: int) -> None:
    """Refuse a signal when `limit` others went out in the last minute, across every
    process; PostingLimitError says how long until one more may go."""
    recent = list(
        await session.scalars(
            select(Signal.published_at)
            .where(Signal.published_at > now - POSTING_WINDOW, Signal.id != signal_id)
            .order_by(Signal.published_at)
            .limit(limit)
        )
    )
    if len(recent) >= limit and recent[0] is not None:
        wait = recent[0] + POSTING_WINDOW - now
        seconds = max(1, math.ceil(wait.total_seconds()))
        raise PostingLimitError("signal.too_many", limit=limit, seconds=seconds)
