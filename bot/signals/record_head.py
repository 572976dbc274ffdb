"""The verifiable record's head, posted once a day (UTC) to a chat of the provider's: the
signal channel (SIGNAL_CHAT_ID).

A post in a channel is a copy of the head the provider cannot quietly take back, with a
time Telegram sets: a later copy of the record that does not hold that entry with that
hash was rewritten (`python -m bot verify-record URL --head SEQ:HASH` checks it). Posted
every day, even when nothing was added, so an entry cannot be slipped in later with a
time before a day whose post did not have it.

The composition root schedules it where there is such a chat:
`Job(JOB, EVERY, daily(UnitOfWork(sessions), chat_id, url=...))`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.notices.params import RecordHead as HeadParams
from bot.transactions.unit_of_work import UnitOfWork
from db.engine import insert_ignoring_conflicts
from db.models import RecordEntry, RecordHead

JOB = "record-head"
# Looked at hourly, posted once a day: the first run of a new UTC day posts, a few minutes
# after midnight rather than at whatever hour the job first ran.
EVERY = timedelta(hours=1)
_HEADS = cast(Table, RecordHead.__table__)
_INSERT_HEAD = insert_ignoring_conflicts(_HEADS, _HEADS.c.day)


def daily(
    uow: UnitOfWork, chat_id: int, *, url: str | None = None
) -> Callable[[datetime], Awaitable[str]]:
    """The scheduler's job: post the head to `chat_id` once a day; `url` is where the
    record can be read (the public page), named in the post."""

    async def post(now: datetime) -> str:
        async with uow() as session:
            posted = await post_head(session, chat_id, now, url=url)
        return f"head {posted} posted" if posted else "nothing new to post today"

    return post


async def post_head(
    session: AsyncSession, chat_id: int, now: datetime, *, url: str | None = None
) -> int | None:
    """Queue today's head for `chat_id` in the caller's transaction, unless today's went
    already (the day is the key: a job run twice, or in two processes, posts once) or the
    chain is empty; the seq posted."""
    last = (
        await session.execute(
            select(RecordEntry.seq, RecordEntry.hash).order_by(RecordEntry.seq.desc()).limit(1)
        )
    ).first()
    if last is None:
        return None
    day = now.astimezone(UTC).date().isoformat()
    connection = await session.connection()
    claimed = await connection.execute(
        _INSERT_HEAD[connection.dialect.name],
        {"day": day, "seq": last.seq, "hash": last.hash, "chat_id": chat_id, "posted_at": now},
    )
    if claimed.rowcount != 1:
        return None
    count = await session.scalar(select(func.count()).select_from(RecordEntry))
    params: HeadParams = {
        "seq": last.seq,
        "hash": last.hash,
        "count": int(count or 0),
        "day": day,
        "url": url,
    }
    await outbox.enqueue(session, chat_id=chat_id, kind=NoticeKind.RECORD_HEAD, params=params)
    return int(last.seq)
