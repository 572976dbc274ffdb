"""Claiming due outbox rows under a lease, and giving back the ones a worker will not send.

A claim is committed before anything is sent: a worker that dies leaves its rows to be
claimed again once the lease has run out, so nothing is lost. On PostgreSQL several
workers claim at once and each takes different rows (FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import outcomes
from db.models import OutboxMessage, OutboxStatus, Priority

# A claim with paid-lane rows (half a second of them at 1,000 a second) keeps only this
# many others: half a second at the free rate, so neither lane waits for the other's batch.
FREE_BESIDE_PAID = 15


@dataclass(frozen=True, slots=True)
class Claim:
    rows: list[OutboxMessage]
    lease_until: datetime  # as written on the rows: the outcome writes check it
    deadline: float  # the claimer's monotonic clock when the lease runs out


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    reclaim: bool,
    monotonic: float,
    fast: int = 0,
) -> Claim | None:
    """Up to `limit` due rows, leased until now + `lease`; with `reclaim`, also rows whose
    lease ran out (a worker died holding them). `monotonic` is the claimer's clock now.
    With `fast`, up to that many rows that may take the paid lane too (Priority.FAST,
    claimed first): then only as many others as go out at the free rate while they do."""
    free: ColumnElement[bool] = OutboxMessage.lease_until.is_(None)
    if reclaim:
        free = or_(free, OutboxMessage.lease_until < now)
    due = await session.execute(
        select(OutboxMessage.id, OutboxMessage.priority)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            free,
        )
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(limit + fast)
        .with_for_update(skip_locked=True)
    )
    ids = kept([(row_id, priority) for row_id, priority in due], limit, fast)
    if not ids:
        return None
    lease_until = now + lease
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(lease_until=lease_until)
    )
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.priority, OutboxMessage.id)
    )
    return Claim(list(rows), lease_until, monotonic + lease.total_seconds())


def kept(due: list[tuple[int, int]], limit: int, fast: int) -> list[int]:
    """The ids a claim keeps of the due (id, priority) pairs: up to `fast` paid-lane rows,
    and beside any of them only FREE_BESIDE_PAID others (what the free rate sends while
    the paid lane sends a full claim), else up to `limit`."""
    paid = [row_id for row_id, priority in due if priority == Priority.FAST][:fast]
    others_limit = min(limit, FREE_BESIDE_PAID) if paid else limit
    others = [row_id for row_id, priority in due if priority != Priority.FAST or not fast]
    return paid + others[:others_limit]


async def originals(
    session: AsyncSession, rows: list[OutboxMessage]
) -> dict[int, tuple[str, int | None]]:
    """Outbox row id -> (status, Telegram message id) of the rows follow-ups reply to."""
    ids = [row.reply_to_outbox_id for row in rows if row.reply_to_outbox_id is not None]
    if not ids:
        return {}
    result = await session.execute(
        select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.telegram_message_id).where(
            OutboxMessage.id.in_(ids)
        )
    )
    return {row.id: (row.status, row.telegram_message_id) for row in result}


def give_back(claim: Claim, rows: list[OutboxMessage], at: datetime) -> list[outcomes.Write]:
    """Release `rows` of the claim, due again at `at` (a pause's end, or at once)."""
    return [w for row in rows for w in outcomes.released(row.id, claim.lease_until, at)]
