"""What the public track record reads: every closed signal, how many are open, and the
updates of the newest closed ones (the page lists those; its figures count them all)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Signal, SignalUpdate


@dataclass(frozen=True)
class Closed:
    signals: list[Signal]  # every published, closed signal, oldest close first
    open_count: int
    updates: dict[int, list[SignalUpdate]] = field(default_factory=dict)  # of the shown ones


async def load(session: AsyncSession, *, shown: int) -> Closed:
    """The closed signals, the open count, and the updates of the `shown` newest closed."""
    closed = list(
        await session.scalars(
            select(Signal)
            .where(Signal.published_at.is_not(None), Signal.closed_at.is_not(None))
            .order_by(Signal.closed_at, Signal.id)
        )
    )
    open_count = await session.scalar(
        select(func.count()).where(Signal.published_at.is_not(None), Signal.closed_at.is_(None))
    )
    shown_ids = [row.id for row in closed[-shown:]]
    updates: defaultdict[int, list[SignalUpdate]] = defaultdict(list)
    if shown_ids:
        for update in await session.scalars(
            select(SignalUpdate)
            .where(SignalUpdate.signal_id.in_(shown_ids))
            .order_by(SignalUpdate.created_at, SignalUpdate.id)
        ):
            updates[update.signal_id].append(update)
    return Closed(closed, int(open_count or 0), updates)
