"""What the benchmarks share: their common arguments and --quick, databases, the server
under test, repeated runs and their medians, and the measuring helpers.

Process helpers the tests use too (free ports, starting `python -m bot`, stopping it,
waiting for readiness) live in tests/support/processes.py; the fakes in
tests/support/fakes/."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from bench import BOT_TOKEN
from db import migrate
from db.engine import create_engine
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.processes import (
    REPO_ROOT,
    free_port,
    start_bot_logged,
    stop_process,
    wait_http_ready,
)

STRIPE_KEY = "sk_test_signaldesk_bench"
WEBHOOK_SECRET = "whsec_bench_secret_for_signing_webhooks"
PRICE_MONTHLY = "price_bench_monthly"
# Every bench's PostgreSQL database lives here; --postgres names one per bench.
POSTGRES_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
# Bounds so a bench always ends: start-up, migrations, stopping, one request.
READY_TIMEOUT = 30.0
MIGRATE_TIMEOUT = 120.0
STOP_GRACE = 15.0
REQUEST_TIMEOUT = 30.0
MAX_RUNS = 10
JSON = dict[str, Any]
R = TypeVar("R")


class BenchError(Exception):
    """A real failure (crash, timeout, bad setup, bad answers): the bench exits non-zero."""


# ---------------------------------------------------------------------------
# Arguments: --postgres, --database-url, --quick, --runs, --seed
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------


def backend_of(url: str | None) -> str:
    """The backend of `url`; None (the default database) is SQLite."""
    return "sqlite" if url is None else make_url(url).get_backend_name()


def check_disposable(url: str) -> None:
    """Each run wipes the database: refuse one whose name doesn't say it is for benches."""
    name = make_url(url).database or ""
    if "bench" not in Path(name).name:
        raise BenchError(
            f"--database-url: every run drops and recreates the database, so its name must "
            f"contain 'bench' (got {name!r})"
        )


def remove_sqlite_files(database: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


async def recreate_postgres(url: str | URL, *, create: bool = True) -> None:
    """Drop the database `url` names and, unless `create` is false, create it empty."""
    url = make_url(url)
    name = url.database or ""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise BenchError(f"database name {name!r}: use letters, digits and _ only")
    check_disposable(str(url))
    # DROP/CREATE DATABASE cannot run in a transaction, nor while connected to it.
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, SQLAlchemyError) as error:
        line = str(error).splitlines()[0]
        raise BenchError(f"PostgreSQL at {url.host}:{url.port}: {line}") from error
    finally:
        await admin.dispose()


async def fresh_database(url: str | None, workdir: Path) -> str:
    """A new empty database for one run: a SQLite file in workdir, or a recreated one."""
    if url is None:
        return f"sqlite+aiosqlite:///{workdir / 'signaldesk.db'}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        remove_sqlite_files(parsed.database or "")
        return url
    await recreate_postgres(parsed)
    return url


async def migrated_database(url: str | None, workdir: Path) -> str:
    """`fresh_database`, brought to the newest revision as `python -m bot migrate` does it
    (the same db.migrate.upgrade, in this process: no second aiogram import per run)."""
    url = await fresh_database(url, workdir)
    engine = create_engine(url)
    try:
        await asyncio.wait_for(migrate.upgrade(engine), MIGRATE_TIMEOUT)
    except TimeoutError:
        raise BenchError(f"migrations took over {MIGRATE_TIMEOUT:.0f} s") from None
    finally:
        await engine.dispose()
    return url


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory, removed afterwards unless BENCH_KEEP=1 (to read the logs)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"kept    {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------
# The server under test: `python -m bot` against the fakes
# ---------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a bench's helper process: this one's, this checkout importable,
    no proxy for the fakes on 127.0.0.1, and `extra`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["NO_PROXY"] = "127.0.0.1"
    env.update(extra)
    return env


