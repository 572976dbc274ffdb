"""What the subscription lifecycle's tests share: two users, the moment the suite started,
and a fixed clock that stands still until the test moves it (test_dunning.py uses it too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

ANN = 6_100_001
BOB = 6_100_002
REAL_NOW = datetime.now(UTC).replace(microsecond=0)


class FixedClock:
    """Stands still until the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()

    async def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
