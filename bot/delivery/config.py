"""The delivery worker's settings and defaults, one object (bot/chat/sender.py fills it from
the settings; tests and benchmarks from their own needs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.core.clock import Clock
from bot.core.languages import ENGLISH
from bot.delivery.adaptive import START as START_RATE
from bot.delivery.adaptive import AdaptiveRate
from bot.delivery.lanes import LaneConfig
from bot.delivery.pacing import SendPacer

LEASE = timedelta(seconds=60)
# A send may start only while the lease outlasts its timeout by this much.
LEASE_MARGIN = timedelta(seconds=5)
RECLAIM_QUIET = timedelta(seconds=10)
BATCH = 500
CONCURRENCY = 16  # sends in flight
# Paid sends in flight, beside those: 1,000 a second over a 50 ms round trip (and each
# send's wait for its record) needs about fifty; at most this many can go twice at a kill.
PAID_CONCURRENCY = 64
CLAIM_WINDOW_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """How one delivery worker sends: its rate (`auto` learns Telegram's), the language of
    recipients who chose none, Telegram's paid lane beside it (PAID_BROADCAST and its
    budget: bot.delivery.lanes), and its limits."""

    rate: float | Literal["auto"]
    default_language: str = ENGLISH
    lanes: LaneConfig = LaneConfig()
    send_timeout: int = 15  # seconds a sendMessage may take
    concurrency: int = CONCURRENCY  # sends in flight at once
    paid_concurrency: int = PAID_CONCURRENCY  # paid sends in flight at once, beside them
    batch: int = BATCH  # rows claimed at most per pass (fewer at a low rate: claim_size)
    lease: timedelta = LEASE  # how long claimed rows are this worker's

    @property
    def effective_send_timeout(self) -> int:
        """A send must fit in the lease with room to spare (the worker's _why_not_send); a
        short lease (the benchmark's crash variant) gets a short timeout."""
        return max(1, min(self.send_timeout, int(self.lease.total_seconds() / 2)))

    @property
    def lease_margin(self) -> float:
        return min(LEASE_MARGIN, self.lease / 10).total_seconds()

    @property
    def reclaim_quiet(self) -> timedelta:
        return min(RECLAIM_QUIET, self.lease / 2)

    def claim_size(self, rate: float) -> int:
        """About CLAIM_WINDOW's worth of sends at the rate. A claim is one transaction on the
        database's (on SQLite: the only) connection, which the webhooks wait for: 500 rows
        held it ~70 ms, the webhook bench's whole p99 tail."""
        return max(1, min(self.batch, int(rate * CLAIM_WINDOW_SECONDS)))

    def pacer(self, clock: Clock) -> SendPacer:
        """The free rate's budget: learnt from Telegram's answers (`auto`), or fixed (the
        paid lane has a pacer of its own: bot.delivery.lanes)."""
        rate = self.rate
        if rate == "auto":
            return SendPacer(START_RATE, clock.monotonic, clock.sleep, adaptive=AdaptiveRate())
        return SendPacer(rate, clock.monotonic, clock.sleep)
