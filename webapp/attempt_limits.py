"""The initData exchange's rate limit, one bucket per client address for every instance.

On PostgreSQL the buckets are rows (attempt_buckets), taken in one statement: an INSERT ..
ON CONFLICT DO UPDATE that refills the bucket for the time since its last attempt and takes
a token, and updates nothing (returns no row) when there is no token to take; so two
instances behind a load balancer share one budget per address, atomically. On SQLite
(one process) the buckets are in memory (webapp/miniapp_auth.AttemptLimiter).
"""

from __future__ import annotations

import random
from typing import Protocol

from sqlalchemy import text

from bot.unit_of_work import UnitOfWork
from webapp.miniapp_auth import AttemptLimiter

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
