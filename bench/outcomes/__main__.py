"""`python -m bench.outcomes [--postgres] [--quick] [--part passes|delay|both]`: the price
watcher's CPU per pass and memory over 200 open signals on 50 symbols (passes.py), and the
delay from a scripted touch to the subscribers' update through `python -m bot`
(delay.py); the fake exchange in its own process, read by ccxt over real HTTP."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from collections.abc import Sequence

from bench.outcomes import delay, passes
from bench.outcomes.exchange import running_exchange, serve_exchange
from bench.outcomes.market import SYMBOLS, walk_lines
from bench.shared.args import BenchParser, print_quick_banner, run_bench
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.measures import load_average


async def _passes(args: argparse.Namespace) -> None:
    runs = []
    for run in range(1, args.runs + 1):
        with scratch_dir("signaldesk-bench-outcomes-") as workdir:
            url = await migrated_database(args.database_url, workdir)
            async with running_exchange(workdir) as exchange:
                figures = await passes.measure(
                    url,
                    exchange,
                    subscribers=args.subscribers,
                    minutes=args.minutes,
                    seed_value=args.seed + run,
                )
        runs.append(figures)
        print(f"passes run {run}/{args.runs}", flush=True)
        for line in figures.lines():
            print(line, flush=True)
    if len(runs) > 1:
        reading = statistics.median(statistics.median(r.reading_cpu_ms) for r in runs)
        replay = statistics.median(r.replay_cpu_ms for r in runs)
        peak = statistics.median(r.peak_mb for r in runs)
        print(
            f"passes, medians of {len(runs)}: reading pass {reading:.0f} ms CPU, replay pass "
            f"{replay:.0f} ms CPU, peak RSS {peak:.0f} MB",
            flush=True,
        )


async def _delay(args: argparse.Namespace) -> None:
    with scratch_dir("signaldesk-bench-outcomes-delay-") as workdir:
        url = await migrated_database(args.database_url, workdir)
        async with running_exchange(workdir) as exchange:
            figures = await delay.measure(
                url, exchange, workdir, subscribers=args.delay_subscribers, touches=args.touches
            )
    print(f"delay ({args.touches} touches, check every {delay.CHECK_SECONDS} s)", flush=True)
    for line in figures.lines():
        print(line, flush=True)


async def bench(args: argparse.Namespace) -> int:
    print_quick_banner(args)
    signals = len(SYMBOLS) * len(walk_lines(SYMBOLS[0]))
    print(
        f"outcomes bench  backend {backend_of(args.database_url)}; {signals} signals over "
        f"{len(SYMBOLS)} symbols; seed {args.seed}; {os.cpu_count()} CPUs; "
        f"load {load_average()}",
        flush=True,
    )
    if args.part in ("passes", "both"):
        await _passes(args)
    if args.part in ("delay", "both"):
        await _delay(args)
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = BenchParser(
        prog="python -m bench.outcomes",
        description=__doc__.splitlines()[0] if __doc__ else "",
        database="signaldesk_bench_outcomes",
        seed=(None, "the candles' random walk"),
        runs_help="runs of the passes on fresh databases",
    )
    parser.bounded("--minutes", full=20, quick=5, low=1, high=600, help="reading passes a run")
    parser.bounded(
        "--subscribers", full=100, quick=20, low=1, high=10_000, help="passes' subscribers"
    )
    parser.bounded("--touches", full=3, quick=1, low=1, high=20, help="touches timed end to end")
    parser.bounded(
        "--delay-subscribers",
        full=20,
        quick=5,
        low=1,
        high=1000,
        help="subscribers told of a touch",
    )
    parser.add_argument("--part", choices=("passes", "delay", "both"), default="both")
    parser.add_argument("--serve-exchange", action="store_true", help=argparse.SUPPRESS)
    return parser.parse(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.serve_exchange:
        asyncio.run(serve_exchange())
        return 0
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
