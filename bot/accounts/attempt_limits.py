"""Rate limits as token buckets, one per key, shared by every instance on PostgreSQL: the
Mini App's initData exchange (a key per client address) and the calls a user makes that reach
Stripe or make an invoice (a key per user, `pay:<id>`).

On PostgreSQL the buckets are rows (attempt_buckets), taken in one statement: an INSERT ..
ON CONFLICT DO UPDATE that refills the bucket for the time since its last attempt and takes
a token, and updates nothing (returns no row) when there is no token to take; so two
instances behind a load balancer share one budget per key, atomically. On SQLite
(one process) the buckets are in this process's memory (AttemptLimiter), as SQLite serves
one process.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import text

from bot.transactions.unit_of_work import UnitOfWork
from db.engine import is_sqlite

MAX_KEY = 128
PRUNE_ONE_IN = 500  # attempts; an idle bucket is full again, and its row can go

_TAKE = text(
    """
    INSERT INTO attempt_buckets (key, tokens, at) VALUES (:key, :burst - 1, now())
    ON CONFLICT (key) DO UPDATE
    SET tokens = LEAST(:burst, attempt_buckets.tokens
                 + EXTRACT(EPOCH FROM now() - attempt_buckets.at) * :rate) - 1,
        at = now()
    WHERE LEAST(:burst, attempt_buckets.tokens
          + EXTRACT(EPOCH FROM now() - attempt_buckets.at) * :rate) >= 1
    RETURNING tokens
    """
)
_PRUNE = text("DELETE FROM attempt_buckets WHERE at < now() - make_interval(secs => :full_after)")


class AttemptLimiter:
    """Token bucket per key (a client address, a user): `burst` at once, refilled at
    `per_second`."""

    def __init__(
        self, *, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst = burst
        self._rate = per_second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def hit(self, key: str) -> float:
        """0 when allowed; otherwise the seconds to wait before the next try."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (float(self._burst), now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self._rate
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > 50_000:  # forget idle clients so memory stays bounded
            cutoff = now - self._burst / self._rate
            self._buckets = {k: v for k, v in self._buckets.items() if v[1] > cutoff}
        return 0.0


class Limiter(Protocol):
    async def attempt(self, key: str) -> float:
        """0 when allowed; otherwise the seconds to wait before the next try."""
        ...


class LocalLimiter:
    """One process's buckets (SQLite deployments)."""

    def __init__(self, buckets: AttemptLimiter) -> None:
        self._buckets = buckets

    async def attempt(self, key: str) -> float:
        return self._buckets.hit(key)


class SharedLimiter:
    """Every instance's buckets, in PostgreSQL."""

    def __init__(self, uow: UnitOfWork, *, burst: int, per_second: float) -> None:
        self._uow = uow
        self._burst = burst
        self._rate = per_second

    async def attempt(self, key: str) -> float:
        params = {"key": key[:MAX_KEY], "burst": float(self._burst), "rate": self._rate}
        async with self._uow() as session:
            taken = (await session.execute(_TAKE, params)).first()
            if random.randrange(PRUNE_ONE_IN) == 0:  # noqa: S311 - not a secret
                await session.execute(_PRUNE, {"full_after": self._burst / self._rate})
        return 0.0 if taken is not None else 1 / self._rate


def limiter_for(database_url: str, uow: UnitOfWork, *, burst: int, per_second: float) -> Limiter:
    """Shared by every instance on PostgreSQL; in this process's memory on SQLite."""
    if is_sqlite(database_url):
        return LocalLimiter(AttemptLimiter(burst=burst, per_second=per_second))
    return SharedLimiter(uow, burst=burst, per_second=per_second)
