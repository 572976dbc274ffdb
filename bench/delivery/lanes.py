"""(f) the two lanes: one signal to N subscribers, sent fast (PAID_BROADCAST=signals, the
admin's Send fast) and at the free rate, against a fake enforcing both of Telegram's
lanes: 1,000 a second for paid sends, 30 a second and one a second per chat for the rest.
The figure is the time from the first message to the last subscriber's, and the 429s.

The free rate is told the limit (--lane-rate 29.5, as (b)): (e) measures what `auto`
does against a limit it must find, 429s included; `--lane-rate auto` runs that here."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.delivery.fake import running_fake
from bench.delivery.outbox import Check, check_delivery, seed_and_publish
from bench.delivery.targets import (
    TARGET_FREE_SECONDS,
    TARGET_LANE_SUBSCRIBERS,
    TARGET_PAID_SECONDS,
)
from bench.delivery.worker import WorkerOptions, run_worker
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.figures import met
from bench.shared.measures import load_since

if TYPE_CHECKING:
    from bench.delivery.report import Results

FREE_LIMIT = 30.0  # the fake's free lane, as Telegram's Bot FAQ says "about 30"
PAID_LIMIT = 1000.0  # the fake's paid lane, as sendMessage's allow_paid_broadcast says


@dataclass
class RunF:
    backend: str
    lane: str  # "paid" or "free"
    subscribers: int
    seconds: float  # first message to the last subscriber's, at the fake
    paid: int  # messages the fake took on the paid lane
    throttled: int
    round_trip: float
    rate: str  # the worker's DELIVERY_RATE
    cpu_ms: float  # the worker's CPU per message: what the machine's load moves least
    check: Check
    load: str

    @property
    def per_target(self) -> float:
        """The time for TARGET_LANE_SUBSCRIBERS, from this run's pace (the run's own when it
        had that many)."""
        return self.seconds * TARGET_LANE_SUBSCRIBERS / self.subscribers

    @property
    def extrapolated(self) -> bool:
        return self.subscribers != TARGET_LANE_SUBSCRIBERS

    def line(self, label: str) -> str:
        pace = self.subscribers / self.seconds if self.seconds > 0 else float("nan")
        scaled = (
            f" (for {TARGET_LANE_SUBSCRIBERS:,}, extrapolated: {self.per_target:.1f} s)"
            if self.extrapolated
            else ""
        )
        return (
            f"(f) {self.backend:<10} {label}  {self.lane} lane, {self.subscribers:,} "
            f"subscribers: the last had it {self.seconds:.1f} s after the first{scaled}, "
            f"{pace:,.1f} msg/s\n"
            f"{'':4}{self.paid:,} paid, 429s: {self.throttled}; DELIVERY_RATE {self.rate}, worker "
            f"{self.cpu_ms:.2f} ms CPU/msg; fake at {FREE_LIMIT:.0f}/s and "
            f"1/s per chat free, {PAID_LIMIT:,.0f}/s paid, round trip "
            f"{self.round_trip * 1000:.0f} ms; {self.load}\n"
            f"{'':4}verify {self.check.describe()}"
        )


async def scenario_f(
    database: str | None,
    lane: str,
    subscribers: int,
    args: argparse.Namespace,
    options: WorkerOptions,
) -> RunF:
    with scratch_dir("signaldesk-bench-delivery-") as workdir:
        load_start = os.getloadavg()[0]
        url = await migrated_database(database, workdir)
        chats, _ = await seed_and_publish(url, subscribers, paid=lane == "paid")
        async with running_fake(
            workdir,
            global_rate=FREE_LIMIT,
            per_chat_rate=1,
            round_trip=args.round_trip,
            jitter=args.round_trip / 3,
        ) as fake:
            report = await run_worker(
                url,
                fake.api,
                workdir / "worker.log",
                rate=args.lane_rate,
                lease=None,
                limit=120.0 + subscribers / 20,
                options=options,
                paid_broadcast="signals",
            )
            records = await fake.records()
        check = await check_delivery(url, chats, records)
    arrivals = sorted(at for _, _, at in records.sends)
    return RunF(
        backend=backend_of(database),
        lane=lane,
        subscribers=subscribers,
        seconds=arrivals[-1] - arrivals[0] if arrivals else float("nan"),
        paid=records.paid,
        throttled=len(records.throttled),
        round_trip=args.round_trip,
        rate=str(args.lane_rate),
        cpu_ms=report.cpu_seconds * 1000 / max(1, subscribers),
        check=check,
        load=load_since(load_start),
    )


async def run_f(args: argparse.Namespace, results: Results) -> None:
    options = WorkerOptions.of(args)
    sizes = {"paid": args.lane_subscribers, "free": args.free_lane_subscribers}
    for lane, subscribers in sizes.items():
        run = await scenario_f(args.database_url, lane, subscribers, args, options)
        results.f.append(run)
        results.failures += [f"(f) {lane}: {p}" for p in run.check.problems()]
        if lane == "paid" and run.paid != subscribers:
            results.failures.append(f"(f) paid: {run.paid} of {subscribers} went paid")
        if lane == "free" and run.paid:
            results.failures.append(f"(f) free: {run.paid} went paid")
        print(run.line("run 1/1"), flush=True)


def rows_f(runs: list[RunF]) -> list[tuple[str, str, str]]:
    """The summary's (f) lines: figure, target, verdict."""
    rows = []
    targets = {"paid": TARGET_PAID_SECONDS, "free": TARGET_FREE_SECONDS}
    for run in runs:
        how = "extrapolated from " + f"{run.subscribers:,}" if run.extrapolated else "measured"
        rows.append(
            (
                f"(f) {run.lane} lane, {TARGET_LANE_SUBSCRIBERS:,} subscribers: "
                f"{run.per_target:.1f} s to the last ({how}), {run.throttled} x 429",
                f"<= {targets[run.lane]:.0f} s, 0 x 429",
                met(run.per_target <= targets[run.lane] and run.throttled == 0),
            )
        )
    return rows
