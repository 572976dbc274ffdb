"""Mini App API bench: GET /api/v1/signals, bearer tokens, 64 concurrent, vs `python -m bot`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import make_url

from bench import BOT_TOKEN
from bench.shared.args import BenchParser, print_quick_banner, run_bench
from bench.shared.basics import JSON, PRICE_MONTHLY, REQUEST_TIMEOUT, BenchError
from bench.shared.databases import backend_of, migrated_database, recreate_postgres, scratch_dir
from bench.shared.figures import Figures, Target, median_lines, repeat_runs
from bench.shared.measures import (
    count_warnings,
    cpu_seconds,
    load_average,
    peak_rss_mb,
    tail_of_log,
)
from bench.shared.servers import FakeURLs, running_server, server_env
from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from bot.signals.updates import parse_update
from db.engine import create_engine, create_session_factory
from db.models import (
    Broadcast,
    Entitlement,
    EntitlementSource,
    OutboxMessage,
    OutboxStatus,
    Signal,
    User,
)
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.stripe_api import FakeStripe
from tests.initdata import sign_init_data

FIRST_USER_ID = 800_000_001
ADMIN_ID = 900_001

FEED_PATH = "/api/v1/signals"
EXCHANGE_PATH = "/api/v1/miniapp/exchange-initdata"
FEED_LIMIT = 50  # what GET /api/v1/signals returns at most (webapp/miniapp_api.py)
# webapp/API.md, Signal.
SIGNAL_KEYS = frozenset(
    {
        "id",
        "symbol",
        "side",
        "entry_low",
        "entry_high",
        "stop_loss",
        "take_profits",
        "leverage",
        "timeframe",
        "note",
        "status",
        "status_label",
        "tp_hit",
        "exit_price",
        "result_pct",
        "result_r",
        "published_at",
        "closed_at",
    }
)

# DESIGN.md, Performance: "Mini App API, bearer auth, 64 concurrent | >= 1,500 requests/s,
# p99 <= 30 ms".
TARGET = Target("Mini App API, bearer auth, 64 concurrent", rate=1500.0, p99_ms=30.0)

# webapp/app.py: ten initData exchanges at once per client address, then one every 6 s.
# Tokens are spread over 127.0.0.2.. (all of 127.0.0.0/8 is loopback on Linux) so the
# bench never waits for the bucket to refill and never sees a 429.
EXCHANGE_BURST = 10
FIRST_CLIENT_HOST = 2
LAST_CLIENT_HOST = 254

MAX_REQUESTS = 500_000
MAX_CONCURRENCY = 256
MAX_SUBSCRIBERS = 100_000
MAX_SIGNALS = 500
MAX_TOKENS = EXCHANGE_BURST * (LAST_CLIENT_HOST - FIRST_CLIENT_HOST)  # one address for checks
SEED_CHUNK = 2000
SEED_TIMEOUT = 600.0


# ---------------------------------------------------------------------------
# Seeding: users and entitlements in bulk, signals through bot.signals.service
# ---------------------------------------------------------------------------

# (symbol, side, entry, stop, take-profits), used in turn.
_TEMPLATES: tuple[tuple[str, str, str, str, str], ...] = (
    ("BTCUSDT", "long", "65000", "63500", "67000 69000"),
    ("ETHUSDT", "short", "3400-3450", "3520", "3300 3200 3100"),
    ("SOLUSDT", "long", "150", "142", "160 170"),
    ("XRPUSDT", "short", "0.62", "0.65", "0.58 0.55"),
    ("BNBUSDT", "long", "580-590", "565", "610 630 650"),
)


@dataclass
class Seeded:
    subscribers: list[int]  # users with access, in id order
    lapsed: list[int]  # users whose subscription has ended (no access)
    feed: list[tuple[int, str]]  # (id, status) the feed must show, newest first
    closed: int
    outbox_rows: int
    seconds: float


def _signal_text(index: int) -> str:
    symbol, side, entry, stop, tps = _TEMPLATES[index % len(_TEMPLATES)]
    lev = f" lev {index % 10 + 1}" if index % 3 else ""
    return (
        f"/signal {symbol} {side} entry {entry} sl {stop} tp {tps}{lev} tf 4h note bench #{index}"
    )


def _update_for(index: int) -> list[str]:
    """Follow-ups of the index-th signal: half end closed (stop, all TPs, TP1 then close,
    cancel), one in ten hits TP1 and stays open, the rest have none yet."""
    take_profits = len(_TEMPLATES[index % len(_TEMPLATES)][4].split())
    plans = {
        0: ["sl"],
        1: [f"tp{n}" for n in range(1, take_profits + 1)],
        2: ["tp1"],
        3: ["tp1", "close {exit}"],
        4: ["cancel"],
    }
    return plans.get(index % 10, [])


async def seed(database_url: str, subscribers: int, lapsed: int, n_signals: int) -> Seeded:
    """A database as a live bot would have it after a few weeks: every message delivered."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    subscriber_ids = [FIRST_USER_ID + i for i in range(subscribers)]
    lapsed_ids = [FIRST_USER_ID + subscribers + i for i in range(lapsed)]
    try:
        async with factory() as session, session.begin():
            users = [
                {
                    "id": uid,
                    "first_name": f"Sub {uid}",
                    "username": f"sub{uid}",
                    "language_code": "en",
                    "created_at": now - timedelta(days=60),
                    "updated_at": now - timedelta(days=60),
                }
                for uid in subscriber_ids + lapsed_ids
            ]
            for start in range(0, len(users), SEED_CHUNK):
                await session.execute(insert(User), users[start : start + SEED_CHUNK])
            rows: list[JSON] = []
            for n, uid in enumerate(subscriber_ids):
                grant = n % 10 == 9  # one in ten has an admin grant, the rest pay
                rows.append(
                    {
                        "user_id": uid,
                        "source": EntitlementSource.GRANT if grant else EntitlementSource.STRIPE,
                        "source_ref": f"admin:{ADMIN_ID}" if grant else f"sub_bench{uid}",
                        "status": "active" if n % 20 else "trialing",
                        "price_id": None if grant else PRICE_MONTHLY,
                        "expires_at": now + timedelta(days=1 + n % 29),
                    }
                )
            for uid in lapsed_ids:
                rows.append(
                    {
                        "user_id": uid,
                        "source": EntitlementSource.STRIPE,
                        "source_ref": f"sub_bench{uid}",
                        "status": "canceled",
                        "price_id": PRICE_MONTHLY,
                        "expires_at": now - timedelta(days=3),
                    }
                )
            for start in range(0, len(rows), SEED_CHUNK):
                await session.execute(insert(Entitlement), rows[start : start + SEED_CHUNK])

        # Signals as the admin posts them: draft, publish (one outbox row per subscriber),
        # then /update follow-ups half an hour apart; two hours between signals.
        for index in range(n_signals):
            published = now - timedelta(hours=2 * (n_signals - index))
            async with factory() as session, session.begin():
                draft = await signals.create_draft(
                    session, parse_signal(_signal_text(index)), ADMIN_ID
                )
                await signals.publish(session, draft.id, published)
                signal_id = draft.id
                entry = draft.entry_high
            for step, update_text in enumerate(_update_for(index), start=1):
                command = update_text.format(exit=entry * 101 / 100)
                async with factory() as session, session.begin():
                    await signals.post_update(
                        session,
                        parse_update(f"/update {signal_id} {command}"),
                        ADMIN_ID,
                        published + timedelta(minutes=30 * step),
                    )

        # Everything was delivered long ago: the delivery worker and the progress reporter
        # stay idle while the bench runs.
        async with factory() as session, session.begin():
            outbox = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
                .values(status=OutboxStatus.SENT, sent_at=now, lease_until=None)
            )
            await session.execute(
                update(Broadcast).where(Broadcast.finished_at.is_(None)).values(finished_at=now)
            )
            feed = (
                await session.execute(
                    select(Signal.id, Signal.status)
                    .where(Signal.published_at.is_not(None))
                    .order_by(Signal.published_at.desc(), Signal.id.desc())
                    .limit(FEED_LIMIT)
                )
            ).all()
            closed = int(
                await session.scalar(
                    select(func.count()).select_from(Signal).where(Signal.closed_at.is_not(None))
                )
                or 0
            )
    finally:
        await engine.dispose()
    return Seeded(
        subscribers=subscriber_ids,
        lapsed=lapsed_ids,
        feed=[(int(i), str(s)) for i, s in feed],
        closed=closed,
        outbox_rows=int(outbox.rowcount),  # type: ignore[attr-defined]
        seconds=time.perf_counter() - started,
    )


