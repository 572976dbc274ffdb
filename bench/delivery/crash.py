"""(c) the worker stopped mid-broadcast, by SIGKILL and by SIGTERM, then restarted: nothing
lost, and nothing sent twice beyond the sends in flight at a kill."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench.delivery.fake import Fake, running_fake
from bench.delivery.outbox import Check, check_delivery, outbox_state, seed_and_publish
from bench.delivery.worker import (
    STOP_TIMEOUT,
    UNLIMITED_RATE,
    WorkerOptions,
    collect_worker,
    run_worker,
    start_worker,
    worker_timeout,
)
from bench.shared.basics import BenchError
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.figures import met
from bench.shared.measures import load_since, tail_of_log
from tests.support.processes import stop_process

if TYPE_CHECKING:
    from bench.delivery.report import Results

# (c): the app's LEASE is 60 s; the worker processes of (c) use this instead (see --help).
CRASH_LEASE_SECONDS = 3.0
CRASH_POLL_SECONDS = 0.005


@dataclass
class RunC:
    backend: str
    variant: str  # SIGKILL or SIGTERM
    subscribers: int
    threshold: int
    at_signal: int  # sends the fake had accepted just after the signal went out
    exit_code: int
    stop_seconds: float
    wind_down: float | None  # SIGTERM: from the signal to the end of the drain loop
    after_stop: int  # accepted sends once the dead worker's last requests were answered
    rows_sent: int  # rows the engine had recorded as sent by then
    leased: int  # rows claimed by the stopped worker and not sent: wait for the lease
    lease_wait: float
    resume_seconds: float
    check: Check
    load: str

    @property
    def unacknowledged(self) -> int:
        """Sends Telegram accepted that the engine had not recorded: re-sent on restart."""
        return self.after_stop - self.rows_sent

    def problems(self) -> list[str]:
        found = self.check.problems(duplicates_allowed=self.variant == "SIGKILL")
        if self.variant == "SIGTERM" and self.exit_code != 0:
            found.append(f"the worker exited with {self.exit_code} on SIGTERM")
        if self.variant == "SIGKILL" and self.check.twice != self.unacknowledged:
            found.append(
                f"{self.check.twice} sent twice, but {self.unacknowledged} were unacknowledged"
            )
        return found

    def line(self) -> str:
        found = self.problems()
        verdict = "FAILED: " + "; ".join(found) if found else "ok"
        stop = (
            f"in flight at the kill (fake calls minus acknowledged rows): {self.unacknowledged}"
            if self.variant == "SIGKILL"
            else f"exit {self.exit_code} {self.stop_seconds:.2f} s after SIGTERM (drain loop "
            f"done in {(self.wind_down or 0) * 1000:.0f} ms, the rest is closing and exiting), "
            f"{self.after_stop - self.at_signal} sends answered after the signal, "
            f"unacknowledged {self.unacknowledged}"
        )
        return (
            f"(c) {self.backend:<10} {self.variant} after {self.at_signal:,} of "
            f"{self.subscribers:,} sends (random point >= {self.threshold:,})  lost "
            f"{self.check.lost}, sent twice {self.check.twice}\n"
            f"{'':4}{stop}; {self.leased} rows left under lease, restart after "
            f"{self.lease_wait:.1f} s, rest delivered in {self.resume_seconds:.1f} s; "
            f"{self.load}\n"
            f"{'':4}engine: rows not sent {self.check.rows_not_sent}, message ids recorded "
            f"twice {self.check.ids_twice}, rows holding a re-sent copy's id "
            f"{self.check.ids_later_copy}; verify {verdict}"
        )


@dataclass(frozen=True, slots=True)
class Stop:
    """How the worker went: sends accepted just after the signal, its exit, how long."""

    at_signal: int
    exit_code: int
    seconds: float
    wind_down: float | None  # SIGTERM: from the signal to the end of the drain loop


async def scenario_c(
    database: str | None,
    subscribers: int,
    *,
    variant: signal.Signals,
    rng: random.Random,
    lease: float,
    options: WorkerOptions,
) -> RunC:
    threshold = rng.randint(math.ceil(subscribers * 0.1), math.floor(subscribers * 0.9))
    timeout = worker_timeout(subscribers, UNLIMITED_RATE)
    with scratch_dir("signaldesk-bench-delivery-") as workdir:
        load_start = os.getloadavg()[0]
        url = await migrated_database(database, workdir)
        chats, _ = await seed_and_publish(url, subscribers)
        log = workdir / "worker.log"
        async with running_fake(workdir) as fake:
            stop = await interrupted_worker(
                url,
                fake,
                log,
                variant,
                threshold=threshold,
                within=timeout,
                lease=lease,
                options=options,
            )
            after_stop = await fake.settled()
            rows_sent, leased, until = await outbox_state(url)
            lease_wait = await wait_out_lease(until)
            resumed = await run_worker(
                url,
                fake.api,
                log,
                rate=UNLIMITED_RATE,
                lease=lease,
                limit=timeout,
                options=options,
            )
            records = await fake.records()
        check = await check_delivery(url, chats, records)
    return RunC(
        backend=backend_of(database),
        variant=variant.name,
        subscribers=subscribers,
        threshold=threshold,
        at_signal=stop.at_signal,
        exit_code=stop.exit_code,
        stop_seconds=stop.seconds,
        wind_down=stop.wind_down,
        after_stop=after_stop,
        rows_sent=rows_sent,
        leased=leased,
        lease_wait=lease_wait,
        resume_seconds=resumed.seconds,
        check=check,
        load=load_since(load_start),
    )


async def interrupted_worker(
    url: str,
    fake: Fake,
    log: Path,
    variant: signal.Signals,
    *,
    threshold: int,
    within: float,
    lease: float,
    options: WorkerOptions,
) -> Stop:
    """A worker sending without limit, sent `variant` once the fake has `threshold` sends."""
    proc = await start_worker(
        url,
        fake.api,
        log,
        rate=UNLIMITED_RATE,
        lease=lease,
        deadline=within - 10,
        options=options,
    )
    try:
        deadline = time.monotonic() + within
        while await fake.sent() < threshold:
            if proc.returncode is not None:
                raise BenchError(
                    f"the worker exited early ({proc.returncode}): {tail_of_log(log)}"
                )
            if time.monotonic() > deadline:
                raise BenchError(f"no {threshold} sends within {within:.0f} s")
            await asyncio.sleep(CRASH_POLL_SECONDS)
        return await _stop(proc, fake, log, variant)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        await stop_process(proc, grace=STOP_TIMEOUT, sig=signal.SIGKILL)


async def _stop(
    proc: asyncio.subprocess.Process, fake: Fake, log: Path, variant: signal.Signals
) -> Stop:
    wind_down: float | None = None
    signalled = time.monotonic()
    proc.send_signal(variant)
    at_signal = await fake.sent()
    if variant == signal.SIGKILL:
        try:
            exit_code = await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            raise BenchError("the worker outlived SIGKILL") from None
    else:
        # A graceful stop must end by itself and report; collect_worker checks both.
        wind_down = (await collect_worker(proc, log, STOP_TIMEOUT)).wind_down
        exit_code = proc.returncode if proc.returncode is not None else -1
    return Stop(at_signal, exit_code, time.monotonic() - signalled, wind_down)


async def wait_out_lease(until: datetime | None) -> float:
    """Restart only once every lease of the dead worker has run out, plus a margin for the
    clocks of the two processes reading the same wall clock; returns the wait."""
    if until is None:
        return 0.0
    lease_wait = max(0.0, (until - datetime.now(UTC)).total_seconds() + 0.25)
    await asyncio.sleep(lease_wait)
    return lease_wait


async def run_c(args: argparse.Namespace, rng: random.Random, results: Results) -> None:
    print(
        f"(c) lease {args.lease_seconds:g} s instead of the app's 60 s: "
        "the worker processes of (c) are built with that lease "
        "only, so the restart need not wait a minute",
        flush=True,
    )
    for variant in (signal.SIGKILL, signal.SIGTERM):
        result = await scenario_c(
            args.database_url,
            args.crash_subscribers,
            variant=variant,
            rng=rng,
            lease=args.lease_seconds,
            options=WorkerOptions.of(args),
        )
        results.c.append(result)
        print(result.line(), flush=True)
        results.failures += [
            f"(c) {result.backend} {variant.name}: {p}" for p in result.problems()
        ]


def rows_c(runs: list[RunC]) -> list[tuple[str, str, str]]:
    """The summary's (c) lines: figure, target, verdict."""
    rows = []
    for run in runs:
        ok = run.check.lost == 0 and run.check.twice == 0 and not run.problems()
        why = ""
        if run.variant == "SIGKILL" and run.check.twice and not run.problems():
            why = f" (the {run.unacknowledged} sends in flight at the kill)"
        rows.append(
            (
                f"(c) {run.backend}, {run.variant} at {run.at_signal:,}/{run.subscribers:,}: "
                f"lost {run.check.lost}, sent twice {run.check.twice}",
                "resumes; 0 lost, 0 sent twice",
                met(ok) + why,
            )
        )
    return rows
