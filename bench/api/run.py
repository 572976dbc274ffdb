"""One run: a fresh database seeded, the server against idle fakes, tokens, the checks, the
warm-up and the timed load; and the line that reports it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass

import aiohttp

from bench.api.feed import FEED_LIMIT, FEED_PATH, Phase, check_feed, figures_of, hammer
from bench.api.seed import Seeded, seed
from bench.api.tokens import EXCHANGE_BURST, client_host, negative_checks, obtain_tokens
from bench.shared.basics import PRICE_MONTHLY, REQUEST_TIMEOUT, BenchError
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.figures import Figures
from bench.shared.measures import (
    count_warnings,
    cpu_seconds,
    load_average,
    peak_rss_mb,
    tail_of_log,
)
from bench.shared.servers import FakeURLs, running_server, server_env
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.stripe_api import FakeStripe

SEED_TIMEOUT = 600.0


@contextlib.asynccontextmanager
async def running_fakes() -> AsyncIterator[FakeURLs]:
    """Fake Stripe and fake Bot API in this process: the feed never calls them; the server
    only long-polls getUpdates, and the delivery worker finds nothing to send."""
    async with FakeStripe() as stripe_fake, FakeBotAPI() as bot_fake:
        stripe_fake.add_price(PRICE_MONTHLY, product_name="Pro Signals", unit_amount=4900)
        yield FakeURLs(stripe_fake.base_url, bot_fake.base_url)


@dataclass
class RunResult:
    backend: str
    figures: Figures
    error_kinds: Counter[str]
    mismatched: int
    checked: int
    rss_mb: float | None
    server_cpu: float | None
    client_cpu: float
    server_warnings: int
    load_before: str
    load_after: str
    failure: str | None = None
    problem: str | None = None

    @property
    def failed(self) -> bool:
        return self.failure is not None or self.figures.errors > 0 or self.mismatched > 0


@dataclass
class Setup:
    """What every run of one invocation shares, for the header line."""

    seeded: Seeded | None = None
    tokens: int = 0
    addresses: str = ""
    checks: str = ""
    shown: bool = False  # printed (after the first run)


@dataclass
class Measured:
    """What one server's load phase produced."""

    phase: Phase | None = None
    failure: str | None = None
    server_cpu: float | None = None
    client_cpu: float = 0.0
    load_before: str = ""
    load_after: str = ""


async def drive(
    args: argparse.Namespace, base_url: str, seeded: Seeded, setup: Setup, server_pid: int
) -> Measured:
    """Tokens, checks, the reference answer, the warm-up, then the timed phase."""
    tokens = await _tokens(args, base_url, seeded, setup)
    measured = Measured(load_before=load_average())
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    url = base_url + FEED_PATH
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        reference = await _reference(http, url, tokens[0], seeded)

        def burst(total: int) -> Awaitable[Phase]:
            return asyncio.wait_for(
                hammer(
                    http,
                    url=url,
                    tokens=tokens,
                    total=total,
                    concurrency=args.concurrency,
                    reference=reference,
                ),
                args.timeout,
            )

        # Warm-up: connections open, caches and code paths hot; checked, not timed.
        try:
            warm = await burst(args.warmup)
        except TimeoutError:
            measured.failure = f"the warm-up took over {args.timeout:.0f} s (--timeout)"
            return measured
        if warm.non_200 or warm.mismatched:
            measured.failure = (
                f"warm-up: non-200 {dict(warm.statuses)}, {warm.mismatched} bodies differ "
                f"{warm.first_problem or ''}"
            )
        measured.load_before = load_average()
        cpu_before = cpu_seconds(server_pid)
        client_before = time.process_time()
        try:
            phase = await burst(args.requests)
        except TimeoutError:
            measured.failure = f"the run took over {args.timeout:.0f} s (--timeout)"
            return measured
        cpu_after = cpu_seconds(server_pid)
        measured.load_after = load_average()
    measured.phase = phase
    measured.client_cpu = (time.process_time() - client_before) / phase.seconds
    if cpu_before is not None and cpu_after is not None:
        measured.server_cpu = (cpu_after - cpu_before) / phase.seconds
    return measured


