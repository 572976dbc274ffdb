"""In-memory caches for the hottest Mini App read, the signal feed.

Both are invalidated by `bot.commit_events` the moment a change commits in this
process, so they are never staler than the database for a single-process deployment; the
short TTLs only bound staleness when several processes share one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select

from bot import commit_events
from bot.access import entitlement_grants_access
from bot.unit_of_work import UnitOfWork
from db.models import Entitlement

FEED_TTL_SECONDS = 2.0
ACCESS_TTL_SECONDS = 5.0
MAX_USERS = 100_000


class FeedCache:
    """The rendered feed body, shared by every subscriber; one request reloads it at a time."""

    def __init__(self, ttl: float = FEED_TTL_SECONDS) -> None:
        self._ttl = ttl
        self._body: bytes | None = None
        self._version = -1
        self._at = 0.0
        self._lock = asyncio.Lock()

    def _fresh(self) -> bytes | None:
        if (
            self._version == commit_events.version(commit_events.FEED)
            and time.monotonic() - self._at < self._ttl
        ):
            return self._body
        return None

    async def get(self, load: Callable[[], Awaitable[bytes]]) -> bytes:
        body = self._fresh()
        if body is not None:
            return body
        async with self._lock:  # single flight: the others wait for this one load
            body = self._fresh()
            if body is not None:
                return body
            # Read the version before loading: a change committed meanwhile forces a reload.
            version, at = commit_events.version(commit_events.FEED), time.monotonic()
            body = await load()
            self._body, self._version, self._at = body, version, at
            return body


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
            async with uow() as session:
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
        return any(entitlement_grants_access(row, now) for row in cached[2])
