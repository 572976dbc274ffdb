"""Running `python -m bot` as a process, as an operator does: environment, exit status,
stderr, readiness and a clean stop. Shared by the entry-point and start-up fault tests, and
by the benchmarks (bench/), which start the same processes with their output in a log."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp

from tests.support.preloaded import ForkedBot, fork_bot, zygote

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7654321:AAH-entrypoint-test-token-0123456789abcdef"
PRICE = "price_entrypoint_monthly"
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT")
TABLES = {
    "users",
    "entitlements",
    "stripe_customers",
    "processed_stripe_events",
    "outbox",
    "alembic_version",
}
CLI_TIMEOUT = 60.0
# Generous: importing aiogram and stripe under coverage on a busy 2-core machine is slow.
START_TIMEOUT = 60.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=5)


def base_env(**settings: str) -> dict[str, str]:
    """A minimal environment: no inherited settings, the repo importable, plus `settings`."""
    env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    # Keep coverage's own variables so `make test` measures the subprocess too.
    env.update({k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")})
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_bot(
    args: Sequence[str], env: dict[str, str], cwd: Path, *, exec_: bool = False
) -> asyncio.subprocess.Process | ForkedBot:
    """`python -m bot *args` with stderr piped to the test and nothing on stdin.

    Forked from the preloaded launcher (tests/support/zygote.py says why) unless `exec_` or
    BOT_TEST_EXEC=1 asks for a real exec of the interpreter.
    """
    if not exec_ and os.environ.get("BOT_TEST_EXEC") != "1":
        return await fork_bot(zygote(base_env(), REPO_ROOT), args, env, cwd)
    if exec_:
        # Unmeasured: this exec is here to prove a fresh interpreter starts, and its lines
        # are measured in the launcher's children; under coverage it would take 3x longer.
        env = {k: v for k, v in env.items() if not k.startswith("COVERAGE_")}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def start_bot_logged(
    args: Sequence[str], env: dict[str, str], cwd: Path, log: IO[bytes]
) -> asyncio.subprocess.Process:
    """`python -m bot *args` with stdout and stderr to `log` and nothing on stdin."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )


async def stop_process(
    proc: asyncio.subprocess.Process, *, grace: float, sig: signal.Signals | None
) -> int:
    """Ask politely (a signal, or nothing when closing stdin already asked), then kill."""
    if proc.returncode is None and sig is not None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    return int(proc.returncode if proc.returncode is not None else -1)


async def wait_http_ready(
    proc: asyncio.subprocess.Process, base_url: str, *, within: float, path: str = "/readyz"
) -> str | None:
    """Poll `path` until it answers 200: None then, otherwise why not (exited, timed out)."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                return f"exited with {proc.returncode}"
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(
                    base_url + path, timeout=aiohttp.ClientTimeout(total=2)
                ) as response:
                    if response.status == 200:
                        return None
            await asyncio.sleep(0.05)
    return f"not ready after {within:.0f} s"


async def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run `python -m bot *args` to completion; returns (exit status, stderr)."""
    proc = await start_bot(args, env, cwd)
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, stderr.decode()


def assert_one_line(stderr: str, *needles: str) -> None:
    assert "Traceback" not in stderr
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    for needle in needles:
        assert needle in stderr


def assert_no_token(output: str) -> None:
    assert "Traceback" not in output
    assert TOKEN not in output
    assert TOKEN.split(":", 1)[1] not in output


async def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def command_update(
    user: int,
    text: str,
    *,
    update_id: int | None = None,
    message_id: int = 1,
    first_name: str = "Ann",
    language_code: str | None = None,
) -> dict[str, Any]:
    """A command in a user's private chat with the bot, as Telegram sends it (without an
    update_id unless given: a fake's queue or the caller assigns one)."""
    sender: dict[str, Any] = {"id": user, "is_bot": False, "first_name": first_name}
    if language_code is not None:
        sender["language_code"] = language_code
    command = text.split(maxsplit=1)[0]
    update: dict[str, Any] = {
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private", "first_name": first_name},
            "from": sender,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        }
    }
    if update_id is not None:
        update["update_id"] = update_id
    return update


def start_update(chat_id: int) -> dict[str, Any]:
    return command_update(chat_id, "/start")


@dataclass
class Running:
    """A `python -m bot` process whose stderr is collected in the background."""

    proc: asyncio.subprocess.Process | ForkedBot
    base_url: str
    stderr: bytearray = field(default_factory=bytearray)

    async def collect(self) -> None:
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            self.stderr.extend(chunk)

    def output(self) -> str:
        return self.stderr.decode(errors="replace")

    async def wait_ready(self, http: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        pending = ["/healthz", "/readyz"]
        while pending:
            assert self.proc.returncode is None, f"exited early:\n{self.output()}"
            assert time.monotonic() < deadline, f"not ready in time:\n{self.output()}"
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(self.base_url + pending[0]) as response:
                    if response.status == 200:
                        pending.pop(0)
                        continue
            await asyncio.sleep(0.1)

    async def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), START_TIMEOUT)


@contextlib.asynccontextmanager
async def running_bot(
    env: dict[str, str], cwd: Path, *args: str, exec_: bool = False
) -> AsyncIterator[Running]:
    """`python -m bot *args` running in the background; killed on exit if still alive."""
    port = free_port()
    env = {**env, "PORT": str(port), "WEB_HOST": "127.0.0.1"}
    proc = await start_bot(args, env, cwd, exec_=exec_)
    running = Running(proc, f"http://127.0.0.1:{port}")
    reader = asyncio.create_task(running.collect())
    try:
        yield running
    finally:
        if proc.returncode is None:
            proc.kill()
        await asyncio.wait_for(proc.wait(), START_TIMEOUT)
        await asyncio.wait_for(reader, START_TIMEOUT)
