"""Time, injected: the delivery worker (and, next, the scheduler) ask a Clock, so tests can
skip ahead instead of waiting in real time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall time, timezone-aware UTC (what goes in the database)."""
        ...

    def monotonic(self) -> float:
        """Seconds for intervals (per-chat spacing, leases, pauses)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
