"""`python -m bot` as an operator runs it: exit codes, one-line errors, a real start and stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text

from bot.services.outbox import enqueue
from db import migrate
from db.engine import create_engine, create_session_factory
from db.migrate import head_revision
from db.models import Base, OutboxMessage
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.stripe_api import FakeStripe

REPO_ROOT = Path(__file__).resolve().parents[1]
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
    args: Sequence[str], env: dict[str, str], cwd: Path
) -> asyncio.subprocess.Process:
    """`python -m bot *args` with stderr piped to the test and nothing on stdin."""
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


def start_update(chat_id: int) -> dict[str, Any]:
    return {
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ann"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        }
    }


@dataclass
class Running:
    """A `python -m bot` process whose stderr is collected in the background."""

    proc: asyncio.subprocess.Process
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
async def running_bot(env: dict[str, str], cwd: Path, *args: str) -> AsyncIterator[Running]:
    """`python -m bot *args` running in the background; killed on exit if still alive."""
    port = free_port()
    env = {**env, "PORT": str(port), "WEB_HOST": "127.0.0.1"}
    proc = await start_bot(args, env, cwd)
    running = Running(proc, f"http://127.0.0.1:{port}")
    reader = asyncio.create_task(running.collect())
    try:
        yield running
    finally:
        if proc.returncode is None:
            proc.kill()
        await asyncio.wait_for(proc.wait(), START_TIMEOUT)
        await asyncio.wait_for(reader, START_TIMEOUT)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeBotAPI, FakeStripe]]:
    async with FakeBotAPI() as fake_bot, FakeStripe() as fake_stripe:
        fake_stripe.add_price(PRICE, product_name="Pro Signals", unit_amount=4900)
        yield fake_bot, fake_stripe


@pytest.fixture
async def migrated_env(tmp_path: Path, fakes: tuple[FakeBotAPI, FakeStripe]) -> dict[str, str]:
    """Settings for a full start against the fakes, on a database `migrate` has prepared."""
    fake_bot, fake_stripe = fakes
    env = base_env(
        BOT_TOKEN=TOKEN,
        DATABASE_URL=sqlite_url(tmp_path / "data" / "bot.db"),
        TELEGRAM_API_BASE=fake_bot.base_url,
        STRIPE_API_BASE=fake_stripe.base_url,
        STRIPE_API_KEY="sk_test_entrypoint",
        STRIPE_WEBHOOK_SECRET="whsec_entrypoint",
        STRIPE_PRICE_IDS=PRICE,
        LOG_LEVEL="DEBUG",  # the most verbose logs must still never show the token
    )
    status, stderr = await run_cli(["migrate"], env, tmp_path)
    assert status == 0, stderr
    return env


async def test_missing_bot_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    status, stderr = await run_cli([], base_env(), tmp_path)

    assert status == 2
    assert_one_line(stderr, "BOT_TOKEN")


async def test_malformed_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    status, stderr = await run_cli([], base_env(BOT_TOKEN=TOKEN, PORT="abc"), tmp_path)

    assert status == 2
    assert_one_line(stderr, "PORT")
    assert TOKEN not in stderr


async def test_unknown_subcommand_prints_usage(tmp_path: Path) -> None:
    status, stderr = await run_cli(["frobnicate"], base_env(BOT_TOKEN=TOKEN), tmp_path)

    assert status == 2
    assert "usage" in stderr.lower()
    assert "migrate" in stderr
    assert "Traceback" not in stderr


async def test_extra_arguments_after_migrate_print_usage(tmp_path: Path) -> None:
    env = base_env(BOT_TOKEN=TOKEN, DATABASE_URL=sqlite_url(tmp_path / "x.db"))

    status, stderr = await run_cli(["migrate", "now"], env, tmp_path)

    assert status == 2
    assert "usage" in stderr.lower()


async def test_migrate_creates_the_schema_and_is_repeatable(tmp_path: Path) -> None:
    db_file = tmp_path / "fresh" / "signaldesk.db"
    env = base_env(BOT_TOKEN=TOKEN, DATABASE_URL=sqlite_url(db_file))

    for _ in range(2):
        status, stderr = await run_cli(["migrate"], env, tmp_path)
        assert status == 0, stderr
        assert "Traceback" not in stderr

        with contextlib.closing(sqlite3.connect(db_file)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert names >= TABLES
        assert versions == [(head_revision(),)]


async def test_start_on_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    env = base_env(BOT_TOKEN=TOKEN, DATABASE_URL=sqlite_url(tmp_path / "never.db"))

    status, stderr = await run_cli([], env, tmp_path)

    assert status == 2
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "python -m bot migrate" in line]
    assert len(errors) == 1
    assert stderr.splitlines()[-1] == errors[0]


async def test_full_start_long_polling_reply_and_sigterm(
    tmp_path: Path, fakes: tuple[FakeBotAPI, FakeStripe], migrated_env: dict[str, str]
) -> None:
    fake_bot, _ = fakes
    chat_id = 5_550_001

    async with (
        running_bot(migrated_env, tmp_path) as bot,
        aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
    ):
        await bot.wait_ready(http)
        await eventually(lambda: bool(fake_bot.calls_for("getUpdates")), "getUpdates")
        assert fake_bot.calls_for("setMyCommands")
        assert fake_bot.calls_for("deleteWebhook")
        assert not fake_bot.calls_for("setWebhook")

        fake_bot.push_update(start_update(chat_id))
        await eventually(lambda: bool(fake_bot.sent_messages(chat_id)), "the /start reply")
        assert "Ann" in fake_bot.sent_messages(chat_id)[0].text

        assert await bot.terminate() == 0
    assert all(call.token == TOKEN for call in fake_bot.calls)
    assert_no_token(bot.output())


async def test_webhook_mode_checks_the_secret_and_replies(
    tmp_path: Path, fakes: tuple[FakeBotAPI, FakeStripe], migrated_env: dict[str, str]
) -> None:
    fake_bot, _ = fakes
    secret = "tg-webhook_secret-42"
    env = {**migrated_env, "PUBLIC_URL": "https://example.test", "TELEGRAM_WEBHOOK_SECRET": secret}
    chat_id = 5_550_002

    async with (
        running_bot(env, tmp_path) as bot,
        aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
    ):
        await bot.wait_ready(http)
        await eventually(lambda: bool(fake_bot.calls_for("setWebhook")), "setWebhook")
        (registered,) = fake_bot.calls_for("setWebhook")
        assert registered["url"] == "https://example.test/telegram/webhook"
        assert registered["secret_token"] == secret

        hook = bot.base_url + "/telegram/webhook"
        update = {"update_id": 1, **start_update(chat_id)}
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret"}):
            async with http.post(hook, json=update, headers=headers) as response:
                assert response.status == 401
                body = await response.json()
            assert set(body["error"]) == {"code", "message"}
        assert not fake_bot.sent_messages(chat_id)

        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with http.post(hook, json=update, headers=headers) as response:
            assert response.status == 200
        await eventually(lambda: bool(fake_bot.sent_messages(chat_id)), "the /start reply")
        assert "Ann" in fake_bot.sent_messages(chat_id)[0].text
        assert not fake_bot.calls_for("getUpdates")
        assert not fake_bot.calls_for("deleteWebhook")

        assert await bot.terminate() == 0
    assert_no_token(bot.output())


# --- python -m bot worker ------------------------------------------------------------------


async def test_worker_alone_delivers_the_outbox_and_stops_on_sigterm(
    tmp_path: Path, fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("python -m bot worker runs on PostgreSQL only; set TEST_DATABASE_URL")
    fake_bot, _ = fakes
    url = os.environ["TEST_DATABASE_URL"]
    engine = create_engine(url)
    await migrate.upgrade(engine)
    async with engine.begin() as conn:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    # What the web process leaves behind: a committed outbox row, due now.
    async with create_session_factory(engine)() as session, session.begin():
        await enqueue(session, chat_id=5_550_009, kind="test", text="from the worker")
    env = base_env(
        BOT_TOKEN=TOKEN, DATABASE_URL=url, TELEGRAM_API_BASE=fake_bot.base_url, LOG_LEVEL="DEBUG"
    )
    try:
        async with running_bot(env, tmp_path, "worker") as worker:
            await eventually(lambda: bool(fake_bot.sent_messages(5_550_009)), "the delivery")
            assert fake_bot.sent_messages(5_550_009)[0].text == "from the worker"
            async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
                with pytest.raises(aiohttp.ClientConnectorError):  # no web server on PORT
                    await http.get(worker.base_url + "/healthz")
            assert await worker.terminate() == 0
        async with create_session_factory(engine)() as session:
            row = await session.scalar(select(OutboxMessage))
        assert row is not None and row.status == "sent" and row.telegram_message_id is not None
    finally:
        await engine.dispose()
    # Nothing but sending: no polling for updates, no command menu.
    assert not fake_bot.calls_for("getUpdates") and not fake_bot.calls_for("setMyCommands")
    assert "every sending process has its own DELIVERY_RATE" in worker.output()
    assert_no_token(worker.output())


async def test_worker_refuses_sqlite_in_one_line(tmp_path: Path) -> None:
    """A second writer would stall the web process's event loop in SQLite's busy handler."""
    env = base_env(BOT_TOKEN=TOKEN, DATABASE_URL=sqlite_url(tmp_path / "bot.db"))

    status, stderr = await run_cli(["worker"], env, tmp_path)

    assert status == 2
    assert_one_line(stderr, "DATABASE_URL", "needs PostgreSQL")
    assert not (tmp_path / "bot.db").exists()  # refused before touching anything
