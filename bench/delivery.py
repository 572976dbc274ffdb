"""Delivery bench: the real DeliveryWorker in its own process against a fake Bot API in another."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import func, insert, select

from bench import BOT_TOKEN
from bench.shared.args import BenchParser, print_quick_banner, run_bench
from bench.shared.basics import JSON, READY_TIMEOUT, BenchError
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.figures import repeat_runs
from bench.shared.measures import cpu_seconds, load_average, tail_of_log
from bench.shared.servers import child_env, serve_with_control
from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from db.engine import create_engine, create_session_factory
from db.models import Entitlement, EntitlementSource, OutboxMessage, OutboxStatus, User
from tests.fakes.bot_api import FakeBotAPI
from tests.processes import REPO_ROOT, stop_process

FIRST_USER_ID = 600_000_001
_LANGUAGE = ("en", "ru", "es", "pt-br")  # what the subscribers' Telegram apps report
ADMIN_ID = 900_001
# The admin's "Send" button message: publish() records it and the worker edits it with
# progress between passes, exactly as after a real Send press.
PROGRESS_MESSAGE_ID = 1
PRICE_ID = "price_bench_monthly"
SIGNAL_TEXT = "/signal BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h note bench"

# DESIGN.md, Performance.
TARGET_RATE = 1000.0
TARGET_LIMIT_SHARE = 0.95
TARGET_RSS_MB = 200.0

# (a): so high that only the engine limits the pace (the RateLimiter never sleeps).
UNLIMITED_RATE = 1e6
# (b): the fake counts accepted sendMessage calls in a sliding 1 s window and answers 429
# beyond 30. The worker spaces *starts* evenly, but a request reaches the fake after a
# variable delay (event-loop turns, the HTTP pool, the fake's own loop), so two neighbours
# can arrive closer than 1/30 s and a window can hold 31 arrivals at exactly 30/s. Half a
# message of headroom per second absorbs that jitter, and is cheap: one 429 pauses every
# send for retry_after (1 s, 30 messages), as much as a minute of the headroom costs.
LIMIT_RATE = 30.0
LIMITED_WORKER_RATE = 29.5
STEADY_AFTER = 2.0  # seconds: (b) counts rate and 429s after the first sends' ramp-up

# (e): a limit the worker is not told, drawn from this range by the seed, with Telegram's
# 1/s per chat, behind a round trip of 30 ms +- 10 ms; DELIVERY_RATE=auto against it, and
# beside it the loop most aiogram bots run (send, sleep 0.05 s, sleep out a 429).
UNKNOWN_LIMITS = (20.0, 40.0)
ROUND_TRIP = 0.03
ROUND_TRIP_JITTER = 0.01
LOOP_SLEEP = 0.05
TARGET_THROTTLED_PER_1000 = 1.0

# (c): the app's LEASE is 60 s; the worker processes of (c) use this instead (see --help).
CRASH_LEASE_SECONDS = 3.0
CRASH_POLL_SECONDS = 0.005
SETTLE_SECONDS = 0.3
# (a): a pause this long between two arrivals is a stall (the spacing is 1 ms at 1,000/s).
STALL_SECONDS = 0.02

SEED_CHUNK = 5000
STOP_TIMEOUT = 30.0
IDLE_WAIT = 0.05
MAX_SUBSCRIBERS = 200_000


# ---------------------------------------------------------------------------
# Helper-process mode 1: the fake Bot API with a control endpoint
# ---------------------------------------------------------------------------


class _SendCounter:
    """Counts accepted sendMessage calls incrementally, so a poll costs O(new calls)."""

    def __init__(self, fake: FakeBotAPI) -> None:
        self._fake = fake
        self._cursor = 0
        self.accepted = 0

    def catch_up(self) -> int:
        calls = self._fake.calls
        for call in calls[self._cursor :]:
            if call.method == "sendMessage" and call.error is None:
                self.accepted += 1
        self._cursor = len(calls)
        return self.accepted


def fake_records(fake: FakeBotAPI) -> JSON:
    """Every sendMessage the fake accepted (chat, message id, arrival) and every 429's time."""
    # The k-th accepted sendMessage call and the k-th SentMessage are recorded in the same
    # synchronous step of the fake's handler, so zipping them in order pairs them exactly.
    sent = iter(fake.sent_messages())
    sends: list[tuple[int, int, float]] = []
    throttled: list[float] = []
    methods: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for call in fake.calls:
        methods[call.method] += 1
        if call.method != "sendMessage":
            continue
        if call.error is None:
            message = next(sent)
            if message.chat_id != call.params.get("chat_id"):
                raise RuntimeError("the fake's call log and message log are out of step")
            sends.append((int(message.chat_id), message.message_id, call.at))
        elif call.error == 429:
            throttled.append(call.at)
        else:
            errors[str(call.error)] += 1
    return {"sends": sends, "throttled": throttled, "methods": methods, "errors": errors}


