"""(b) the fake enforces 30/s overall and 1/s per chat: how close to that limit the worker,
told the limit, gets without a 429 once past its first sends."""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.delivery.fake import running_fake
from bench.delivery.outbox import Check, check_delivery, seed_and_publish
from bench.delivery.targets import TARGET_LIMIT_SHARE
from bench.delivery.worker import WorkerOptions, run_worker, worker_timeout
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.figures import median, met, repeat_runs
from bench.shared.measures import load_since

if TYPE_CHECKING:
    from bench.delivery.report import Results

# (b): the fake counts accepted sendMessage calls in a sliding 1 s window and answers 429
# beyond 30. The worker spaces *starts* evenly, but a request reaches the fake after a
# variable delay (event-loop turns, the HTTP pool, the fake's own loop), so two neighbours
# can arrive closer than 1/30 s and a window can hold 31 arrivals at exactly 30/s. Half a
# message of headroom per second absorbs that jitter, and is cheap: one 429 pauses every
# send for retry_after (1 s, 30 messages), as much as a minute of the headroom costs.
LIMIT_RATE = 30.0
LIMITED_WORKER_RATE = 29.5
STEADY_AFTER = 2.0  # seconds: (b) counts rate and 429s after the first sends' ramp-up


@dataclass
class RunB:
    backend: str
    subscribers: int
    steady_rate: float
    throttled: int
    throttled_steady: int
    span: float
    check: Check
    load: str

    @property
    def share(self) -> float:
        return self.steady_rate / LIMIT_RATE

    def line(self, label: str) -> str:
        return (
            f"(b) {self.backend:<10} {label}  {self.subscribers:,} subscribers, fake at "
            f"{LIMIT_RATE:.0f}/s and 1/s per chat, worker at {LIMITED_WORKER_RATE}/s  "
            f"steady {self.steady_rate:.2f} msg/s = {self.share * 100:.1f} % of the limit\n"
            f"{'':4}429s: {self.throttled_steady} after the first {STEADY_AFTER:.0f} s, "
            f"{self.throttled} in all; {self.span:.1f} s from first to last send; {self.load}\n"
            f"{'':4}verify {self.check.describe()}"
        )


def steady(sends: list[float], throttled: list[float]) -> tuple[float, int, float]:
    """Rate of accepted sends after the first STEADY_AFTER s, the 429s then, and the span."""
    attempts = sorted(sends + throttled)
    if not attempts:
        return math.nan, 0, 0.0
    start = attempts[0] + STEADY_AFTER
    later = sorted(t for t in sends if t >= start)
    rate = (len(later) - 1) / (later[-1] - later[0]) if len(later) > 1 else math.nan
    span = max(sends) - min(sends) if sends else 0.0
    return rate, sum(1 for t in throttled if t >= start), span


async def scenario_b(database: str | None, subscribers: int, options: WorkerOptions) -> RunB:
    with scratch_dir("signaldesk-bench-delivery-") as workdir:
        load_start = os.getloadavg()[0]
        url = await migrated_database(database, workdir)
        chats, _ = await seed_and_publish(url, subscribers)
        async with running_fake(workdir, global_rate=LIMIT_RATE, per_chat_rate=1) as fake:
            await run_worker(
                url,
                fake.api,
                workdir / "worker.log",
                rate=LIMITED_WORKER_RATE,
                lease=None,
                limit=worker_timeout(subscribers, LIMITED_WORKER_RATE),
                options=options,
            )
            records = await fake.records()
        check = await check_delivery(url, chats, records)
    rate, throttled_steady, span = steady([at for _, _, at in records.sends], records.throttled)
    return RunB(
        backend=backend_of(database),
        subscribers=subscribers,
        steady_rate=rate,
        throttled=len(records.throttled),
        throttled_steady=throttled_steady,
        span=span,
        check=check,
        load=load_since(load_start),
    )


async def run_b(args: argparse.Namespace, results: Results) -> None:
    def one(result: RunB, label: str) -> str:
        results.b.append(result)
        results.failures += [f"(b): {p}" for p in result.check.problems()]
        return result.line(label)

    await repeat_runs(
        args.runs,
        lambda: scenario_b(args.database_url, args.limited_subscribers, WorkerOptions.of(args)),
        one,
    )


def rows_b(runs: list[RunB]) -> list[tuple[str, str, str]]:
    """The summary's (b) lines: figure, target, verdict."""
    if not runs:
        return []
    share = median([r.share for r in runs])
    rate = median([r.steady_rate for r in runs])
    throttled = max(r.throttled_steady for r in runs)
    return [
        (
            f"(b) fake enforcing {LIMIT_RATE:.0f}/s: {rate:.2f} msg/s = {share * 100:.1f} %",
            f">= {TARGET_LIMIT_SHARE * 100:.0f} % of the limit",
            met(share >= TARGET_LIMIT_SHARE),
        ),
        (
            f"(b) 429s after the first {STEADY_AFTER:.0f} s: {throttled} (worst run)",
            "0 in steady state",
            met(throttled == 0),
        ),
    ]