async def serve_with_control(fake: FakeBotAPI, control: web.Application) -> None:
    """Run the fake Bot API and its control app (a second small server on its own port:
    the fake's app is built inside FakeBotAPI) until stdin closes, the bench finished or
    died; their URLs go out first, as one JSON line on stdout."""
    runner = web.AppRunner(control, access_log=None)
    async with fake:
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            port = int(runner.addresses[0][1])
            urls = {"api": fake.base_url, "control": f"http://127.0.0.1:{port}"}
            print(json.dumps(urls), flush=True)  # noqa: T201 - the bench reads it
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
        finally:
            await runner.cleanup()


@dataclass(frozen=True, slots=True)
class FakeURLs:
    stripe: str
    bot: str


def server_env(database_url: str, fakes: FakeURLs, price_ids: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "BOT_TOKEN": BOT_TOKEN,
            "DATABASE_URL": database_url,
            "WEB_HOST": "127.0.0.1",
            "TELEGRAM_API_BASE": fakes.bot,
            "STRIPE_API_KEY": STRIPE_KEY,
            "STRIPE_API_BASE": fakes.stripe,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_PRICE_IDS": price_ids,
            "LOG_LEVEL": "WARNING",
            # Pin long polling and no admins whatever the caller's environment says.
            "PUBLIC_URL": "",
            "ADMIN_IDS": "",
            "NO_PROXY": "127.0.0.1",
            # The code of this checkout, whatever the virtualenv's editable install points at.
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
    )
    return env


@dataclass
class Server:
    """`python -m bot` running for one run; `exit_code` is set once it has been stopped."""

    proc: asyncio.subprocess.Process
    base_url: str
    log: Path
    exit_code: int | None = None

    def stopped_badly(self) -> str | None:
        """Why the stop went wrong (not 0 nor killed by SIGTERM), or None."""
        if self.exit_code in (0, -signal.SIGTERM):
            return None
        return f"server exited with {self.exit_code} on SIGTERM: {tail_of_log(self.log)}"

    def exited_early(self) -> str | None:
        """Why the server is gone before the bench stopped it, or None."""
        if self.proc.returncode is None:
            return None
        return f"server exited with {self.proc.returncode} during the run: {tail_of_log(self.log)}"


@contextlib.asynccontextmanager
async def running_server(env: dict[str, str], workdir: Path) -> AsyncIterator[Server]:
    """The server on a free port, ready; stopped with SIGTERM (then killed) on exit."""
    async with running_servers(env, workdir, 1) as (server,):
        yield server


@contextlib.asynccontextmanager
async def running_servers(
    env: dict[str, str], workdir: Path, count: int
) -> AsyncIterator[list[Server]]:
    """`count` servers on free ports (one log each), all ready; stopped with SIGTERM (then
    killed) on exit."""
    async with contextlib.AsyncExitStack() as stack:
        servers = []
        for number in range(count):
            name = "server.log" if count == 1 else f"server{number + 1}.log"
            servers.append(await stack.enter_async_context(_server(env, workdir / name)))
        for server in servers:
            problem = await wait_http_ready(server.proc, server.base_url, within=READY_TIMEOUT)
            if problem is not None:
                raise BenchError(f"server {problem}: {tail_of_log(server.log)}")
        yield servers


@contextlib.asynccontextmanager
async def _server(env: dict[str, str], log: Path) -> AsyncIterator[Server]:
    port = free_port()
    with log.open("wb") as out:
        proc = await start_bot_logged([], {**env, "PORT": str(port)}, log.parent, out)
        server = Server(proc, f"http://127.0.0.1:{port}", log)
        try:
            yield server
        finally:
            server.exit_code = await stop_process(proc, grace=STOP_GRACE, sig=signal.SIGTERM)


# ---------------------------------------------------------------------------
# Runs, figures, medians
# ---------------------------------------------------------------------------


