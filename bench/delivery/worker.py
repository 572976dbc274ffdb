"""The worker's process (worker_process.py) seen from the bench: its options, starting it,
reading its one-line report, and how long a drain may take."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.delivery.targets import TARGET_RATE
from bench.shared.basics import BenchError
from bench.shared.measures import tail_of_log
from bench.shared.servers import child_env
from tests.support.processes import REPO_ROOT, stop_process

# (a), (c): so high that only the engine limits the pace (the RateLimiter never sleeps).
UNLIMITED_RATE = 1e6
STOP_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How the bench builds the worker processes, from its own command line."""

    concurrency: int | None = None  # None: DeliveryWorker's default

    @classmethod
    def of(cls, args: argparse.Namespace) -> WorkerOptions:
        return cls(concurrency=args.concurrency)

    def argv(self) -> list[str]:
        return [] if self.concurrency is None else ["--concurrency", str(self.concurrency)]


@dataclass(frozen=True, slots=True)
class WorkerReport:
    claimed: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    baseline_rss_mb: float
    stopped: bool
    wind_down: float | None

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.seconds if self.seconds > 0 else math.nan


async def start_worker(
    database_url: str,
    api: str,
    log: Path,
    *,
    rate: float | str,
    lease: float | None,
    deadline: float,
    options: WorkerOptions,
    paid_broadcast: str = "off",
) -> asyncio.subprocess.Process:
    argv = [
        sys.executable,
        "-m",
        "bench.delivery.worker_process",
        "--database-url",
        database_url,
        "--api-base",
        api,
        "--rate",
        str(rate),
        "--deadline",
        repr(deadline),
        "--paid-broadcast",
        paid_broadcast,
    ]
    if lease is not None:
        argv += ["--lease-seconds", repr(lease)]
    argv += options.argv()
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            *argv,
            # A pipe the worker watches: if this bench dies, the worker stops too.
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            cwd=REPO_ROOT,
            env=child_env(),
        )


async def collect_worker(
    proc: asyncio.subprocess.Process, log: Path, limit: float
) -> WorkerReport:
    """Wait for the worker to end by itself and read its report; anything else fails."""
    assert proc.stdout is not None
    try:
        # Not communicate(): it would close stdin, which the worker takes as "stop".
        out = await asyncio.wait_for(proc.stdout.read(), limit)
        code = await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
    except TimeoutError:
        raise BenchError(
            f"the worker did not finish within {limit:.0f} s: {tail_of_log(log)}"
        ) from None
    if code == 3:
        raise BenchError(
            f"the worker did not drain the outbox within its deadline: {tail_of_log(log)}"
        )
    if code != 0:
        raise BenchError(f"the worker exited with {code}: {tail_of_log(log)}")
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        data = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise BenchError(f"the worker printed no report: {tail_of_log(log)}") from None
    return WorkerReport(
        claimed=int(data["claimed"]),
        seconds=float(data["seconds"]),
        cpu_seconds=float(data["cpu_seconds"]),
        peak_rss_mb=float(data["peak_rss_mb"]),
        baseline_rss_mb=float(data["baseline_rss_mb"]),
        stopped=bool(data["stopped"]),
        wind_down=None if data["wind_down"] is None else float(data["wind_down"]),
    )


async def run_worker(
    database_url: str,
    api: str,
    log: Path,
    *,
    rate: float | str,
    lease: float | None,
    limit: float,
    options: WorkerOptions,
    paid_broadcast: str = "off",
) -> WorkerReport:
    proc = await start_worker(
        database_url,
        api,
        log,
        rate=rate,
        lease=lease,
        deadline=max(limit - 10, 1),
        options=options,
        paid_broadcast=paid_broadcast,
    )
    try:
        return await collect_worker(proc, log, limit)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        await stop_process(proc, grace=STOP_TIMEOUT, sig=signal.SIGTERM)


def worker_timeout(messages: int, rate: float) -> float:
    """Generous bound for one drain: 20 % of the target pace, or of the set rate."""
    return 60.0 + messages / min(rate, TARGET_RATE * 0.2)
