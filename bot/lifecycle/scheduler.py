"""Periodic jobs with their state in the database, run by one process at a time.

Each job has a row in scheduler_jobs: when it is due next and who holds it. A process
takes a due job with one conditional UPDATE (due, and no live lease): on PostgreSQL the
row lock makes exactly one of several processes win, on SQLite there is one writer
anyway. The lease (LEASE) outlives a crash by at most that long, after which another
process takes the job. A job that came due while every process was down runs once when
one comes back (the row says it is due; it is then set due again one interval later).
A wall clock moved back or forward stalls nothing (_claim).

A job must be safe to run twice (a crash between its work and the row's update runs it
again): the lifecycle jobs are, because each message they queue is keyed in the database.
No library does this: APScheduler 3 keeps no shared lock across processes (its own docs
say to run one scheduler), and APScheduler 4 is still pre-release; the table is 60 lines.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import metrics
from bot.core.clock import CLOCK_SLACK, Clock, SystemClock
from db.engine import insert_ignoring_conflicts
from db.models import SchedulerJob

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
POLL_SECONDS = 5.0
_JOBS = cast(Table, SchedulerJob.__table__)
_INSERT_JOB = insert_ignoring_conflicts(_JOBS, _JOBS.c.name)


@dataclass(frozen=True)
class Job:
    """A named periodic job: `run(now)` does the work and answers one line about it."""

    name: str
    every: timedelta
    run: Callable[[datetime], Awaitable[str]]
    # Longer than the job can take: while it runs, no other process takes it.
    lease: timedelta = LEASE
    # The first run after the job is first registered: a heavy job (reconciliation) should
    # not run in the minute a new deployment starts, competing with its first traffic.
    first_after: timedelta = timedelta(0)


def process_name() -> str:
    """Who holds a lease: host and pid, enough to find the process in a log."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class Scheduler:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        jobs: Sequence[Job],
        *,
        clock: Clock | None = None,
        owner: str | None = None,
        on_clock_move: Callable[[float], None] | None = None,
    ) -> None:
        self._sessions = session_factory
        self._jobs = list(jobs)
        self._clock = clock or SystemClock()
        self.owner = owner or process_name()
        self._stopping = asyncio.Event()
        self._clock_offset: float | None = None  # wall clock minus monotonic, last poll
        self._on_clock_move = on_clock_move  # told the seconds the wall clock moved

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Run due jobs until stop(); a database fault is logged and tried again later."""
        while not self._stopping.is_set():
            try:
                await self.run_due()
            except Exception as error:  # noqa: BLE001 - the loop must outlive any fault
                log.warning(
                    "scheduler: %s; trying again in %.0f s", type(error).__name__, POLL_SECONDS
                )
            try:
                await asyncio.wait_for(self._stopping.wait(), POLL_SECONDS)
            except TimeoutError:
                continue

    async def run_due(self) -> list[str]:
        """Run every job that is due now and not held elsewhere; the names of those run."""
        now = self._clock.now()
        self._notice_clock_move(now)
        await self._register(now)
        ran = []
        for job in self._jobs:
            if await self._claim(job, now):
                await self._run(job, now)
                ran.append(job.name)
        return ran

    def _notice_clock_move(self, now: datetime) -> None:
        """One warning when the wall clock moved apart from time itself (the monotonic
        clock) since the last poll: an operator's or a broken NTP's jump, which the jobs
        survive (_claim, brake.py) but someone should look into."""
        offset = now.timestamp() - self._clock.monotonic()
        last, self._clock_offset = self._clock_offset, offset
        if last is not None and abs(offset - last) > CLOCK_SLACK.total_seconds():
            log.warning(
                "scheduler: the wall clock moved by %+.0f s; jobs go on, mass removals and "
                "expiries are held for an admin (MASS_ACTION_SHARE)",
                offset - last,
            )
            if self._on_clock_move is not None:
                self._on_clock_move(offset - last)

    async def _register(self, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            connection = await session.connection()
            insert = _INSERT_JOB[connection.dialect.name]
            for job in self._jobs:
                await connection.execute(
                    insert, {"name": job.name, "next_run_at": now + job.first_after, "runs": 0}
                )

    async def _claim(self, job: Job, now: datetime) -> bool:
        # A wall clock moved back leaves next_run_at and the lease as the later time wrote
        # them: a time further ahead than one interval (one lease), and CLOCK_SLACK, is not
        # one this clock set, so the job is due (the lease over) now, not silent for the
        # length of the jump.
        # A clock moved forward makes every job due at once: each runs once, as after an
        # outage, and what it would do to many people at once is braked (brake.py).
        claim = (
            update(SchedulerJob)
            .where(
                SchedulerJob.name == job.name,
                or_(
                    SchedulerJob.next_run_at <= now,
                    SchedulerJob.next_run_at > now + max(job.every, job.first_after) + CLOCK_SLACK,
                ),
                or_(
                    SchedulerJob.lease_until.is_(None),
                    SchedulerJob.lease_until <= now,
                    SchedulerJob.lease_until > now + job.lease + CLOCK_SLACK,
                ),
            )
            .values(lease_owner=self.owner, lease_until=now + job.lease)
        )
        async with self._sessions() as session, session.begin():
            result = await session.execute(claim)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def _run(self, job: Job, now: datetime) -> None:
        try:
            outcome = await job.run(now)
        except Exception as error:  # noqa: BLE001 - one job's fault must not stop the others
            outcome = f"failed: {type(error).__name__}"
            metrics.JOBS.labels(job.name, "failed").inc()
            log.warning("job %s %s", job.name, outcome)
        else:
            metrics.JOBS.labels(job.name, "ok").inc()
            log.info("job %s: %s", job.name, outcome)
        done = (
            update(SchedulerJob)
            .where(SchedulerJob.name == job.name, SchedulerJob.lease_owner == self.owner)
            .values(
                next_run_at=now + job.every,
                lease_owner=None,
                lease_until=None,
                last_run_at=now,
                last_outcome=outcome[:255],
                runs=SchedulerJob.runs + 1,
            )
        )
        async with self._sessions() as session, session.begin():
            await session.execute(done)