async def repeat_runs(
    runs: int,
    one_run: Callable[[], Awaitable[R]],
    line: Callable[[R, str], str],
    *,
    stop: Callable[[R], bool] | None = None,
) -> list[R]:
    """`runs` runs, each printed as "run i/N" when it ends; one for which `stop` is true
    ends the series (a crash or timeout will not improve by repeating it)."""
    results: list[R] = []
    for run in range(1, runs + 1):
        result = await one_run()
        results.append(result)
        print(line(result, f"run {run}/{runs}"), flush=True)
        if stop is not None and stop(result):
            break
    return results


@dataclass(frozen=True, slots=True)
class Figures:
    """The headline numbers of a load phase, in the one format every line uses."""

    rate: float
    p50: float
    p90: float
    p99: float
    max: float
    errors: int
    unit: str  # of the rate: "ev/s", "req/s"
    errors_name: str  # what counts as an error: "errors", "non200"

    @classmethod
    def of(
        cls, rate: float, latencies_ms: Sequence[float], errors: int, *, unit: str, name: str
    ) -> Figures:
        """From the rate and the already sorted latencies in ms."""
        return cls(
            rate=rate,
            p50=percentile(latencies_ms, 0.50),
            p90=percentile(latencies_ms, 0.90),
            p99=percentile(latencies_ms, 0.99),
            max=latencies_ms[-1] if latencies_ms else math.nan,
            errors=errors,
            unit=unit,
            errors_name=name,
        )

    def __str__(self) -> str:
        return (
            f"rate={self.rate:.0f} {self.unit}  p50={self.p50:.1f} ms  p90={self.p90:.1f} ms  "
            f"p99={self.p99:.1f} ms  max={self.max:.1f} ms  {self.errors_name}={self.errors}"
        )


def median_figures(runs: Sequence[Figures]) -> Figures:
    """Medians of every figure, except errors: a sum, since any error is a failure."""

    def med(pick: Callable[[Figures], float]) -> float:
        return statistics.median(pick(f) for f in runs)

    return Figures(
        rate=med(lambda f: f.rate),
        p50=med(lambda f: f.p50),
        p90=med(lambda f: f.p90),
        p99=med(lambda f: f.p99),
        max=med(lambda f: f.max),
        errors=sum(f.errors for f in runs),
        unit=runs[0].unit,
        errors_name=runs[0].errors_name,
    )


@dataclass(frozen=True, slots=True)
class Target:
    """A DESIGN.md performance target: a rate and a p99, stated for SQLite."""

    design: str  # the row's name in DESIGN.md
    rate: float
    p99_ms: float


def median_lines(
    name: str,
    backend: str,
    runs: Sequence[Figures],
    params: str,
    target: Target,
    *,
    quick: bool,
) -> list[str]:
    """The median line and the target line under a bench's runs."""
    figures = median_figures(runs)
    label = f"QUICK median of {len(runs)}" if quick else f"median of {len(runs)}"
    line = f"{name}  {backend}  {label}  {params}  {figures}"
    met_rate = "met" if figures.rate >= target.rate else "MISSED"
    met_p99 = "met" if figures.p99 <= target.p99_ms else "MISSED"
    scope = "" if backend == "sqlite" else " (the target is stated for SQLite)"
    if quick:
        scope += " (QUICK figures: indicative only)"
    return [
        line,
        f"target    DESIGN.md '{target.design}': rate >= {target.rate:.0f} {figures.unit} "
        f"({met_rate}), p99 <= {target.p99_ms:.0f} ms ({met_p99}){scope}",
    ]


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


# ---------------------------------------------------------------------------
# Measuring processes and logs
# ---------------------------------------------------------------------------


def tail_of_log(path: Path, lines: int = 5) -> str:
    try:
        text_lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line[:200] for line in text_lines[-lines:]) or "(empty log)"


def count_warnings(log: Path) -> int:
    text_lines = log.read_text(errors="replace").splitlines()
    return sum(1 for line in text_lines if " WARNING " in line or " ERROR " in line)


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the process's peak resident set, as the kernel counts it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, to tell a CPU-bound server from a starved one."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
