"""Each user's access, read from memory: the Mini App's hottest check (every /api/v1/feed
and signal view asks it).

The rows are invalidated by `bot.transactions.commit_events` the moment an entitlement write
commits in this process (bot/accounts/entitlement_writes.py marks every one) and, on
PostgreSQL, in every other process through the change feed; the short TTL only bounds
staleness should a notice be lost. The decision is still entitlement_grants_access's rule
at `now`, so an expiry takes effect to the second.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select

from bot.accounts.access import entitlement_grants_access
from bot.core import metrics
from bot.transactions import commit_events
from bot.transactions.unit_of_work import UnitOfWork
from db.models import Entitlement

# Bound once: a labelled child's inc() is all the hot path pays.
_ACCESS_HIT = metrics.CACHE.labels("access", "hit")
_ACCESS_MISS = metrics.CACHE.labels("access", "miss")
ACCESS_TTL_SECONDS = 5.0
MAX_USERS = 100_000


class _Row(NamedTuple):
    source: str
    status: str
    expires_at: datetime | None
    grace_until: datetime | None


class AccessCache:
    """Each user's entitlement rows; the decision is still has_access's rule at `now`, so an
    expiry takes effect to the second."""

    def __init__(self, ttl: float = ACCESS_TTL_SECONDS) -> None:
        self._ttl = ttl
        self._rows: dict[int, tuple[int, float, list[_Row]]] = {}

    async def has_access(self, uow: UnitOfWork, user_id: int, now: datetime) -> bool:
        clock = time.monotonic()
        current = commit_events.version(commit_events.ENTITLEMENTS)
        cached = self._rows.get(user_id)
        if cached is None or cached[0] != current or clock - cached[1] >= self._ttl:
            _ACCESS_MISS.inc()
            async with uow.reading() as session:
                result = await session.execute(
                    select(
                        Entitlement.source,
                        Entitlement.status,
                        Entitlement.expires_at,
                        Entitlement.grace_until,
                    ).where(Entitlement.user_id == user_id)
                )
                rows = [_Row(r.source, r.status, r.expires_at, r.grace_until) for r in result]
            if len(self._rows) >= MAX_USERS:
                self._rows.clear()
            cached = (current, clock, rows)
            self._rows[user_id] = cached
        else:
            _ACCESS_HIT.inc()
        return any(entitlement_grants_access(row, now) for row in cached[2])
