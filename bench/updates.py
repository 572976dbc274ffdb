"""Chat updates end to end: the project beside a bare aiogram bot, on the same fake.

`python -m bench.updates [--users N] [--quick] [--postgres]`: a fake Bot API in its own
process queues, for N users, a `/help` and a `/status` each (2N updates; new users, so the
project registers them), and the bot under test takes them by long polling (getUpdates)
and answers each with one sendMessage. The figure is updates a second from the first
queued to the last answer the fake accepted. Beside it, the same updates to a bare aiogram
bot (one handler answering every message, no database, no middleware), the framework's
ceiling on this machine. Target (DESIGN.md): >= 1,000 updates/s on SQLite and >= 75 % of
the bare bot's figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from bench import BOT_TOKEN
from bench.shared.args import BenchParser, print_quick_banner, run_bench
from bench.shared.basics import READY_TIMEOUT, BenchError
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.measures import cpu_seconds, load_average, tail_of_log
from bench.shared.servers import child_env, serve_with_control
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.processes import REPO_ROOT, command_update, free_port, stop_process

TARGET_RATE = 1000.0
TARGET_SHARE = 0.75
WARM_UP_USERS = 50
FIRST_USER = 700_000_001
DONE_TIMEOUT = 120.0


async def serve_fake() -> None:
    """The fake Bot API, with /enqueue (queue updates) and /count (answers so far)."""
    fake = FakeBotAPI()

    async def enqueue(request: web.Request) -> web.Response:
        body = await request.json()
        first, users = int(body["first"]), int(body["users"])
        for i, user in enumerate(range(first, first + users)):
            for text in ("/help", "/status"):
                fake.push_update(
                    command_update(
                        user,
                        text,
                        message_id=2 * i + (text == "/status"),
                        first_name=f"User {user}",
                        language_code="en",
                    )
                )
        return web.json_response({"queued": 2 * users})

    async def count(_request: web.Request) -> web.Response:
        return web.json_response({"sent": len(fake.sent_messages())})

    control = web.Application()
    control.router.add_post("/enqueue", enqueue)
    control.router.add_get("/count", count)
    await serve_with_control(fake, control)


async def serve_bare(api: str) -> None:
    """The bare aiogram bot: one handler, no database, default polling."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    dispatcher = Dispatcher()

    @dispatcher.message()
    async def answer(message: Message) -> None:
        await message.answer("ok")

    session = AiohttpSession(api=TelegramAPIServer.from_base(api))
    async with Bot(BOT_TOKEN, session=session) as bot:
        await dispatcher.start_polling(bot, handle_signals=True)


@dataclass
class Fake:
    api: str
    control: str
    http: aiohttp.ClientSession

    async def enqueue(self, first: int, users: int) -> None:
        async with self.http.post(
            f"{self.control}/enqueue", json={"first": first, "users": users}
        ) as response:
            response.raise_for_status()

    async def sent(self) -> int:
        async with self.http.get(f"{self.control}/count") as response:
            return int((await response.json())["sent"])


@asynccontextmanager
async def _child(argv: list[str], log: Path, env: dict[str, str]) -> AsyncIterator[str]:
    """A helper process of this module; yields its first stdout line."""
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.updates",
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            cwd=REPO_ROOT,
            env=env,
        )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT)
        yield line.decode()
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        await stop_process(proc, grace=10.0, sig=None)  # EOF on stdin stops the fake


@asynccontextmanager
async def running_fake(workdir: Path) -> AsyncIterator[Fake]:
    async with _child(["--serve-fake"], workdir / "fake.log", child_env()) as line:
        urls = json.loads(line)
        async with aiohttp.ClientSession() as http:
            yield Fake(urls["api"], urls["control"], http)


@asynccontextmanager
async def running_bot(kind: str, fake: Fake, url: str, workdir: Path) -> AsyncIterator[int]:
    """The project (`python -m bot`, polling) or the bare bot, answering `fake`."""
    log = workdir / f"{kind}.log"
    if kind == "bare":
        env = child_env()
        program = [sys.executable, "-m", "bench.updates", "--serve-bare", fake.api]
    else:
        env = child_env(
            BOT_TOKEN=BOT_TOKEN,
            TELEGRAM_API_BASE=fake.api,
            DATABASE_URL=url,
            WEB_HOST="127.0.0.1",
            PORT=str(free_port()),
            LOG_LEVEL="WARNING",
            PUBLIC_URL="",
        )
        program = [sys.executable, "-m", "bot"]
        if args_profile := os.environ.get("BENCH_PROFILE"):  # a cProfile of the project
            program = [sys.executable, "-m", "cProfile", "-o", args_profile, "-m", "bot"]
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            *program,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            cwd=REPO_ROOT,
            env=env,
        )
    try:
        yield proc.pid
        if proc.returncode is not None:
            raise BenchError(f"{kind} bot exited early: {tail_of_log(log)}")
    finally:
        await stop_process(proc, grace=15.0, sig=signal.SIGTERM)


