"""The admins' signal cards: each published signal with its delivery report.

A report is the outbox rows of the signal's own broadcast (not its follow-ups'): how many
went out, failed, or met a user who blocked the bot, and how long it took from Send (the
moment it was published) to the last subscriber who got it. The signals module owns the
signal, the delivery module the counts; this floor reads both.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.broadcast_counts import Counts, counts_for
from bot.notices.kinds import NoticeKind
from bot.signals import service as signals
from db.models import Broadcast, Signal

RECENT = 20  # the cards the composer lists


@dataclass(frozen=True, slots=True)
class SignalReport:
    """A published signal and how its delivery went."""

    signal: Signal
    broadcast_id: int | None
    counts: Counts

    @property
    def seconds(self) -> float | None:
        """From Send to the last subscriber who got it so far (None before anyone did)."""
        published, last = self.signal.published_at, self.counts.last_sent_at
        if published is None or last is None:
            return None
        # The worker's clock and the publisher's are the same wall clock in different
        # processes: a send recorded a hair "before" the publish is no negative time.
        return max(0.0, (last - published).total_seconds())


async def recent(session: AsyncSession, limit: int = RECENT) -> list[SignalReport]:
    """The newest published signals, newest first, each with its report."""
    return await _reports(session, await signals.latest(session, limit=limit))


async def one(session: AsyncSession, signal_id: int) -> SignalReport | None:
    """One published signal's report; None for a draft or no such signal."""
    signal = await session.get(Signal, signal_id)
    if signal is None or signal.published_at is None:
        return None
    (report,) = await _reports(session, [signal])
    return report


async def _reports(session: AsyncSession, published: list[Signal]) -> list[SignalReport]:
    if not published:
        return []
    rows = await session.execute(
        select(Broadcast.signal_id, Broadcast.id).where(
            Broadcast.signal_id.in_([s.id for s in published]),
            Broadcast.kind == NoticeKind.SIGNAL,
        )
    )
    broadcasts = {signal_id: broadcast_id for signal_id, broadcast_id in rows}
    counts = await counts_for(session, list(broadcasts.values()))
    return [
        SignalReport(
            signal=s,
            broadcast_id=broadcasts.get(s.id),
            counts=counts.get(broadcasts.get(s.id, 0), Counts(total=0)),
        )
        for s in published
    ]
