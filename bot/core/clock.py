"""Time, injected: the delivery worker (and, next, the scheduler) ask a Clock, so tests can
skip ahead instead of waiting in real time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

# How far a wall clock may be stepped (NTP's steps are far smaller) before it counts as
# moved: the scheduler says so, and the mass-action brake holds even one removal or expiry
# until the clock is back or an admin confirms (bot/lifecycle/brake.py).
CLOCK_SLACK = timedelta(minutes=5)


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall time, timezone-aware UTC (what goes in the database)."""
        ...

    def monotonic(self) -> float:
        """Seconds for intervals (per-chat spacing, leases, pauses)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


# Linux's CLOCK_MONOTONIC stops while the machine is suspended (a paused VM, a laptop), so
# after a resume the wall clock would look as if it had jumped ahead of it and the
# scheduler would hold every removal (lifecycle/brake.py). CLOCK_BOOTTIME counts the
# suspension too; elsewhere time.monotonic is what there is.
_ELAPSED = getattr(time, "CLOCK_BOOTTIME", None)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.clock_gettime(_ELAPSED) if _ELAPSED is not None else time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
