"""One run: a fresh database, the server (or several behind HAProxy) against the fakes, the
plan sent, the database checked; and the lines that report it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bench.shared.basics import PRICE_MONTHLY
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.figures import Figures
from bench.shared.measures import count_warnings, peak_rss_mb, tail_of_log
from bench.shared.servers import FakeURLs, Server, running_servers, server_env
from bench.webhooks.cpu import CpuPerEvent, cpu_meter
from bench.webhooks.load import Sample, send_all, summarise
from bench.webhooks.plan import Plan
from bench.webhooks.stripe_objects import PRICE_YEARLY
from bench.webhooks.verify import Verification, verify
from tests.support.cluster import running_haproxy


@dataclass
class RunResult:
    backend: str
    figures: Figures
    error_kinds: Counter[str]
    duplicates_seen: int
    duplicates_sent: int
    rss_mb: float | None
    cpu: CpuPerEvent | None
    server_warnings: int
    verification: Verification | None
    failure: str | None = None
    log_tail: str | None = None

    @property
    def failed(self) -> bool:
        return (
            self.failure is not None
            or self.figures.errors > 0
            or self.verification is None
            or not self.verification.ok
            or self.duplicates_seen != self.duplicates_sent
        )


@contextlib.asynccontextmanager
async def serving(
    env: dict[str, str], workdir: Path, instances: int
) -> AsyncIterator[tuple[str, list[Server]]]:
    """One server, or `instances` of them behind HAProxy (tests/support/cluster.py, the set-up
    docs/operations.md's "Running several instances" describes); yields the URL to send to."""
    async with running_servers(env, workdir, instances) as servers:
        if instances == 1:
            yield servers[0].base_url, servers
            return
        ports = [int(server.base_url.rsplit(":", 1)[1]) for server in servers]
        async with running_haproxy(ports, workdir) as balancer:
            yield balancer, servers


async def _load(
    args: argparse.Namespace, plan: Plan, url: str, servers: list[Server], database_url: str
) -> tuple[list[Sample], CpuPerEvent | None, str | None]:
    """The plan sent, timed, and the CPU it took; or why it failed."""
    meter = cpu_meter(servers, database_url)
    meter.start()
    failure = None
    samples: list[Sample] = []
    try:
        samples = await asyncio.wait_for(send_all(url, plan.sends, args.concurrency), args.timeout)
    except TimeoutError:
        failure = f"the run took over {args.timeout:.0f} s (--timeout)"
    used = await meter.stop()
    return samples, CpuPerEvent.of(meter, used, len(samples)) if samples else None, failure


async def one_run(args: argparse.Namespace, plan: Plan, fakes: FakeURLs) -> RunResult:
    with scratch_dir("signaldesk-bench-run-") as workdir:
        database_url = await migrated_database(args.database_url, workdir)
        env = server_env(database_url, fakes, f"{PRICE_MONTHLY},{PRICE_YEARLY}")
        warmup = min(args.warmup, len(plan.sends) // 10)
        async with serving(env, workdir, args.instances) as (url, servers):
            samples, cpu, failure = await _load(args, plan, url, servers, database_url)
            rss = max((peak_rss_mb(s.proc.pid) or 0.0 for s in servers), default=None)
            # Counted before SIGTERM, whose own "Received SIGTERM" warning is not news.
            warnings = sum(count_warnings(server.log) for server in servers)
            log_tail = tail_of_log(servers[0].log, 3)
            failure = next((s.exited_early() for s in servers if s.exited_early()), failure)
        failure = failure or next((s.stopped_badly() for s in servers if s.stopped_badly()), None)
        verification = await verify(database_url, plan) if failure is None else None

    rate, latencies = summarise(samples, warmup)
    bad = [s for s in samples if not 200 <= s.status < 300]
    errors = len(bad) + (len(plan.sends) - len(samples))
    return RunResult(
        backend=backend_of(database_url),
        figures=Figures.of(rate, latencies, errors, unit="ev/s", name="errors"),
        error_kinds=Counter(f"{s.status} {s.outcome}" for s in bad),
        duplicates_seen=sum(1 for s in samples if s.outcome == "duplicate"),
        duplicates_sent=plan.duplicates,
        rss_mb=rss,
        cpu=cpu,
        server_warnings=warnings,
        verification=verification,
        failure=failure,
        log_tail=log_tail if bad else None,
    )


def format_run(result: RunResult, label: str, args: argparse.Namespace) -> str:
    head = f"webhooks  {result.backend}  {label}  events={args.events} "
    head += f"concurrency={args.concurrency}  instances={args.instances}  "
    body = str(result.figures)
    rss = f"{result.rss_mb:.0f} MB" if result.rss_mb is not None else "n/a"
    verdict = result.verification.describe() if result.verification else "not run"
    tail = (
        f"\n{'':10}duplicates={result.duplicates_seen}/{result.duplicates_sent}  peak_rss={rss}  "
        f"server_warnings={result.server_warnings}  verify={verdict}"
        f"\n{'':10}{result.cpu or 'cpu/event=n/a'}"
    )
    if result.error_kinds:
        tail += "  error_kinds=" + ", ".join(f"{k}:{n}" for k, n in result.error_kinds.items())
    if result.failure:
        tail += f"\n{'':10}FAILURE: {result.failure}"
    elif result.log_tail:
        tail += f"\n{'':10}server log: {result.log_tail}"
    return head + body + tail