async def _tokens(
    args: argparse.Namespace, base_url: str, seeded: Seeded, setup: Setup
) -> list[str]:
    """A token for each of --tokens subscribers, spread over them all rather than the first
    few ids; then the checks that access without one, or after it lapsed, is refused."""
    step = max(1, len(seeded.subscribers) // args.tokens)
    users = seeded.subscribers[::step][: args.tokens]
    tokens = await obtain_tokens(base_url, users)
    slots = math.ceil(len(users) / EXCHANGE_BURST)
    setup.tokens = len(tokens)
    setup.addresses = f"{client_host(0)}..{client_host(slots - 1)}"
    if seeded.lapsed:
        setup.checks = await negative_checks(base_url, seeded.lapsed[0], slots)
    return tokens


async def _reference(http: aiohttp.ClientSession, url: str, token: str, seeded: Seeded) -> bytes:
    """The first answer, parsed and checked against the seed: every later one must be
    byte-identical to it."""
    async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as first:
        reference = await first.read()
        if first.status != 200:
            raise BenchError(f"first feed request: {first.status} {reference[:200]!r}")
    wrong = check_feed(reference, seeded.feed)
    if wrong is not None:
        raise BenchError(f"the feed is not what was seeded: {wrong}")
    return reference


async def one_run(args: argparse.Namespace, fakes: FakeURLs, setup: Setup) -> RunResult:
    with scratch_dir("signaldesk-bench-api-") as workdir:
        database_url = await migrated_database(args.database_url, workdir)
        env = server_env(database_url, fakes, PRICE_MONTHLY)
        try:
            seeded = await asyncio.wait_for(
                seed(database_url, args.subscribers, args.lapsed, args.signals), SEED_TIMEOUT
            )
        except TimeoutError:
            raise BenchError(f"seeding took over {SEED_TIMEOUT:.0f} s") from None
        setup.seeded = seeded
        measured = Measured()
        rss: float | None = None
        warnings = 0
        async with running_server(env, workdir) as server:
            measured = await drive(args, server.base_url, seeded, setup, server.proc.pid)
            rss = peak_rss_mb(server.proc.pid)
            # Counted before SIGTERM, whose own "Received SIGTERM" warning is not news.
            warnings = count_warnings(server.log)
            measured.failure = server.exited_early() or measured.failure
        failure = measured.failure or server.stopped_badly()
        phase = measured.phase or Phase(latencies=[], seconds=0.0)
        figures = figures_of(phase, args.requests)
        problem = phase.first_problem
        if problem is None and (figures.errors or warnings):
            problem = f"server log: {tail_of_log(server.log, 3)}"
    return RunResult(
        backend=backend_of(database_url),
        figures=figures,
        error_kinds=phase.statuses,
        mismatched=phase.mismatched,
        checked=phase.ok,
        rss_mb=rss,
        server_cpu=measured.server_cpu,
        client_cpu=measured.client_cpu,
        server_warnings=warnings,
        load_before=measured.load_before,
        load_after=measured.load_after,
        failure=failure,
        problem=problem,
    )


def format_run(result: RunResult, label: str, args: argparse.Namespace) -> str:
    head = f"api  {result.backend}  {label}  requests={args.requests} "
    head += f"concurrency={args.concurrency}  "
    rss = f"{result.rss_mb:.0f} MB" if result.rss_mb is not None else "n/a"
    cpu = f"{result.server_cpu * 100:.0f}%" if result.server_cpu is not None else "n/a"
    tail = (
        f"\n{'':5}bodies: {result.checked - result.mismatched}/{result.checked} 200s identical "
        f"to the verified {min(args.signals, FEED_LIMIT)}-signal feed  "
        f"peak_rss={rss}  server_cpu={cpu}  client_cpu={result.client_cpu * 100:.0f}%  "
        f"server_warnings={result.server_warnings}  "
        f"load(1/5/15 min) {result.load_before} -> {result.load_after}"
    )
    if result.error_kinds:
        tail += "  non200_kinds=" + ", ".join(f"{k}:{n}" for k, n in result.error_kinds.items())
    if result.failure:
        tail += f"\n{'':5}FAILURE: {result.failure}"
    if result.problem:
        tail += f"\n{'':5}{result.problem}"
    return head + str(result.figures) + tail
