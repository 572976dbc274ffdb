"""`python -m bench.api`: the runs against idle fakes, the set-up described once, and the
median against DESIGN.md's target."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from sqlalchemy.engine import make_url

from bench.api.feed import FEED_PATH
from bench.api.run import RunResult, Setup, format_run, one_run, running_fakes
from bench.api.tokens import EXCHANGE_BURST, EXCHANGE_PATH, FIRST_CLIENT_HOST, LAST_CLIENT_HOST
from bench.shared.args import BenchParser, print_quick_banner, run_bench
from bench.shared.basics import BenchError
from bench.shared.databases import backend_of, recreate_postgres
from bench.shared.figures import Target, median_lines, repeat_runs
from bench.shared.measures import load_average

# DESIGN.md, Performance: "Mini App API, bearer auth, 64 concurrent | >= 1,500 requests/s,
# p99 <= 30 ms".
TARGET = Target("Mini App API, bearer auth, 64 concurrent", rate=1500.0, p99_ms=30.0)

MAX_REQUESTS = 500_000
MAX_CONCURRENCY = 256
MAX_SUBSCRIBERS = 100_000
MAX_SIGNALS = 500
MAX_TOKENS = EXCHANGE_BURST * (LAST_CLIENT_HOST - FIRST_CLIENT_HOST)  # one address for checks


def format_median(results: list[RunResult], args: argparse.Namespace) -> list[str]:
    lines = median_lines(
        "api",
        results[0].backend,
        [r.figures for r in results],
        f"requests={args.requests} concurrency={args.concurrency}",
        TARGET,
        quick=args.quick,
    )
    # Little's law: a closed loop of C clients has mean latency C / rate.
    floor = args.concurrency / (TARGET.p99_ms / 1000)
    note = (
        f"note      closed loop: mean latency = concurrency / rate, so p99 <= "
        f"{TARGET.p99_ms:.0f} ms at {args.concurrency} in flight needs > {floor:.0f} req/s"
    )
    return [*lines, note]


def describe_setup(setup: Setup, args: argparse.Namespace) -> str:
    seeded = setup.seeded
    if seeded is None:
        return "setup     (not reached)"
    return (
        f"setup     {len(seeded.subscribers)} subscribers with access (9/10 Stripe, 1/10 "
        f"grant) + {len(seeded.lapsed)} lapsed; {args.signals} signals published through "
        f"bot.signals.service ({seeded.closed} closed by post_update), "
        f"{seeded.outbox_rows} outbox "
        f"rows marked delivered; seeded in {seeded.seconds:.1f} s\n"
        f"tokens    {setup.tokens} bearer tokens for {setup.tokens} different subscribers via "
        f"POST {EXCHANGE_PATH}, at most {EXCHANGE_BURST} per client address "
        f"({setup.addresses}, under the 10-burst limit: no 429, no waiting); one token per "
        f"load worker\n"
        f"checks    {setup.checks or 'skipped (no lapsed users)'}; first feed answer parsed "
        f"and checked against the seed (ids, order, statuses, API.md keys)\n"
        f"load      GET {FEED_PATH}, warm-up {args.warmup} requests (checked, not timed), "
        f"then {args.requests} timed; every answer must be 200 and byte-identical to the "
        f"checked one"
    )


async def bench(args: argparse.Namespace) -> int:
    label = args.database_url or "a temporary SQLite file per run"
    print_quick_banner(args)
    print(
        f"bench     GET {FEED_PATH} against `python -m bot` (own process), load generator "
        f"and idle fakes in this process; database {label}; load(1/5/15 min) {load_average()}",
        flush=True,
    )
    setup = Setup()

    def run_line(result: RunResult, run_label: str) -> str:
        shown = setup.shown
        setup.shown = True
        run = format_run(result, run_label, args)
        return run if shown else f"{describe_setup(setup, args)}\n{run}"

    try:
        async with running_fakes() as fakes:
            results = await repeat_runs(
                args.runs,
                lambda: one_run(args, fakes, setup),
                run_line,
                stop=lambda result: result.failure is not None,
            )
    finally:
        if backend_of(args.database_url) != "sqlite":
            with contextlib.suppress(BenchError):
                await recreate_postgres(make_url(args.database_url), create=False)
    for line in format_median(results, args):
        print(line)
    return 1 if any(r.failed for r in results) else 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = BenchParser(
        prog="python -m bench.api",
        description="GET /api/v1/signals with bearer tokens against `python -m bot`.",
        database="signaldesk_bench_api",
    )
    parser.bounded(
        "--requests",
        full=20000,
        quick=5000,
        low=1,
        high=MAX_REQUESTS,
        help="timed requests per run",
    )
    parser.bounded(
        "--concurrency", full=64, low=1, high=MAX_CONCURRENCY, help="requests in flight"
    )
    parser.bounded(
        "--warmup", full=2000, quick=500, low=1, high=MAX_REQUESTS, help="requests before timing"
    )
    parser.bounded(
        "--subscribers",
        full=1000,
        quick=300,
        low=1,
        high=MAX_SUBSCRIBERS,
        help="users with access",
    )
    parser.bounded(
        "--lapsed",
        full=100,
        quick=30,
        low=0,
        high=MAX_SUBSCRIBERS,
        help="users whose access ended",
    )
    parser.bounded("--signals", full=50, low=1, high=MAX_SIGNALS, help="published signals")
    parser.bounded(
        "--tokens",
        full=64,
        low=1,
        high=MAX_TOKENS,
        help="distinct subscribers with a bearer token",
    )
    parser.bounded(
        "--timeout",
        full=300.0,
        low=1,
        high=3600,
        kind=float,
        help="seconds allowed for one load phase",
    )
    args = parser.parse(argv)
    if args.tokens > args.subscribers:
        parser.error("--tokens cannot exceed --subscribers")
    return args


def main(argv: Sequence[str]) -> int:
    return run_bench(bench, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
