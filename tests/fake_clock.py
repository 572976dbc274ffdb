"""A clock for tests that skips ahead instead of waiting: real time plus a growing offset.

Sleeping on it adds to the offset and returns at once; the offset only grows, so the
clock never runs behind the real one that the rest of the app (and SQLite's defaults) use.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class SkippingClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.skip(seconds)
        await asyncio.sleep(0)

    def skip(self, seconds: float) -> None:
        self.offset += max(0.0, seconds)
