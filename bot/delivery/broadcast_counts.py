"""How far each broadcast has got: its rows counted by status (the admins' progress
messages, bot.chat.progress_reports, and the Mini App show it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Counts:
    total: int
    sent: int = 0
    pending: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0

    @property
    def done(self) -> bool:
        return self.pending == 0


async def counts_for(session: AsyncSession, broadcast_ids: list[int]) -> dict[int, Counts]:
    rows = await session.execute(
        select(OutboxMessage.broadcast_id, OutboxMessage.status, func.count())
        .where(OutboxMessage.broadcast_id.in_(broadcast_ids))
        .group_by(OutboxMessage.broadcast_id, OutboxMessage.status)
    )
    tally: dict[int, dict[str, int]] = {bid: {} for bid in broadcast_ids}
    for broadcast_id, status, number in rows:
        if broadcast_id is not None:
            tally[broadcast_id][status] = number
    return {
        bid: Counts(
            total=sum(by_status.values()),
            sent=by_status.get(OutboxStatus.SENT, 0),
            pending=by_status.get(OutboxStatus.PENDING, 0),
            failed=by_status.get(OutboxStatus.FAILED, 0),
            blocked=by_status.get(OutboxStatus.BLOCKED, 0),
            skipped=by_status.get(OutboxStatus.SKIPPED, 0),
        )
        for bid, by_status in tally.items()
    }
