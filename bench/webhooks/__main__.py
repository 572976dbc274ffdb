"""`python -m bench.webhooks`: the plan, the fakes, the runs and their median against
DESIGN.md's target; with --serve-fakes (hidden) this process runs the fakes instead."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.shared.args import BenchParser, print_quick_banner, run_bench
from bench.shared.databases import backend_of, scratch_dir
from bench.shared.figures import Target, median_lines, repeat_runs
from bench.webhooks.cpu import median_cpu_line
from bench.webhooks.fakes import running_fakes, serve_fakes
from bench.webhooks.plan import build_plan
from bench.webhooks.run import format_run, one_run

# DESIGN.md, Performance: "Stripe webhooks, signed, 32 concurrent | >= 500 events/s, p99 <= 50 ms".
TARGET = Target("Stripe webhooks, signed, 32 concurrent", rate=500.0, p99_ms=50.0)

MAX_EVENTS = 100_000
MAX_CONCURRENCY = 256


async def bench(args: argparse.Namespace) -> int:
    if args.instances > 1 and backend_of(args.database_url) == "sqlite":
        print("--instances: several servers share PostgreSQL only; add --postgres")
        return 2
    plan = build_plan(args.events, args.duplicates, args.seed)
    label = args.database_url or "a temporary SQLite file per run"
    print_quick_banner(args)
    print(
        f"plan      {len(plan.sends)} sends: {plan.distinct_ids} distinct events for "
        f"{len(plan.users)} users, {plan.duplicates} exact replays, "
        f"{len(plan.canceled_users)} users end canceled; database {label}; "
        f"fakes {args.fakes}; warm-up {min(args.warmup, len(plan.sends) // 10)} excluded"
    )
    print(f"mix       {plan.type_mix()}")
    with scratch_dir("signaldesk-bench-fakes-") as helper_dir:
        async with running_fakes(args.fakes, plan.subscriptions, helper_dir) as fakes:
            results = await repeat_runs(
                args.runs,
                lambda: one_run(args, plan, fakes),
                lambda result, label: format_run(result, label, args),
                stop=lambda result: result.failure is not None,
            )
    for line in median_lines(
        "webhooks",
        results[0].backend,
        [r.figures for r in results],
        f"events={args.events} concurrency={args.concurrency} instances={args.instances}",
        TARGET,
        quick=args.quick,
    ):
        print(line)
    if (cpu_line := median_cpu_line([r.cpu for r in results])) is not None:
        print(cpu_line)
    return 1 if any(r.failed for r in results) else 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = BenchParser(
        prog="python -m bench.webhooks",
        description="Signed Stripe webhooks against `python -m bot` in its own process.",
        database="signaldesk_bench",
        seed=(20250331, "plan RNG seed"),
    )
    parser.bounded("--events", full=5000, quick=1000, low=1, high=MAX_EVENTS, help="sends per run")
    parser.bounded(
        "--concurrency", full=32, low=1, high=MAX_CONCURRENCY, help="requests in flight"
    )
    parser.bounded(
        "--duplicates",
        full=0.1,
        low=0,
        high=0.5,
        kind=float,
        help="share of sends that replay an event",
    )
    parser.bounded("--warmup", full=200, low=0, high=MAX_EVENTS, help="first requests not timed")
    parser.bounded(
        "--instances",
        full=1,
        low=1,
        high=8,
        help="servers behind HAProxy (1: the server alone); several need --postgres",
    )
    parser.add_argument(
        "--fakes",
        choices=("inline", "process"),
        default="inline",
        help="run the fake Stripe and Bot API in this process (default) or a helper process",
    )
    parser.bounded(
        "--timeout",
        full=300.0,
        low=1,
        high=3600,
        kind=float,
        help="seconds allowed for one run's load",
    )
    parser.add_argument("--serve-fakes", type=Path, help=argparse.SUPPRESS)
    return parser.parse(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.serve_fakes is not None:
        asyncio.run(serve_fakes(json.loads(args.serve_fakes.read_text())))
        return 0
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
