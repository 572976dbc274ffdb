"""Processes the benches start: the environment of a helper process, a fake Bot API with
a control app, and the server under test (`python -m bot` against the fakes).

Process helpers the tests use too (free ports, starting `python -m bot`, stopping it,
waiting for readiness) live in tests/support/processes.py; the fakes in tests/support/fakes/."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bench import BOT_TOKEN
from bench.shared.basics import READY_TIMEOUT, STOP_GRACE, STRIPE_KEY, WEBHOOK_SECRET, BenchError
from bench.shared.measures import tail_of_log
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.processes import (
    REPO_ROOT,
    free_port,
    start_bot_logged,
    stop_process,
    wait_http_ready,
)


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