# ---------------------------------------------------------------------------
# Tokens: POST /api/v1/miniapp/exchange-initdata from several loopback addresses
# ---------------------------------------------------------------------------


def client_host(slot: int) -> str:
    return f"127.0.0.{FIRST_CLIENT_HOST + slot}"


def _init_data(user_id: int) -> str:
    user = {"id": user_id, "first_name": f"Sub {user_id}", "username": f"sub{user_id}"}
    return sign_init_data(BOT_TOKEN, user)


async def _exchange(http: aiohttp.ClientSession, base_url: str, user_id: int) -> str:
    async with http.post(
        base_url + EXCHANGE_PATH, json={"init_data": _init_data(user_id)}
    ) as response:
        raw = await response.read()
        if response.status != 200:
            raise BenchError(
                f"exchange-initdata for user {user_id}: {response.status} {raw[:200]!r}"
            )
    answer = json.loads(raw)
    if answer.get("token_type") != "Bearer" or answer.get("user", {}).get("id") != user_id:
        raise BenchError(f"exchange-initdata answered {answer!r}")
    return str(answer["token"])


@contextlib.asynccontextmanager
async def bound_client(host: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client whose connections come from `host` (one rate-limit bucket per address)."""
    connector = aiohttp.TCPConnector(local_addr=(host, 0), limit=4)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        yield http


async def obtain_tokens(base_url: str, user_ids: Sequence[int]) -> list[str]:
    """One token per user, at most EXCHANGE_BURST exchanges per client address."""
    chunks = [
        list(user_ids[start : start + EXCHANGE_BURST])
        for start in range(0, len(user_ids), EXCHANGE_BURST)
    ]

    async def from_address(slot: int, chunk: list[int]) -> list[str]:
        async with bound_client(client_host(slot)) as http:
            return [await _exchange(http, base_url, uid) for uid in chunk]

    results = await asyncio.gather(*(from_address(i, c) for i, c in enumerate(chunks)))
    return [token for chunk_tokens in results for token in chunk_tokens]


async def _get(http: aiohttp.ClientSession, url: str, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as response:
        return response.status, json.loads(await response.read())


async def negative_checks(base_url: str, lapsed_user: int, slot: int) -> str:
    """The access check is real: 401 without a token, 403 no_access for a lapsed subscriber."""
    async with bound_client(client_host(slot)) as http:
        token = await _exchange(http, base_url, lapsed_user)
        url = base_url + FEED_PATH
        no_token = await _get(http, url, None)
        lapsed = await _get(http, url, token)
        forged = await _get(http, url, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    outcome = {
        "no token": (no_token, 401, "unauthorized"),
        "lapsed": (lapsed, 403, "no_access"),
        "forged": (forged, 401, "unauthorized"),
    }
    for name, ((status, body), want_status, want_code) in outcome.items():
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        if status != want_status or code != want_code:
            raise BenchError(
                f"{name}: expected {want_status} {want_code}, got {status} {body!r:.200}"
            )
    return "401 without token, 401 forged, 403 no_access for a lapsed subscriber"


# ---------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------


def check_feed(raw: bytes, expected: list[tuple[int, str]]) -> str | None:
    """None when `raw` is the feed the seed implies; otherwise what is wrong."""
    try:
        body = json.loads(raw)
    except ValueError:
        return f"not JSON: {raw[:100]!r}"
    items = body.get("signals") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return f"no 'signals' list: {raw[:100]!r}"
    if len(items) != len(expected):
        return f"{len(items)} signals, expected {len(expected)}"
    for item, (signal_id, status) in zip(items, expected, strict=True):
        if not isinstance(item, dict) or set(item) != SIGNAL_KEYS:
            return f"signal keys differ from API.md: {sorted(item)!r}"
        if (item["id"], item["status"]) != (signal_id, status):
            return f"got signal {item['id']} {item['status']}, expected {signal_id} {status}"
    return None


@dataclass
class Phase:
    """One burst of `total` requests at `concurrency`, every answer checked."""

    latencies: list[float]  # seconds, per request
    seconds: float
    statuses: Counter[str] = field(default_factory=Counter)  # non-200 kinds
    ok: int = 0  # 200 answers
    mismatched: int = 0
    first_problem: str | None = None

    @property
    def non_200(self) -> int:
        return sum(self.statuses.values())


def _error_code(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["error"]["code"])
    except (ValueError, TypeError, KeyError):
        return "unparsable"


async def hammer(
    http: aiohttp.ClientSession,
    *,
    url: str,
    tokens: Sequence[str],
    total: int,
    concurrency: int,
    reference: bytes,
) -> Phase:
    """`concurrency` workers, each a different subscriber, send `total` requests between them.

    Every 200 body must be byte-identical to `reference` (verified once with check_feed): the
    feed has no per-user or per-request fields, so that is a full check at memcmp cost.
    """
    latencies = [math.nan] * total
    phase = Phase(latencies=latencies, seconds=0.0)
    issued = 0
    headers = [{"Authorization": f"Bearer {token}"} for token in tokens]

    async def worker(slot: int) -> None:
        nonlocal issued
        mine = headers[slot % len(headers)]
        clock = time.perf_counter
        while issued < total:
            index = issued
            issued += 1
            started = clock()
            try:
                async with http.get(url, headers=mine) as response:
                    raw = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                latencies[index] = clock() - started
                phase.statuses[f"0 {type(error).__name__}"] += 1
                continue
            latencies[index] = clock() - started
            if status != 200:
                phase.statuses[f"{status} {_error_code(raw)}"] += 1
                continue
            phase.ok += 1
            if raw != reference:
                phase.mismatched += 1
                if phase.first_problem is None:
                    phase.first_problem = f"body differs from the reference: {raw[:120]!r}"

    started = time.perf_counter()
    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    phase.seconds = time.perf_counter() - started
    return phase


# ---------------------------------------------------------------------------
# The fakes (in this process)
# ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_fakes() -> AsyncIterator[FakeURLs]:
    """Fake Stripe and fake Bot API in this process: the feed never calls them; the server
    only long-polls getUpdates, and the delivery worker finds nothing to send."""
    async with FakeStripe() as stripe_fake, FakeBotAPI() as bot_fake:
        stripe_fake.add_price(PRICE_MONTHLY, product_name="Pro Signals", unit_amount=4900)
        yield FakeURLs(stripe_fake.base_url, bot_fake.base_url)


# ---------------------------------------------------------------------------
# Runs and figures
# ---------------------------------------------------------------------------


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


def figures_of(phase: Phase, total: int) -> Figures:
    latencies = sorted(x * 1000 for x in phase.latencies if not math.isnan(x))
    rate = total / phase.seconds if phase.seconds > 0 else math.inf
    errors = phase.non_200 + (total - len(latencies))
    return Figures.of(rate, latencies, errors, unit="req/s", name="non200")


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
    # Spread over the subscribers, not just the first few ids.
    step = max(1, len(seeded.subscribers) // args.tokens)
    users = seeded.subscribers[::step][: args.tokens]
    tokens = await obtain_tokens(base_url, users)
    slots = math.ceil(len(users) / EXCHANGE_BURST)
    setup.tokens = len(tokens)
    setup.addresses = f"{client_host(0)}..{client_host(slots - 1)}"
    if seeded.lapsed:
        setup.checks = await negative_checks(base_url, seeded.lapsed[0], slots)
    measured = Measured(load_before=load_average())
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    url = base_url + FEED_PATH
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        async with http.get(url, headers={"Authorization": f"Bearer {tokens[0]}"}) as first:
            reference = await first.read()
            if first.status != 200:
                raise BenchError(f"first feed request: {first.status} {reference[:200]!r}")
        wrong = check_feed(reference, seeded.feed)
        if wrong is not None:
            raise BenchError(f"the feed is not what was seeded: {wrong}")

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
