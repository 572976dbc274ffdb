"""How far each broadcast has got: its rows counted by status (the admins' progress
messages, bot.chat.progress_reports, and the Mini App show it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

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
    # When the latest of its messages went out (None before any did): with the signal's
    # publishing time, how long the broadcast took to reach its last subscriber.
    last_sent_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.pending == 0


async def counts_for(session: AsyncSession, broadcast_ids: list[int]) -> dict[int, Counts]:
    rows = await session.execute(
        select(
            OutboxMessage.broadcast_id,
            OutboxMessage.status,
            func.count(),
            func.max(OutboxMessage.sent_at),
        )
        .where(OutboxMessage.broadcast_id.in_(broadcast_ids))
        .group_by(OutboxMessage.broadcast_id, OutboxMessage.status)
    )
    tally: dict[int, dict[str, int]] = {bid: {} for bid in broadcast_ids}
    last_sent: dict[int, datetime] = {}
    for broadcast_id, status, number, latest in rows:
        if broadcast_id is not None:
            tally[broadcast_id][status] = number
            if status == OutboxStatus.SENT and latest is not None:
                last_sent[broadcast_id] = latest
    return {
        bid: Counts(
            total=sum(by_status.values()),
            sent=by_status.get(OutboxStatus.SENT, 0),
            pending=by_status.get(OutboxStatus.PENDING, 0),
            failed=by_status.get(OutboxStatus.FAILED, 0),
            blocked=by_status.get(OutboxStatus.BLOCKED, 0),
            skipped=by_status.get(OutboxStatus.SKIPPED, 0),
            last_sent_at=last_sent.get(bid),
        )
        for bid, by_status in tally.items()
    }
