"""`python -m bench.delivery`: the scenarios chosen with --only, one after another, then the
summary; with --serve-fake (hidden) this process is the fake Bot API instead."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from collections.abc import Sequence

from bench.delivery.adaptive import run_e
from bench.delivery.crash import CRASH_LEASE_SECONDS, run_c
from bench.delivery.fake import serve_fake
from bench.delivery.lanes import run_f
from bench.delivery.rate_limit import run_b
from bench.delivery.report import Results, load, summary
from bench.delivery.throughput import run_a
from bench.shared.args import BenchParser, print_quick_banner, run_bench
from bench.shared.basics import BenchError
from bench.shared.databases import backend_of

MAX_SUBSCRIBERS = 200_000


async def bench(args: argparse.Namespace) -> int:
    only: set[str] = args.only
    results = Results()
    try:
        concurrency = args.concurrency if args.concurrency is not None else "default"
        print_quick_banner(args)
        print(
            f"delivery bench  backend {backend_of(args.database_url)}; "
            f"only {','.join(sorted(only))}; runs {args.runs}; seed {args.seed}; "
            f"worker concurrency {concurrency}; {os.cpu_count()} CPUs; {load()}\n"
            "  the worker (`python -m bot worker`'s, built by bench.delivery.worker_process), "
            "the fake Bot API and this bench are three processes; rates are taken from arrival "
            "times at the fake",
            flush=True,
        )
        if only & {"a", "d"}:
            await run_a(args, results)
        if "b" in only:
            await run_b(args, results)
        if "c" in only:
            await run_c(args, random.Random(args.seed), results)
        if "e" in only:
            await run_e(args, results)
        if "f" in only:
            await run_f(args, results)
    except BenchError as error:
        results.failures.append(str(error))
        print(f"bench failed: {error}", file=sys.stderr, flush=True)
    for line in summary(results, args):
        print(line)
    return 1 if results.failures else 0


def parse_only(value: str) -> set[str]:
    chosen = {part.strip() for part in value.split(",") if part.strip()}
    if not chosen or not chosen <= {"a", "b", "c", "d", "e", "f"}:
        raise argparse.ArgumentTypeError("a comma-separated subset of a,b,c,d,e,f")
    return chosen


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = BenchParser(
        prog="python -m bench.delivery",
        description=(
            "The real delivery worker in its own process against a fake Bot API in another: "
            "(a) no limit, (b) a fake enforcing 30/s, (c) the worker killed mid-broadcast, "
            "(d) the worker's peak RSS during (a), (e) DELIVERY_RATE=auto against a limit it "
            "is not told (20-40/s, drawn by the seed) beside the common aiogram loop, (f) one "
            "signal sent fast (allow_paid_broadcast) and at the free rate against a fake "
            "enforcing both lanes (1,000/s paid; 30/s and 1/s per chat free)."
        ),
        database="signaldesk_bench_delivery",
        seed=(None, "(c) RNG seed for the kill points, (e) for the unknown limit"),
        runs_help="runs of (a) and (b); medians",
    )
    _add_sizes(parser)
    parser.add_argument(
        "--only",
        type=parse_only,
        default={"a", "b", "c", "d", "e", "f"},
        help="e.g. a,d (default all)",
    )
    parser.bounded(
        "--lease-seconds",
        full=CRASH_LEASE_SECONDS,
        low=0.5,
        high=60,
        kind=float,
        help="(c) the lease in the worker processes of (c) (the app's is 60 s)",
    )
    parser.add_argument(
        "--concurrency", type=int, help="sends in flight per worker (default: the worker's)"
    )
    parser.add_argument(
        "--lane-rate",
        type=lambda v: v if v == "auto" else float(v),
        default=29.5,
        help="(f) the worker's DELIVERY_RATE: 29.5 (told the limit, as (b)) or auto",
    )
    parser.bounded(
        "--round-trip",
        full=0.03,
        low=0.0,
        high=1.0,
        kind=float,
        help="(f) the fake's round trip in seconds (a third of it as jitter)",
    )
    # Hidden mode: `python -m bench.delivery` is also the fake's process (fake.py).
    hidden = argparse.SUPPRESS
    parser.add_argument("--serve-fake", action="store_true", help=hidden)
    parser.add_argument("--fake-global-rate", type=float, help=hidden)
    parser.add_argument("--fake-per-chat-rate", type=float, help=hidden)
    parser.add_argument("--fake-round-trip", type=float, default=0.0, help=hidden)
    parser.add_argument("--fake-jitter", type=float, default=0.0, help=hidden)
    args = parser.parse(argv)
    if args.concurrency is not None and not 1 <= args.concurrency <= 256:
        parser.error("--concurrency must be 1..256")
    return args


def _add_sizes(parser: BenchParser) -> None:
    """The scenarios' sizes, each with its --quick one."""
    parser.bounded(
        "--subscribers",
        full=20_000,
        quick=3000,
        low=1,
        high=MAX_SUBSCRIBERS,
        help="(a) subscribers",
    )
    parser.bounded(
        "--limited-subscribers",
        full=900,
        quick=150,
        low=100,
        high=10_000,
        help="(b) subscribers",
    )
    parser.bounded(
        "--unknown-subscribers",
        full=5000,
        quick=300,
        low=100,
        high=MAX_SUBSCRIBERS,
        help="(e) subscribers of DELIVERY_RATE=auto's broadcast",
    )
    parser.bounded(
        "--loop-messages",
        full=600,
        quick=60,
        low=10,
        high=10_000,
        help="(e) messages the aiogram loop sends",
    )
    parser.bounded(
        "--lane-subscribers",
        full=10_000,
        quick=1000,
        low=100,
        high=MAX_SUBSCRIBERS,
        help="(f) subscribers of the signal sent fast",
    )
    parser.bounded(
        "--free-lane-subscribers",
        full=10_000,
        quick=300,
        low=100,
        high=MAX_SUBSCRIBERS,
        help="(f) subscribers of the signal sent at the free rate (fewer: extrapolated)",
    )
    parser.bounded(
        "--crash-subscribers",
        full=5000,
        quick=1000,
        low=10,
        high=MAX_SUBSCRIBERS,
        help="(c) subscribers",
    )


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.serve_fake:
        asyncio.run(
            serve_fake(
                args.fake_global_rate,
                args.fake_per_chat_rate,
                args.fake_round_trip,
                args.fake_jitter,
            )
        )
        return 0
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
