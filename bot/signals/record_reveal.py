"""The verifiable record's reveal after a delay (RECORD_REVEAL_HOURS): a signal's entry and
its updates' are revealed when it closes (bot/signals/record_store.py) or once that many
hours have passed since it was published, whichever comes first.

A scheduler job (`Job(JOB, EVERY, due(uow, hours))`, bot/app/jobs.py) reveals the entries
that came due. It is one conditional UPDATE (`revealed_at IS NULL`), so a job run twice, or
in two processes at once, reveals each entry once: on PostgreSQL the second statement waits
for the first's row locks and then finds those rows revealed. An update posted to a signal
revealed already is revealed with it (record_store.update_posted): the delay has passed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.signals.record_chain import SIGNAL
from bot.transactions.unit_of_work import UnitOfWork
from db.models import RecordEntry

JOB = "record-reveal"
EVERY = timedelta(minutes=1)  # an entry is revealed within a minute of coming due


async def reveal_due(session: AsyncSession, *, hours: int, now: datetime) -> int:
    """Reveal every sealed entry of a signal published `hours` or more before `now` (its
    signal entry's time), in the caller's transaction; how many were revealed."""
    published = select(RecordEntry.signal_id).where(
        RecordEntry.type == SIGNAL, RecordEntry.at <= now - timedelta(hours=hours)
    )
    result = await session.execute(
        update(RecordEntry)
        .where(RecordEntry.revealed_at.is_(None), RecordEntry.signal_id.in_(published))
        .values(revealed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def due(uow: UnitOfWork, hours: int) -> Callable[[datetime], Awaitable[str]]:
    """The scheduler's job: reveal what came due, in its own transaction."""

    async def run(now: datetime) -> str:
        async with uow() as session:
            revealed = await reveal_due(session, hours=hours, now=now)
        return f"{revealed} entries revealed after {hours} h" if revealed else "none due"

    return run
