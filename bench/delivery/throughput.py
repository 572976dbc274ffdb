"""(a) no limit: how fast one worker drains a broadcast when only the engine limits the
pace; and (d) the worker's peak RSS during it."""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.delivery.fake import running_fake
from bench.delivery.outbox import Check, check_delivery, seed_and_publish
from bench.delivery.targets import TARGET_RATE, TARGET_RSS_MB
from bench.delivery.worker import (
    UNLIMITED_RATE,
    WorkerOptions,
    WorkerReport,
    run_worker,
    worker_timeout,
)
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.figures import median, met, repeat_runs
from bench.shared.measures import load_since

if TYPE_CHECKING:
    from bench.delivery.report import Results

# A pause this long between two arrivals is a stall (the spacing is 1 ms at 1,000/s).
STALL_SECONDS = 0.02


def stalls(times: list[float]) -> tuple[float, int, float]:
    """The longest pause between two arrivals, and how many pauses over STALL_SECONDS took
    how long in all: where the pipeline ran dry (batch ends, claiming, preparing)."""
    times = sorted(times)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    long = [gap for gap in gaps if gap > STALL_SECONDS]
    return max(gaps, default=0.0), len(long), sum(long)


def pace(times: list[float]) -> tuple[float, float, float]:
    """Messages/s from first to last arrival, over the middle 80 %, and the span in s."""
    times = sorted(times)
    if len(times) < 2:
        return math.nan, math.nan, 0.0
    span = times[-1] - times[0]
    overall = len(times) / span if span > 0 else math.inf
    low, high = int(len(times) * 0.1), int(len(times) * 0.9) - 1
    middle_span = times[high] - times[low]
    middle = (high - low) / middle_span if middle_span > 0 else math.inf
    return overall, middle, span


@dataclass
class RunA:
    backend: str
    subscribers: int
    publish_seconds: float
    overall: float
    middle: float
    span: float
    worker: WorkerReport
    fake_cpu: float | None
    edits: int
    stalls: tuple[float, int, float]
    check: Check
    load: str

    @property
    def cpu_per_message(self) -> float:
        """The worker's CPU per message in ms: unlike msg/s, barely moved by other load."""
        return self.worker.cpu_seconds * 1000 / self.subscribers

    def line(self, label: str) -> str:
        fake_cpu = f"{self.fake_cpu * 100:.0f} %" if self.fake_cpu is not None else "n/a"
        return (
            f"(a) {self.backend:<10} {label}  {self.subscribers:,} subscribers  "
            f"sustained {self.overall:,.0f} msg/s (middle 80 %: {self.middle:,.0f} msg/s) "
            f"over {self.span:.1f} s\n"
            f"{'':4}publish() wrote the outbox in {self.publish_seconds:.2f} s; worker "
            f"cpu {self.worker.cpu_share * 100:.0f} % ({self.cpu_per_message:.2f} ms/msg), "
            f"fake cpu {fake_cpu}, "
            f"peak RSS {self.worker.peak_rss_mb:.0f} MB ({self.worker.baseline_rss_mb:.0f} MB "
            f"before the first claim); progress edits {self.edits}\n"
            f"{'':4}stalls over {STALL_SECONDS * 1000:.0f} ms: {self.stalls[1]}, "
            f"{self.stalls[2]:.2f} s in all, longest {self.stalls[0] * 1000:.0f} ms; "
            f"{self.load}\n"
            f"{'':4}verify {self.check.describe()}"
        )


async def scenario_a(database: str | None, subscribers: int, options: WorkerOptions) -> RunA:
    with scratch_dir("signaldesk-bench-delivery-") as workdir:
        load_start = os.getloadavg()[0]
        url = await migrated_database(database, workdir)
        chats, publish_seconds = await seed_and_publish(url, subscribers)
        async with running_fake(workdir) as fake:
            fake_before, wall_before = fake.cpu(), time.monotonic()
            report = await run_worker(
                url,
                fake.api,
                workdir / "worker.log",
                rate=UNLIMITED_RATE,
                lease=None,
                limit=worker_timeout(subscribers, UNLIMITED_RATE),
                options=options,
            )
            fake_after, wall = fake.cpu(), time.monotonic() - wall_before
            records = await fake.records()
        check = await check_delivery(url, chats, records)
    arrivals = [at for _, _, at in records.sends]
    overall, middle, span = pace(arrivals)
    fake_cpu = (
        (fake_after - fake_before) / wall
        if fake_before is not None and fake_after is not None
        else None
    )
    return RunA(
        backend=backend_of(database),
        subscribers=subscribers,
        publish_seconds=publish_seconds,
        overall=overall,
        middle=middle,
        span=span,
        worker=report,
        fake_cpu=fake_cpu,
        edits=records.methods.get("editMessageText", 0),
        stalls=stalls(arrivals),
        check=check,
        load=load_since(load_start),
    )


async def run_a(args: argparse.Namespace, results: Results) -> None:
    def one(result: RunA, label: str) -> str:
        results.a.setdefault(result.backend, []).append(result)
        results.failures += [f"(a) {result.backend}: {p}" for p in result.check.problems()]
        return result.line(label)

    await repeat_runs(
        args.runs,
        lambda: scenario_a(args.database_url, args.subscribers, WorkerOptions.of(args)),
        one,
    )


def rows_a(runs_by_backend: dict[str, list[RunA]]) -> list[tuple[str, str, str]]:
    """The summary's (a) lines: figure, target, verdict."""
    rows = []
    for backend, runs in runs_by_backend.items():
        rate = median([r.overall for r in runs])
        middle = median([r.middle for r in runs])
        cpu = median([r.cpu_per_message for r in runs])
        scope = "" if backend == "sqlite" else " (stated for SQLite)"
        rows.append(
            (
                f"(a) {backend}, {runs[0].subscribers:,} subscribers, no limit: {rate:,.0f} msg/s",
                f">= {TARGET_RATE:,.0f}/s sustained{scope}",
                f"{met(rate >= TARGET_RATE)} (middle 80 %: {middle:,.0f} msg/s; "
                f"worker {cpu:.2f} ms CPU/msg)",
            )
        )
    return rows


def rows_d(runs_by_backend: dict[str, list[RunA]]) -> list[tuple[str, str, str]]:
    """The summary's (d) lines, from the worker's peak RSS in (a)."""
    rows = []
    for backend, runs in runs_by_backend.items():
        rss = max(r.worker.peak_rss_mb for r in runs)
        baseline = max(r.worker.baseline_rss_mb for r in runs)
        rows.append(
            (
                f"(d) {backend}, worker peak RSS in (a): {rss:.0f} MB",
                f"<= {TARGET_RSS_MB:.0f} MB",
                f"{met(rss <= TARGET_RSS_MB)} ({baseline:.0f} MB before the first claim; "
                "largest run)",
            )
        )
    return rows
