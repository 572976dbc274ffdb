"""How far each broadcast has got: its rows counted by status, those sent on the paid lane,
and when the last one went (the admins' progress messages, bot.chat.progress_reports, and
the Mini App show it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

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
    paid: int = 0  # sent on the paid lane (allow_paid_broadcast)
    last_sent_at: datetime | None = None  # when Telegram took the last one sent

    @property
    def done(self) -> bool:
        return self.pending == 0

    def seconds_to_last(self, started: datetime) -> float | None:
        """From Send (`started`, the broadcast's creation) to the last subscriber, once
        every row is done and one was sent."""
        if not self.done or self.last_sent_at is None:
            return None
        return max(0.0, (self.last_sent_at - started).total_seconds())


async def counts_for(session: AsyncSession, broadcast_ids: list[int]) -> dict[int, Counts]:
    rows = await session.execute(
        select(
            OutboxMessage.broadcast_id,
            OutboxMessage.status,
            func.count(),
            func.count(OutboxMessage.paid),  # paid is true or null
            func.max(OutboxMessage.sent_at),
        )
        .where(OutboxMessage.broadcast_id.in_(broadcast_ids))
        .group_by(OutboxMessage.broadcast_id, OutboxMessage.status)
    )
    tally: dict[int, dict[str, int]] = {bid: {} for bid in broadcast_ids}
    paid: dict[int, int] = dict.fromkeys(broadcast_ids, 0)
    last: dict[int, datetime | None] = dict.fromkeys(broadcast_ids)
    for broadcast_id, status, number, paid_number, last_sent in rows:
        if broadcast_id is None:
            continue
        tally[broadcast_id][status] = number
        if status == OutboxStatus.SENT:
            paid[broadcast_id], last[broadcast_id] = paid_number, _aware(last_sent)
    return {
        bid: Counts(
            total=sum(by_status.values()),
            sent=by_status.get(OutboxStatus.SENT, 0),
            pending=by_status.get(OutboxStatus.PENDING, 0),
            failed=by_status.get(OutboxStatus.FAILED, 0),
            blocked=by_status.get(OutboxStatus.BLOCKED, 0),
            skipped=by_status.get(OutboxStatus.SKIPPED, 0),
            paid=paid[bid],
            last_sent_at=last[bid],
        )
        for bid, by_status in tally.items()
    }


def _aware(moment: datetime | str | None) -> datetime | None:
    """max() of a UTCDateTime column comes back without its type: SQLite's text, naive."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
