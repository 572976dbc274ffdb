"""`python -m bot` as an operator runs it: exit codes, one-line errors, a real start and stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.notices.kinds import NoticeKind
from bot.notices.outbox import enqueue
from db.engine import create_session_factory
from db.migrate import head_revision
from db.models import OutboxMessage
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.stripe_api import FakeStripe
from tests.support.harness import empty_postgres
from tests.support.processes import (
    CLI_TIMEOUT,
    HTTP_TIMEOUT,
    TABLES,
    TOKEN,
    assert_no_token,
    assert_one_line,
    base_env,
    eventually,
    run_cli,
    running_bot,
    sqlite_url,
    start_update,
)

# Long tests that mostly wait (processes, hand-overs, outages): started first
# (tests/support/harness.py).
pytestmark = pytest.mark.waits


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
        # One line at INFO: where the schema is now (Alembic's chatter is DEBUG's).
        assert stderr.count("\n") == 1 and "database is at revision" in stderr, stderr

        with contextlib.closing(sqlite3.connect(db_file)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert names >= TABLES
        assert versions == [(head_revision(),)]


async def test_log_format_json_writes_one_object_a_line(tmp_path: Path) -> None:
    import json

    env = base_env(BOT_TOKEN=TOKEN, DATABASE_URL=sqlite_url(tmp_path / "j.db"), LOG_FORMAT="json")
    status, stderr = await run_cli(["migrate"], env, tmp_path)
    assert status == 0, stderr
    [line] = stderr.splitlines()
    record = json.loads(line)
    assert record["level"] == "INFO" and "database is at revision" in record["message"]


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

    # Exec'd for real, not forked from the preloaded launcher: one test holds that a
    # fresh interpreter running `python -m bot` starts, replies and stops cleanly.
    async with (
        running_bot(migrated_env, tmp_path, exec_=True) as bot,
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
    # Stripe takes payments and SUPPORT_CONTACT is unset: /paysupport has no one to name.
    assert "WARNING" in bot.output() and "SUPPORT_CONTACT is not set" in bot.output()


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
    engine = await empty_postgres(os.environ["TEST_DATABASE_URL"])  # this xdist worker's
    url = engine.url.render_as_string(hide_password=False)
    # What the web process leaves behind: a committed outbox row, due now.
    async with create_session_factory(engine)() as session, session.begin():
        await enqueue(
            session, chat_id=5_550_009, kind=NoticeKind.REPLY, params={"html": "from the worker"}
        )
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
    assert "has the sending turn" in worker.output()
    assert_no_token(worker.output())


async def test_worker_refuses_sqlite_in_one_line(tmp_path: Path) -> None:
    """A second writer would stall the web process's event loop in SQLite's busy handler."""
    env = base_env(BOT_TOKEN=TOKEN, DATABASE_URL=sqlite_url(tmp_path / "bot.db"))

    status, stderr = await run_cli(["worker"], env, tmp_path)

    assert status == 2
    assert_one_line(stderr, "DATABASE_URL", "needs PostgreSQL")
    assert not (tmp_path / "bot.db").exists()  # refused before touching anything


@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
async def test_help_lists_the_commands_and_exits_0(tmp_path: Path, flag: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        flag,
        cwd=tmp_path,
        env=base_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    for command in ("migrate", "worker", "help"):
        assert command in text
    assert "PUBLIC_URL" in text  # says what running with no command does


async def test_an_unknown_command_names_the_known_ones(tmp_path: Path) -> None:
    status, stderr = await run_cli(["serve"], base_env(), tmp_path)
    assert status == 2
    assert "invalid choice: 'serve'" in stderr and "migrate" in stderr and "worker" in stderr