async def serve_fake(
    global_rate: float | None, per_chat_rate: float | None, round_trip: float, jitter: float
) -> None:
    """Run the fake until stdin closes (the bench finished or died)."""
    fake = FakeBotAPI(
        global_rate=global_rate, per_chat_rate=per_chat_rate, round_trip=round_trip, jitter=jitter
    )
    counter = _SendCounter(fake)

    async def count(_request: web.Request) -> web.Response:
        return web.json_response({"sent": counter.catch_up(), "throttled": fake.throttled})

    async def records(_request: web.Request) -> web.Response:
        return web.json_response(fake_records(fake))

    control = web.Application()
    control.router.add_get("/count", count)
    control.router.add_get("/records", records)
    await serve_with_control(fake, control)


# ---------------------------------------------------------------------------
# Processes, seen from the bench
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Records:
    sends: list[tuple[int, int, float]]  # chat id, message id, arrival (monotonic)
    throttled: list[float]
    methods: dict[str, int]
    errors: dict[str, int]


@dataclass
class Fake:
    """The fake Bot API process: its Bot API base URL and its control endpoint."""

    proc: asyncio.subprocess.Process
    api: str
    control: str
    http: aiohttp.ClientSession

    async def sent(self) -> int:
        async with self.http.get(f"{self.control}/count") as response:
            data = await response.json()
        return int(data["sent"])

    async def settled(self) -> int:
        """The accepted count once requests that were already on the wire are answered."""
        last = await self.sent()
        for _ in range(int(STOP_TIMEOUT / SETTLE_SECONDS)):
            await asyncio.sleep(SETTLE_SECONDS)
            now = await self.sent()
            if now == last:
                return now
            last = now
        raise BenchError(f"the fake still receives sends {STOP_TIMEOUT:.0f} s after the stop")

    async def records(self) -> Records:
        async with self.http.get(f"{self.control}/records") as response:
            data = await response.json()
        return Records(
            sends=[(int(c), int(m), float(t)) for c, m, t in data["sends"]],
            throttled=[float(t) for t in data["throttled"]],
            methods={str(k): int(v) for k, v in data["methods"].items()},
            errors={str(k): int(v) for k, v in data["errors"].items()},
        )

    def cpu(self) -> float | None:
        return cpu_seconds(self.proc.pid)


