"""In-memory caches for the hottest Mini App read, the signal feed.

Both are invalidated by `bot.transactions.commit_events` the moment a change commits in this
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

from bot.accounts.access import entitlement_grants_access
from bot.core import metrics
from bot.transactions import commit_events
from bot.transactions.unit_of_work import UnitOfWork
from db.models import Entitlement

# Bound once: a labelled child's inc() is all the feed's path pays.
_FEED_HIT, _FEED_MISS = metrics.CACHE.labels("feed", "hit"), metrics.CACHE.labels("feed", "miss")
_ACCESS_HIT = metrics.CACHE.labels("access", "hit")
_ACCESS_MISS = metrics.CACHE.labels("access", "miss")
FEED_TTL_SECONDS = 2.0
ACCESS_TTL_SECONDS = 5.0
MAX_USERS = 100_000


class _Rendered(NamedTuple):
    body: bytes
    version: int
    at: float


class FeedCache:
    """The rendered feed body, shared by every subscriber who reads its language (the
    statuses in it are words); one request per language reloads it at a time."""

    def __init__(self, ttl: float = FEED_TTL_SECONDS) -> None:
        self._ttl = ttl
        self._bodies: dict[str, _Rendered] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _fresh(self, language: str) -> bytes | None:
        rendered = self._bodies.get(language)
        if (
            rendered is not None
            and rendered.version == commit_events.version(commit_events.FEED)
            and time.monotonic() - rendered.at < self._ttl
        ):
            return rendered.body
        return None

    async def get(self, load: Callable[[], Awaitable[bytes]], language: str) -> bytes:
        body = self._fresh(language)
        if body is not None:
            _FEED_HIT.inc()
            return body
        lock = self._locks.setdefault(language, asyncio.Lock())
        async with lock:  # single flight: the others wait for this one load
            body = self._fresh(language)
            if body is not None:
                return body
            # Read the version before loading: a change committed meanwhile forces a reload.
            version, at = commit_events.version(commit_events.FEED), time.monotonic()
            _FEED_MISS.inc()
            body = await load()
            self._bodies[language] = _Rendered(body, version, at)
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
