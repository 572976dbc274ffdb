"""The arguments every bench takes (--postgres, --database-url, --quick, --runs, --seed),
the QUICK banner, and running a bench to its exit status."""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from bench.shared.basics import MAX_RUNS, POSTGRES_SERVER, BenchError
from bench.shared.databases import check_disposable


@dataclass(frozen=True, slots=True)
class _Bounded:
    flag: str
    full: float
    quick: float
    low: float
    high: float


class BenchParser(argparse.ArgumentParser):
    """The arguments every bench takes. A size declared with `bounded` has a full default
    and, if it differs, a --quick one, and is checked against its bounds; an explicit
    value wins over both."""

    def __init__(
        self,
        *,
        prog: str,
        description: str,
        database: str,
        seed: tuple[int | None, str] | None = None,
        runs_help: str = "timed runs on fresh databases",
    ) -> None:
        """`database`: the PostgreSQL database --postgres uses; `seed`: a --seed option
        (its default, None for a random one, and its help)."""
        super().__init__(prog=prog, description=description)
        self.postgres_url = f"{POSTGRES_SERVER}/{database}"
        self._bounded: dict[str, _Bounded] = {}
        self._quick = self.add_argument("--quick", action="store_true")
        where = self.add_mutually_exclusive_group()
        where.add_argument(
            "--postgres",
            action="store_true",
            help=f"PostgreSQL only, {self.postgres_url} (dropped and recreated every run); "
            "without it SQLite only, a temporary file per run",
        )
        where.add_argument(
            "--database-url",
            help="SQLAlchemy URL; DROPPED AND RECREATED every run (its name must contain 'bench')",
        )
        self.bounded("--runs", full=3, quick=1, low=1, high=MAX_RUNS, help=runs_help)
        self._seeded = seed is not None
        if seed is not None:
            default, about = seed
            shown = "random" if default is None else default
            self.add_argument(
                "--seed", type=int, default=default, help=f"{about} (default {shown})"
            )

    def bounded(
        self,
        flag: str,
        *,
        full: float,
        quick: float | None = None,
        low: float,
        high: float,
        help: str,
        kind: type[int] | type[float] = int,
    ) -> None:
        quick = full if quick is None else quick
        dest = flag.removeprefix("--").replace("-", "_")
        self._bounded[dest] = _Bounded(flag, full, quick, low, high)
        defaults = f"default {full:g}" + (f", --quick {quick:g}" if quick != full else "")
        self.add_argument(flag, type=kind, help=f"{help} ({defaults})")
        self._quick.help = (
            f"a short run for indicative figures, labelled QUICK: {self.quick_sizes()}"
        )

    def quick_sizes(self) -> str:
        """What --quick changes, e.g. "--runs 1 --events 1000"."""
        return " ".join(
            f"{spec.flag} {spec.quick:g}"
            for spec in self._bounded.values()
            if spec.quick != spec.full
        )

    def parse(self, argv: Sequence[str]) -> argparse.Namespace:
        args = self.parse_args(argv)
        for dest, spec in self._bounded.items():
            if getattr(args, dest) is None:
                setattr(args, dest, spec.quick if args.quick else spec.full)
            if not spec.low <= getattr(args, dest) <= spec.high:
                self.error(f"{spec.flag} must be {spec.low:g}..{spec.high:g}")
        if args.postgres:
            args.database_url = self.postgres_url
        if self._seeded and args.seed is None:
            args.seed = random.SystemRandom().randrange(10**6)
        args.quick_sizes = self.quick_sizes()
        return args


def print_quick_banner(args: argparse.Namespace) -> None:
    """With --quick, the header line that says the figures below are not the real ones."""
    if args.quick:
        print(
            f"QUICK     --quick ({args.quick_sizes}): the figures below are indicative "
            "only, NOT the real ones (run without --quick for those)",
            flush=True,
        )


def run_bench(
    bench: Callable[[argparse.Namespace], Coroutine[Any, Any, int]], args: argparse.Namespace
) -> int:
    """Run `bench(args)`: exit 1 on a BenchError, 130 on Ctrl-C, 143 on SIGTERM."""

    async def cancellable() -> int:
        # SIGTERM cancels the bench like Ctrl-C does, so the finally blocks stop the servers.
        task = asyncio.current_task()
        if task is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await bench(args)

    try:
        if args.database_url is not None and not args.postgres:
            check_disposable(args.database_url)
        return asyncio.run(cancellable())
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except asyncio.CancelledError:  # SIGTERM
        return 143
