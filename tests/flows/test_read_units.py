"""Reads take reading units (bot/transactions/unit_of_work.py): a chat command or a Mini App
route that only reads writes nothing, records no update, and on SQLite answers while another
process holds the write lock (a write unit would begin with BEGIN IMMEDIATE and wait for it)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.chat.middlewares.server_faults import ServerFaultMiddleware
from db import engine as db_engine
from db.models import Broadcast, ProcessedUpdate
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import (
    count,
    give_access,
    post_signal_update,
    publish_signal,
    statements,
)

USER = 8_200_001
NAME = "Ann"  # as Harness.send_text names the sender, so no update changes the profile

READ_COMMANDS = [
    (USER, "/signals"),
    (USER, "/performance"),
    (USER, "/settings"),
    (USER, "/status"),
    (ADMIN_ID, "/stats"),
    (ADMIN_ID, f"/user {USER}"),
]
READ_ROUTES = [
    (False, "/api/v1/me"),
    (False, "/api/v1/signals"),
    (False, "/api/v1/performance"),
    (False, "/api/v1/settings"),
    (True, "/api/v1/admin/stats"),
    (True, "/api/v1/admin/analytics"),
    (True, "/api/v1/admin/broadcasts/{broadcast}"),
    (True, "/api/v1/admin/subscribers?q=Ann"),
    (True, f"/api/v1/admin/subscribers/{USER}"),
]


async def _prepared(harness: Harness) -> tuple[dict[bool, str], int]:
    """A subscriber and an admin known to the bot and signed in to the Mini App, a signal
    open and one closed: (token by is-admin, the broadcast id)."""
    await give_access(harness, USER)
    await publish_signal(harness, "ETHUSDT short entry 3400 sl 3500 tp 3200")
    closed = await publish_signal(harness, "BTCUSDT long entry 65000 sl 63500 tp 67000")
    await post_signal_update(harness, closed, "close 66000")
    tokens = {
        False: await login(harness, {"id": USER, "first_name": NAME}),
        True: await login(harness, {"id": ADMIN_ID, "first_name": NAME}),
    }
    for user in (USER, ADMIN_ID):  # registered as the chat sees them: the next update reads
        await harness.send_text(user, "/help")
    async with harness.session() as session:
        broadcast = await session.scalar(select(func.max(Broadcast.id)))
    assert broadcast is not None
    return tokens, broadcast


async def _read_everything(harness: Harness, tokens: dict[bool, str], broadcast: int) -> None:
    """Every read command and route, each answered as it should be."""
    for user, text in READ_COMMANDS:
        before = len(harness.replies(user))
        await harness.send_text(user, text)
        assert len(harness.replies(user)) == before + 1, text
    for admin, path in READ_ROUTES:
        status, body, _ = await call(
            harness, "GET", path.format(broadcast=broadcast), token=tokens[admin]
        )
        assert status == 200, (path, body)


async def test_a_read_writes_nothing_and_records_no_update(harness: Harness) -> None:
    tokens, broadcast = await _prepared(harness)
    recorded = await count(harness, ProcessedUpdate)
    with statements(harness) as seen:
        await _read_everything(harness, tokens, broadcast)
    assert await count(harness, ProcessedUpdate) == recorded
    writes = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")
    assert [s for s in seen if s.lstrip().upper().startswith(writes)] == []


async def test_reads_answer_while_another_process_holds_the_sqlite_write_lock(
    harness: Harness, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's file lock (PostgreSQL readers never wait for writers)")
    tokens, broadcast = await _prepared(harness)
    # A unit that asked for the write lock would now fail at once, rather than wait out the
    # other process: a route would answer 503, and a chat update fail here instead of being
    # retried until the lock is gone.
    monkeypatch.setattr(db_engine, "SQLITE_BUSY_TIMEOUT_MS", 0)
    (faults,) = [
        m
        for m in harness.parts.dispatcher.update.outer_middleware
        if isinstance(m, ServerFaultMiddleware)
    ]

    async def no_retry(_delay: float) -> None:
        raise AssertionError("a read met the write lock")

    monkeypatch.setattr(faults, "_sleep", no_retry)
    path = make_url(database_url).database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a webhook instance or a worker writing
    try:
        await _read_everything(harness, tokens, broadcast)
    finally:
        other.execute("ROLLBACK")
        other.close()