async def _answered(fake: Fake, total: int, within: float) -> None:
    deadline = time.monotonic() + within
    while await fake.sent() < total:
        if time.monotonic() > deadline:
            raise BenchError(f"only {await fake.sent()} of {total} answers in {within:.0f} s")
        await asyncio.sleep(0.005)


@dataclass
class Run:
    rate: float  # updates a second, end to end
    cpu_us: float | None  # the bot process's CPU time per update (Linux)


async def one_run(kind: str, users: int, database: str | None) -> Run:
    """Updates a second for `kind` ("project" or "bare"), and the bot's CPU per update:
    on a shared machine the rate swings with the neighbours, CPU time much less."""
    with scratch_dir("signaldesk-bench-updates-") as workdir:
        url = await migrated_database(database, workdir) if kind == "project" else ""
        async with running_fake(workdir) as fake, running_bot(kind, fake, url, workdir) as pid:
            await fake.enqueue(FIRST_USER, WARM_UP_USERS)  # start-up, imports, first queries
            try:
                await _answered(fake, 2 * WARM_UP_USERS, READY_TIMEOUT + 30)
            except BenchError as error:
                raise BenchError(
                    f"{kind}: {error}: {tail_of_log(workdir / f'{kind}.log')}"
                ) from None
            cpu_before, start = cpu_seconds(pid), time.perf_counter()
            await fake.enqueue(FIRST_USER + WARM_UP_USERS, users)
            await _answered(fake, 2 * (WARM_UP_USERS + users), DONE_TIMEOUT)
            elapsed, cpu_after = time.perf_counter() - start, cpu_seconds(pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Run(2 * users / elapsed, None if cpu is None else cpu / (2 * users) * 1e6)


@dataclass
class Figures:
    project: list[Run]
    bare: list[Run]


def _cpu_median(runs: list[Run]) -> float | None:
    values = [run.cpu_us for run in runs if run.cpu_us is not None]
    return statistics.median(values) if values else None


async def bench(args: argparse.Namespace) -> int:
    print_quick_banner(args)
    backend = backend_of(args.database_url)
    print(
        f"updates bench  backend {backend}; {args.users:,} users x (/help, /status); "
        f"runs {args.runs}; {os.cpu_count()} CPUs; load {load_average()}",
        flush=True,
    )
    figures = Figures([], [])
    try:
        for run in range(1, args.runs + 1):
            for kind, bucket in (("project", figures.project), ("bare", figures.bare)):
                result = await one_run(kind, args.users, args.database_url)
                bucket.append(result)
                cpu = "" if result.cpu_us is None else f"  {result.cpu_us:,.0f} us CPU/update"
                print(f"{kind:<8} run {run}/{args.runs}  {result.rate:,.0f} updates/s{cpu}")
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr, flush=True)
        return 1
    _summary(args, backend, figures)
    return 0


def _summary(args: argparse.Namespace, backend: str, figures: Figures) -> None:
    project = statistics.median(run.rate for run in figures.project)
    bare = statistics.median(run.rate for run in figures.bare)
    share = project / bare
    met_rate = "met" if project >= TARGET_RATE else "MISSED"
    met_share = "met" if share >= TARGET_SHARE else "MISSED"
    print(f"summary (medians of {args.runs}; load {load_average()})")
    print(
        f"  project {backend}: {project:,.0f} updates/s   target >= {TARGET_RATE:,.0f}  {met_rate}"
    )
    print(f"  bare aiogram bot: {bare:,.0f} updates/s")
    target = f"target >= {TARGET_SHARE * 100:.0f} %"
    print(f"  project / bare: {share * 100:.0f} %   {target}  {met_share}")
    project_cpu, bare_cpu = _cpu_median(figures.project), _cpu_median(figures.bare)
    if project_cpu is not None and bare_cpu is not None:
        # The same share by CPU time, steadier than rates on a machine with neighbours.
        print(
            f"  CPU per update: project {project_cpu:,.0f} us, bare {bare_cpu:,.0f} us "
            f"(bare / project {bare_cpu / project_cpu * 100:.0f} %)"
        )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = BenchParser(
        prog="python -m bench.updates",
        description=__doc__.splitlines()[0] if __doc__ else "",
        database="signaldesk_bench_updates",
        seed=None,
        runs_help="runs of each bot; medians",
    )
    parser.bounded("--users", full=1000, quick=200, low=10, high=20_000, help="users")
    hidden = argparse.SUPPRESS
    parser.add_argument("--serve-fake", action="store_true", help=hidden)
    parser.add_argument("--serve-bare", help=hidden)
    return parser.parse(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.serve_fake:
        asyncio.run(serve_fake())
        return 0
    if args.serve_bare:
        asyncio.run(serve_bare(args.serve_bare))
        return 0
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
