"""A clock for tests that skips ahead instead of waiting: real time plus a growing offset.

Sleeping on it adds to the offset and returns at once; the offset only grows, so the
clock never runs behind the real one that the rest of the app (and SQLite's defaults) use.
jump() moves the wall clock alone, either way, as an operator or a broken NTP does.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class SkippingClock:
    def __init__(self) -> None:
        self.offset = 0.0
        self.jumped = 0.0  # the wall clock's own move (jump), not the monotonic one's

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset + self.jumped)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.skip(seconds)
        await asyncio.sleep(0)

    def skip(self, seconds: float) -> None:
        self.offset += max(0.0, seconds)

    def jump(self, seconds: float) -> None:
        """The wall clock is set `seconds` ahead (or back, negative); time itself (the
        monotonic clock) does not move."""
        self.jumped += seconds
