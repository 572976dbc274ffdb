"""The in-memory cache of the hottest Mini App read, the rendered signal feed.

It is invalidated by `bot.transactions.commit_events` the moment a change commits in this
process, so it is never staler than the database for a single-process deployment; the
short TTL only bounds staleness when several processes share one PostgreSQL database
(where the change feed brings other processes' commits within milliseconds anyway). The
access cache beside it is the accounts' (bot/accounts/access_cache.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from bot.core import metrics
from bot.transactions import commit_events

# Bound once: a labelled child's inc() is all the feed's path pays.
_FEED_HIT, _FEED_MISS = metrics.CACHE.labels("feed", "hit"), metrics.CACHE.labels("feed", "miss")
FEED_TTL_SECONDS = 2.0


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