@contextlib.asynccontextmanager
async def running_fake(
    workdir: Path,
    *,
    global_rate: float | None = None,
    per_chat_rate: float | None = None,
    round_trip: float = 0.0,
) -> AsyncIterator[Fake]:
    argv = [sys.executable, "-m", "bench.delivery", "--serve-fake"]
    if round_trip:
        argv += ["--fake-round-trip", str(round_trip), "--fake-jitter", str(ROUND_TRIP_JITTER)]
    if global_rate is not None:
        argv += ["--fake-global-rate", str(global_rate)]
    if per_chat_rate is not None:
        argv += ["--fake-per-chat-rate", str(per_chat_rate)]
    log = workdir / "fake.log"
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            cwd=REPO_ROOT,
            env=child_env(),
        )
    try:
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT)
        except TimeoutError:
            raise BenchError(f"the fake Bot API was not ready in {READY_TIMEOUT:.0f} s") from None
        if not line:
            raise BenchError(f"the fake Bot API exited before it was ready: {tail_of_log(log)}")
        urls = json.loads(line)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            yield Fake(proc, str(urls["api"]), str(urls["control"]), http)
        if proc.returncode is not None:
            raise BenchError(f"the fake Bot API died ({proc.returncode}): {tail_of_log(log)}")
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # EOF: the fake closes its servers and exits
        await stop_process(proc, grace=5.0, sig=None)


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How the bench builds the worker processes, from its own command line."""

    concurrency: int | None = None  # None: DeliveryWorker's default

    @classmethod
    def of(cls, args: argparse.Namespace) -> WorkerOptions:
        return cls(concurrency=args.concurrency)

    def argv(self) -> list[str]:
        return [] if self.concurrency is None else ["--concurrency", str(self.concurrency)]


@dataclass(frozen=True, slots=True)
class WorkerReport:
    claimed: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    baseline_rss_mb: float
    stopped: bool
    wind_down: float | None

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.seconds if self.seconds > 0 else math.nan


async def start_worker(
    database_url: str,
    api: str,
    log: Path,
    *,
    rate: float | str,
    lease: float | None,
    deadline: float,
    options: WorkerOptions,
) -> asyncio.subprocess.Process:
    argv = [
        sys.executable,
        "-m",
        "bench.delivery_worker",
        "--database-url",
        database_url,
        "--api-base",
        api,
        "--rate",
        str(rate),
        "--deadline",
        repr(deadline),
    ]
    if lease is not None:
        argv += ["--lease-seconds", repr(lease)]
    argv += options.argv()
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            *argv,
            # A pipe the worker watches: if this bench dies, the worker stops too.
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            cwd=REPO_ROOT,
            env=child_env(),
        )


async def collect_worker(
    proc: asyncio.subprocess.Process, log: Path, limit: float
) -> WorkerReport:
    """Wait for the worker to end by itself and read its report; anything else fails."""
    assert proc.stdout is not None
    try:
        # Not communicate(): it would close stdin, which the worker takes as "stop".
        out = await asyncio.wait_for(proc.stdout.read(), limit)
        code = await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
    except TimeoutError:
        raise BenchError(
            f"the worker did not finish within {limit:.0f} s: {tail_of_log(log)}"
        ) from None
    if code == 3:
        raise BenchError(
            f"the worker did not drain the outbox within its deadline: {tail_of_log(log)}"
        )
    if code != 0:
        raise BenchError(f"the worker exited with {code}: {tail_of_log(log)}")
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        data = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise BenchError(f"the worker printed no report: {tail_of_log(log)}") from None
    return WorkerReport(
        claimed=int(data["claimed"]),
        seconds=float(data["seconds"]),
        cpu_seconds=float(data["cpu_seconds"]),
        peak_rss_mb=float(data["peak_rss_mb"]),
        baseline_rss_mb=float(data["baseline_rss_mb"]),
        stopped=bool(data["stopped"]),
        wind_down=None if data["wind_down"] is None else float(data["wind_down"]),
    )


async def run_worker(
    database_url: str,
    api: str,
    log: Path,
    *,
    rate: float | str,
    lease: float | None,
    limit: float,
    options: WorkerOptions,
) -> WorkerReport:
    proc = await start_worker(
        database_url,
        api,
        log,
        rate=rate,
        lease=lease,
        deadline=max(limit - 10, 1),
        options=options,
    )
    try:
        return await collect_worker(proc, log, limit)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        await stop_process(proc, grace=STOP_TIMEOUT, sig=signal.SIGTERM)


def worker_timeout(messages: int, rate: float) -> float:
    """Generous bound for one drain: 20 % of the target pace, or of the set rate."""
    return 60.0 + messages / min(rate, TARGET_RATE * 0.2)


# ---------------------------------------------------------------------------
# Seeding the database and checking it afterwards
# ---------------------------------------------------------------------------


async def seed_and_publish(url: str, subscribers: int) -> tuple[list[int], float]:
    """N paying subscribers (bulk-inserted), then one signal published as the app does it.

    Returns the subscribers' chat ids and how long publish() took (it writes the outbox).
    """
    chats = [FIRST_USER_ID + i for i in range(subscribers)]
    expires = datetime.now(UTC) + timedelta(days=30)
    engine = create_engine(url)
    session_factory = create_session_factory(engine)
    try:
        async with session_factory() as session, session.begin():
            for start in range(0, subscribers, SEED_CHUNK):
                chunk = chats[start : start + SEED_CHUNK]
                # Telegram apps report a language: the worker renders each in its own.
                await session.execute(
                    insert(User),
                    [
                        {
                            "id": chat,
                            "first_name": f"Sub {chat}",
                            "language_code": _LANGUAGE[i % 4],
                        }
                        for i, chat in enumerate(chunk)
                    ],
                )
                await session.execute(
                    insert(Entitlement),
                    [
                        {
                            "user_id": chat,
                            "source": EntitlementSource.STRIPE,
                            "source_ref": f"sub_bench_{chat}",
                            "status": "active",
                            "price_id": PRICE_ID,
                            "expires_at": expires,
                            "state_version": 1,
                        }
                        for chat in chunk
                    ],
                )
        # The two transactions of the chat flow: /signal makes the draft, Send publishes it.
        async with session_factory() as session, session.begin():
            draft = await signals.create_draft(session, parse_signal(SIGNAL_TEXT), ADMIN_ID)
        started = time.perf_counter()
        async with session_factory() as session, session.begin():
            broadcast = await signals.publish(
                session,
                draft.id,
                datetime.now(UTC),
                admin_chat_id=ADMIN_ID,
                progress_message_id=PROGRESS_MESSAGE_ID,
            )
        took = time.perf_counter() - started
    finally:
        await engine.dispose()
    if broadcast.total != subscribers:
        raise BenchError(f"publish() addressed {broadcast.total} of {subscribers} subscribers")
    return chats, took


@dataclass
class Check:
    """What the fake received, against what the engine recorded."""

    subscribers: int
    lost: int  # subscribers with no message at the fake
    twice: int  # subscribers with more than one
    strangers: int  # messages to chats that are not subscribers
    rows: int
    rows_not_sent: int  # outbox rows not `sent` with a message id
    ids_twice: int  # (chat, message id) recorded by more than one row
    ids_unknown: int  # a recorded id the fake never gave that chat
    ids_later_copy: int  # the recorded id is a re-send, not the chat's first copy

    def problems(self, *, duplicates_allowed: bool = False) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{self.lost} subscribers got no message")
        if self.twice and not duplicates_allowed:
            found.append(f"{self.twice} subscribers got the signal twice")
        if self.strangers:
            found.append(f"{self.strangers} messages went to chats that are not subscribers")
        if self.rows != self.subscribers:
            found.append(f"{self.rows} outbox rows for {self.subscribers} subscribers")
        if self.rows_not_sent:
            found.append(f"{self.rows_not_sent} outbox rows not sent with a message id")
        if self.ids_twice:
            found.append(f"{self.ids_twice} message ids recorded by two rows")
        if self.ids_unknown:
            found.append(f"{self.ids_unknown} recorded message ids the fake never sent")
        return found

    def describe(self, *, duplicates_allowed: bool = False) -> str:
        found = self.problems(duplicates_allowed=duplicates_allowed)
        if found:
            return "FAILED: " + "; ".join(found)
        return f"ok ({self.subscribers:,} chats got it, {self.rows:,} rows sent with a message id)"


async def check_delivery(url: str, chats: list[int], records: Records) -> Check:
    delivered: dict[int, list[int]] = {}
    for chat, message_id, _ in sorted(records.sends, key=lambda send: send[2]):
        delivered.setdefault(chat, []).append(message_id)
    subscribers = set(chats)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        OutboxMessage.chat_id,
                        OutboxMessage.status,
                        OutboxMessage.telegram_message_id,
                    ).where(OutboxMessage.kind == "signal")
                )
            ).all()
    finally:
        await engine.dispose()
    recorded = Counter(
        (int(row.chat_id), int(row.telegram_message_id))
        for row in rows
        if row.telegram_message_id is not None
    )
    unknown = later = 0
    for (chat, message_id), _ in recorded.items():
        copies = delivered.get(chat, [])
        if message_id not in copies:
            unknown += 1
        elif message_id != copies[0]:
            later += 1
    return Check(
        subscribers=len(subscribers),
        lost=sum(1 for chat in subscribers if chat not in delivered),
        twice=sum(1 for chat in subscribers if len(delivered.get(chat, ())) > 1),
        strangers=sum(len(ids) for chat, ids in delivered.items() if chat not in subscribers),
        rows=len(rows),
        rows_not_sent=sum(
            1 for row in rows if row.status != OutboxStatus.SENT or row.telegram_message_id is None
        ),
        ids_twice=sum(1 for n in recorded.values() if n > 1),
        ids_unknown=unknown,
        ids_later_copy=later,
    )


async def outbox_state(url: str) -> tuple[int, int, datetime | None]:
    """Rows sent, rows pending under a lease, and when the last lease runs out."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            sent = await conn.scalar(
                select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
            )
            leased, until = (
                await conn.execute(
                    select(func.count(), func.max(OutboxMessage.lease_until)).where(
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.lease_until.is_not(None),
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    if isinstance(until, str):  # SQLite hands an aggregate back untyped
        until = datetime.fromisoformat(until)
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    return int(sent or 0), int(leased or 0), until


def load() -> str:
    return f"load {load_average()}"


def load_since(start: float) -> str:
    """The 1-minute load average at a run's start and now: others share these 2 cores."""
    return f"load {start:.2f} -> {os.getloadavg()[0]:.2f}"


# ---------------------------------------------------------------------------
# (a) + (d): no limit
# ---------------------------------------------------------------------------


def stalls(times: list[float]) -> tuple[float, int, float]:
    """The longest pause between two arrivals, and how many pauses over STALL_SECONDS took
    how long in all: where the pipeline ran dry (batch ends, claiming, preparing)."""
    times = sorted(times)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    long = [gap for gap in gaps if gap > STALL_SECONDS]
    return max(gaps, default=0.0), len(long), sum(long)


def pace(times: list[float]) -> tuple[float, float, float]:
    """Messages/s from first to last arrival, over the middle 80 %, and the span in s."""
    times = sorted(times)
    if len(times) < 2:
        return math.nan, math.nan, 0.0
    span = times[-1] - times[0]
    overall = len(times) / span if span > 0 else math.inf
    low, high = int(len(times) * 0.1), int(len(times) * 0.9) - 1
    middle_span = times[high] - times[low]
    middle = (high - low) / middle_span if middle_span > 0 else math.inf
    return overall, middle, span


@dataclass
class RunA:
    backend: str
    subscribers: int
    publish_seconds: float
    overall: float
    middle: float
    span: float
    worker: WorkerReport
    fake_cpu: float | None
    edits: int
    stalls: tuple[float, int, float]
    check: Check
    load: str

    @property
    def cpu_per_message(self) -> float:
        """The worker's CPU per message in ms: unlike msg/s, barely moved by other load."""
        return self.worker.cpu_seconds * 1000 / self.subscribers

    def line(self, label: str) -> str:
        fake_cpu = f"{self.fake_cpu * 100:.0f} %" if self.fake_cpu is not None else "n/a"
        return (
            f"(a) {self.backend:<10} {label}  {self.subscribers:,} subscribers  "
            f"sustained {self.overall:,.0f} msg/s (middle 80 %: {self.middle:,.0f} msg/s) "
            f"over {self.span:.1f} s\n"
            f"{'':4}publish() wrote the outbox in {self.publish_seconds:.2f} s; worker "
            f"cpu {self.worker.cpu_share * 100:.0f} % ({self.cpu_per_message:.2f} ms/msg), "
            f"fake cpu {fake_cpu}, "
            f"peak RSS {self.worker.peak_rss_mb:.0f} MB ({self.worker.baseline_rss_mb:.0f} MB "
            f"before the first claim); progress edits {self.edits}\n"
            f"{'':4}stalls over {STALL_SECONDS * 1000:.0f} ms: {self.stalls[1]}, "
            f"{self.stalls[2]:.2f} s in all, longest {self.stalls[0] * 1000:.0f} ms; "
            f"{self.load}\n"
            f"{'':4}verify {self.check.describe()}"
        )


async def scenario_a(database: str | None, subscribers: int, options: WorkerOptions) -> RunA:
    with scratch_dir("signaldesk-bench-delivery-") as workdir:
        load_start = os.getloadavg()[0]
        url = await migrated_database(database, workdir)
        chats, publish_seconds = await seed_and_publish(url, subscribers)
        async with running_fake(workdir) as fake:
            fake_before, wall_before = fake.cpu(), time.monotonic()
            report = await run_worker(
                url,
                fake.api,
                workdir / "worker.log",
                rate=UNLIMITED_RATE,
                lease=None,
                limit=worker_timeout(subscribers, UNLIMITED_RATE),
                options=options,
            )
            fake_after, wall = fake.cpu(), time.monotonic() - wall_before
            records = await fake.records()
        check = await check_delivery(url, chats, records)
    arrivals = [at for _, _, at in records.sends]
    overall, middle, span = pace(arrivals)
    fake_cpu = (
        (fake_after - fake_before) / wall
        if fake_before is not None and fake_after is not None
        else None
    )
    return RunA(
        backend=backend_of(database),
        subscribers=subscribers,
        publish_seconds=publish_seconds,
        overall=overall,
        middle=middle,
        span=span,
        worker=report,
        fake_cpu=fake_cpu,
        edits=records.methods.get("editMessageText", 0),
        stalls=stalls(arrivals),
        check=check,
        load=load_since(load_start),
    )


# ---------------------------------------------------------------------------
# (b): the fake enforces 30/s
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# (e): a limit nobody publishes; auto beside the common aiogram loop
# ---------------------------------------------------------------------------


@dataclass
class Paced:
    """One sender against the fake: accepted sends a second and its 429s."""

    messages: int
    rate: float
    throttled: int

    def share(self, limit: float) -> float:
        return self.rate / limit

    @property
    def per_1000(self) -> float:
        return 1000 * self.throttled / max(1, self.messages)


@dataclass
class RunE:
    backend: str
    limit: float
    project: Paced
    loop: Paced
    check: Check

    def line(self) -> str:
        return (
            f"(e) {self.backend:<10} fake at {self.limit:.1f}/s (unknown to the senders) and "
            f"1/s per chat, round trip {ROUND_TRIP * 1000:.0f} ms +- "
            f"{ROUND_TRIP_JITTER * 1000:.0f} ms\n"
            f"{'':4}DELIVERY_RATE=auto: {self.project.messages:,} messages at "
            f"{self.project.rate:.2f} msg/s = {self.project.share(self.limit) * 100:.1f} % of "
            f"the limit, {self.project.throttled} x 429 ({self.project.per_1000:.2f} per 1,000)\n"
            f"{'':4}aiogram loop (send, sleep {LOOP_SLEEP} s): {self.loop.messages:,} messages "
            f"at {self.loop.rate:.2f} msg/s = {self.loop.share(self.limit) * 100:.1f} %, "
            f"{self.loop.throttled} x 429\n"
            f"{'':4}verify {self.check.describe()}"
        )


def paced(records: Records) -> Paced:
    """Accepted sends a second from the first to the last (learning included)."""
    times = sorted(at for _, _, at in records.sends)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else math.nan
    return Paced(len(times), rate, len(records.throttled))


async def aiogram_loop(api: str, chats: list[int]) -> None:
    """What most aiogram bots do: send, sleep 0.05 s; on a 429 sleep it out and resend."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramRetryAfter

    session = AiohttpSession(api=TelegramAPIServer.from_base(api))
    async with Bot(BOT_TOKEN, session=session) as bot:
        for chat in chats:
            while True:
                try:
                    await bot.send_message(chat, "Signal")
                    break
                except TelegramRetryAfter as error:
                    await asyncio.sleep(error.retry_after)
            await asyncio.sleep(LOOP_SLEEP)


async def scenario_e(
    database: str | None, subscribers: int, loop_messages: int, seed: int, options: WorkerOptions
) -> RunE:
    limit = round(random.Random(seed).uniform(*UNKNOWN_LIMITS), 1)
    fake_options = {"global_rate": limit, "per_chat_rate": 1.0, "round_trip": ROUND_TRIP}
    with scratch_dir("signaldesk-bench-delivery-") as workdir:
        url = await migrated_database(database, workdir)
        chats, _ = await seed_and_publish(url, subscribers)
        async with running_fake(workdir, **fake_options) as fake:
            await run_worker(
                url,
                fake.api,
                workdir / "worker.log",
                rate="auto",
                lease=None,
                limit=worker_timeout(subscribers, UNKNOWN_LIMITS[0] * 0.8),
                options=options,
            )
            records = await fake.records()
        check = await check_delivery(url, chats, records)
        async with running_fake(workdir, **fake_options) as fake:
            await aiogram_loop(fake.api, chats[:loop_messages])
            loop_records = await fake.records()
    return RunE(backend_of(database), limit, paced(records), paced(loop_records), check)


async def run_e(args: argparse.Namespace, results: Results) -> None:
    result = await scenario_e(
        args.database_url,
        args.unknown_subscribers,
        args.loop_messages,
        args.seed,
        WorkerOptions.of(args),
    )
    results.e.append(result)
    results.failures += [f"(e): {p}" for p in result.check.problems()]
    print(result.line(), flush=True)


# ---------------------------------------------------------------------------
# (c): the worker killed mid-broadcast
# ---------------------------------------------------------------------------


@dataclass
class RunC:
    backend: str
    variant: str  # SIGKILL or SIGTERM
    subscribers: int
    threshold: int
    at_signal: int  # sends the fake had accepted just after the signal went out
    exit_code: int
    stop_seconds: float
    wind_down: float | None  # SIGTERM: from the signal to the end of the drain loop
    after_stop: int  # accepted sends once the dead worker's last requests were answered
    rows_sent: int  # rows the engine had recorded as sent by then
    leased: int  # rows claimed by the stopped worker and not sent: wait for the lease
    lease_wait: float
    resume_seconds: float
    check: Check
    load: str

    @property
    def unacknowledged(self) -> int:
        """Sends Telegram accepted that the engine had not recorded: re-sent on restart."""
        return self.after_stop - self.rows_sent

    def problems(self) -> list[str]:
        found = self.check.problems(duplicates_allowed=self.variant == "SIGKILL")
        if self.variant == "SIGTERM" and self.exit_code != 0:
            found.append(f"the worker exited with {self.exit_code} on SIGTERM")
        if self.variant == "SIGKILL" and self.check.twice != self.unacknowledged:
            found.append(
                f"{self.check.twice} sent twice, but {self.unacknowledged} were unacknowledged"
            )
        return found

    def line(self) -> str:
        found = self.problems()
        verdict = "FAILED: " + "; ".join(found) if found else "ok"
        stop = (
            f"in flight at the kill (fake calls minus acknowledged rows): {self.unacknowledged}"
            if self.variant == "SIGKILL"
            else f"exit {self.exit_code} {self.stop_seconds:.2f} s after SIGTERM (drain loop "
            f"done in {(self.wind_down or 0) * 1000:.0f} ms, the rest is closing and exiting), "
            f"{self.after_stop - self.at_signal} sends answered after the signal, "
            f"unacknowledged {self.unacknowledged}"
        )
        return (
            f"(c) {self.backend:<10} {self.variant} after {self.at_signal:,} of "
            f"{self.subscribers:,} sends (random point >= {self.threshold:,})  lost "
            f"{self.check.lost}, sent twice {self.check.twice}\n"
            f"{'':4}{stop}; {self.leased} rows left under lease, restart after "
            f"{self.lease_wait:.1f} s, rest delivered in {self.resume_seconds:.1f} s; "
            f"{self.load}\n"
            f"{'':4}engine: rows not sent {self.check.rows_not_sent}, message ids recorded "
            f"twice {self.check.ids_twice}, rows holding a re-sent copy's id "
            f"{self.check.ids_later_copy}; verify {verdict}"
        )


async def scenario_c(
    database: str | None,
    subscribers: int,
    *,
    variant: signal.Signals,
    rng: random.Random,
    lease: float,
    options: WorkerOptions,
) -> RunC:
    threshold = rng.randint(math.ceil(subscribers * 0.1), math.floor(subscribers * 0.9))
    timeout = worker_timeout(subscribers, UNLIMITED_RATE)
    wind_down: float | None = None
    with scratch_dir("signaldesk-bench-delivery-") as workdir:
        load_start = os.getloadavg()[0]
        url = await migrated_database(database, workdir)
        chats, _ = await seed_and_publish(url, subscribers)
        log = workdir / "worker.log"
        async with running_fake(workdir) as fake:
            proc = await start_worker(
                url,
                fake.api,
                log,
                rate=UNLIMITED_RATE,
                lease=lease,
                deadline=timeout - 10,
                options=options,
            )
            try:
                deadline = time.monotonic() + timeout
                while await fake.sent() < threshold:
                    if proc.returncode is not None:
                        raise BenchError(
                            f"the worker exited early ({proc.returncode}): {tail_of_log(log)}"
                        )
                    if time.monotonic() > deadline:
                        raise BenchError(f"no {threshold} sends within {timeout:.0f} s")
                    await asyncio.sleep(CRASH_POLL_SECONDS)
                signalled = time.monotonic()
                proc.send_signal(variant)
                at_signal = await fake.sent()
                if variant == signal.SIGKILL:
                    try:
                        exit_code = await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
                    except TimeoutError:
                        raise BenchError("the worker outlived SIGKILL") from None
                else:
                    # A graceful stop must end by itself and report; collect_worker checks both.
                    wind_down = (await collect_worker(proc, log, STOP_TIMEOUT)).wind_down
                    exit_code = proc.returncode if proc.returncode is not None else -1
                stop_seconds = time.monotonic() - signalled
            finally:
                if proc.stdin is not None:
                    proc.stdin.close()
                await stop_process(proc, grace=STOP_TIMEOUT, sig=signal.SIGKILL)
            after_stop = await fake.settled()
            rows_sent, leased, until = await outbox_state(url)
            lease_wait = 0.0
            if until is not None:
                # Restart only once every lease of the dead worker has run out, plus a margin
                # for the clocks of the two processes reading the same wall clock.
                lease_wait = max(0.0, (until - datetime.now(UTC)).total_seconds() + 0.25)
                await asyncio.sleep(lease_wait)
            resumed = await run_worker(
                url,
                fake.api,
                log,
                rate=UNLIMITED_RATE,
                lease=lease,
                limit=timeout,
                options=options,
            )
            records = await fake.records()
        check = await check_delivery(url, chats, records)
    return RunC(
        backend=backend_of(database),
        variant=variant.name,
        subscribers=subscribers,
        threshold=threshold,
        at_signal=at_signal,
        exit_code=exit_code,
        stop_seconds=stop_seconds,
        wind_down=wind_down,
        after_stop=after_stop,
        rows_sent=rows_sent,
        leased=leased,
        lease_wait=lease_wait,
        resume_seconds=resumed.seconds,
        check=check,
        load=load_since(load_start),
    )


# ---------------------------------------------------------------------------
# The bench
# ---------------------------------------------------------------------------


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Results:
    a: dict[str, list[RunA]] = field(default_factory=dict)
    b: list[RunB] = field(default_factory=list)
    c: list[RunC] = field(default_factory=list)
    e: list[RunE] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def summary_e(runs: list[RunE]) -> list[tuple[str, str, str]]:
    rows = []
    for run in runs:
        share, per_1000 = run.project.share(run.limit), run.project.per_1000
        rows.append(
            (
                f"(e) auto, unknown limit {run.limit:.1f}/s: {run.project.rate:.2f} msg/s = "
                f"{share * 100:.1f} %, {per_1000:.2f} x 429 per 1,000",
                f">= {TARGET_LIMIT_SHARE * 100:.0f} %, <= {TARGET_THROTTLED_PER_1000:.0f} x 429 "
                "per 1,000",
                met(share >= TARGET_LIMIT_SHARE and per_1000 <= TARGET_THROTTLED_PER_1000)
                + f" (aiogram loop: {run.loop.share(run.limit) * 100:.1f} %)",
            )
        )
    return rows


def summary(results: Results, args: argparse.Namespace) -> list[str]:
    """One line per figure: the figure, DESIGN.md's target, and whether it was met."""
    rows: list[tuple[str, str, str]] = []
    for backend, runs in results.a.items():
        rate = median([r.overall for r in runs])
        middle = median([r.middle for r in runs])
        cpu = median([r.cpu_per_message for r in runs])
        scope = "" if backend == "sqlite" else " (stated for SQLite)"
        rows.append(
            (
                f"(a) {backend}, {runs[0].subscribers:,} subscribers, no limit: {rate:,.0f} msg/s",
                f">= {TARGET_RATE:,.0f}/s sustained{scope}",
                f"{met(rate >= TARGET_RATE)} (middle 80 %: {middle:,.0f} msg/s; "
                f"worker {cpu:.2f} ms CPU/msg)",
            )
        )
    if results.b:
        share = median([r.share for r in results.b])
        rate = median([r.steady_rate for r in results.b])
        throttled = max(r.throttled_steady for r in results.b)
        rows.append(
            (
                f"(b) fake enforcing {LIMIT_RATE:.0f}/s: {rate:.2f} msg/s = {share * 100:.1f} %",
                f">= {TARGET_LIMIT_SHARE * 100:.0f} % of the limit",
                met(share >= TARGET_LIMIT_SHARE),
            )
        )
        rows.append(
            (
                f"(b) 429s after the first {STEADY_AFTER:.0f} s: {throttled} (worst run)",
                "0 in steady state",
                met(throttled == 0),
            )
        )
    for run in results.c:
        ok = run.check.lost == 0 and run.check.twice == 0 and not run.problems()
        why = ""
        if run.variant == "SIGKILL" and run.check.twice and not run.problems():
            why = f" (the {run.unacknowledged} sends in flight at the kill)"
        rows.append(
            (
                f"(c) {run.backend}, {run.variant} at {run.at_signal:,}/{run.subscribers:,}: "
                f"lost {run.check.lost}, sent twice {run.check.twice}",
                "resumes; 0 lost, 0 sent twice",
                met(ok) + why,
            )
        )
    for backend, runs in results.a.items():
        rss = max(r.worker.peak_rss_mb for r in runs)
        baseline = max(r.worker.baseline_rss_mb for r in runs)
        rows.append(
            (
                f"(d) {backend}, worker peak RSS in (a): {rss:.0f} MB",
                f"<= {TARGET_RSS_MB:.0f} MB",
                f"{met(rss <= TARGET_RSS_MB)} ({baseline:.0f} MB before the first claim; "
                "largest run)",
            )
        )
    rows += summary_e(results.e)
    runs_note = f"medians of {args.runs} run(s) for (a) and (b)"
    if args.quick:
        runs_note = f"QUICK {runs_note}; indicative only, not the real figures"
    lines = [f"summary ({runs_note}; {load()})"]
    if rows:
        width = max(len(figure) for figure, _, _ in rows)
        target_width = max(len(target) for _, target, _ in rows)
        lines += [
            f"  {figure:<{width}}  target {target:<{target_width}}  {verdict}"
            for figure, target, verdict in rows
        ]
    if results.failures:
        lines.append("FAILURES: " + " | ".join(results.failures))
    return lines


async def run_a(args: argparse.Namespace, results: Results) -> None:
    def one(result: RunA, label: str) -> str:
        results.a.setdefault(result.backend, []).append(result)
        results.failures += [f"(a) {result.backend}: {p}" for p in result.check.problems()]
        return result.line(label)

    await repeat_runs(
        args.runs,
        lambda: scenario_a(args.database_url, args.subscribers, WorkerOptions.of(args)),
        one,
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


async def run_c(args: argparse.Namespace, rng: random.Random, results: Results) -> None:
    print(
        f"(c) lease {args.lease_seconds:g} s instead of the app's 60 s: "
        "the worker processes of (c) are built with that lease "
        "only, so the restart need not wait a minute",
        flush=True,
    )
    for variant in (signal.SIGKILL, signal.SIGTERM):
        result = await scenario_c(
            args.database_url,
            args.crash_subscribers,
            variant=variant,
            rng=rng,
            lease=args.lease_seconds,
            options=WorkerOptions.of(args),
        )
        results.c.append(result)
        print(result.line(), flush=True)
        results.failures += [
            f"(c) {result.backend} {variant.name}: {p}" for p in result.problems()
        ]


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
            "  the worker (`python -m bot worker`'s, built by bench.delivery_worker), the fake "
            "Bot API and this bench are three processes; rates are taken from arrival times "
            "at the fake",
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
    except BenchError as error:
        results.failures.append(str(error))
        print(f"bench failed: {error}", file=sys.stderr, flush=True)
    for line in summary(results, args):
        print(line)
    return 1 if results.failures else 0


def parse_only(value: str) -> set[str]:
    chosen = {part.strip() for part in value.split(",") if part.strip()}
    if not chosen or not chosen <= {"a", "b", "c", "d", "e"}:
        raise argparse.ArgumentTypeError("a comma-separated subset of a,b,c,d,e")
    return chosen


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = BenchParser(
        prog="python -m bench.delivery",
        description=(
            "The real delivery worker in its own process against a fake Bot API in another: "
            "(a) no limit, (b) a fake enforcing 30/s, (c) the worker killed mid-broadcast, "
            "(d) the worker's peak RSS during (a), (e) DELIVERY_RATE=auto against a limit it "
            "is not told (20-40/s, drawn by the seed) beside the common aiogram loop."
        ),
        database="signaldesk_bench_delivery",
        seed=(None, "(c) RNG seed for the kill points, (e) for the unknown limit"),
        runs_help="runs of (a) and (b); medians",
    )
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
        "--crash-subscribers",
        full=5000,
        quick=1000,
        low=10,
        high=MAX_SUBSCRIBERS,
        help="(c) subscribers",
    )
    parser.add_argument(
        "--only",
        type=parse_only,
        default={"a", "b", "c", "d", "e"},
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
    # Hidden mode: this module is also the fake's process.
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
