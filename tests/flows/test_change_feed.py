"""Commits heard across processes on PostgreSQL (LISTEN/NOTIFY, bot/transactions/change_feed.py).

A transaction that changes a topic notifies on commit, and only then (a rollback says
nothing); another process's notice bumps this process's counters, so the Mini App's feed
cache reloads at once instead of after its TTL and a worker wakes for outbox rows another
instance wrote; this process's own notices are not counted twice."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.transactions import change_feed, commit_events
from tests.support.api_client import call, login
from tests.support.harness import Harness
from tests.support.helpers import give_access, publish_signal


def test_a_notice_names_its_topics_and_this_process_skips_its_own() -> None:
    assert change_feed.heard("other-1 feed,outbox") == ["feed", "outbox"]
    assert change_feed.heard(f"{commit_events.ORIGIN} feed") == []
    assert change_feed.heard("garbage") == []
    assert change_feed.heard("") == []


def _postgres(harness: Harness) -> str:
    url = harness.settings.database_url
    if not url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    return url


async def _listen(url: str) -> tuple[asyncpg.Connection, asyncio.Queue[str]]:
    heard: asyncio.Queue[str] = asyncio.Queue()
    dsn, args = change_feed._dsn(url)
    connection = await asyncpg.connect(dsn, **args)
    await connection.add_listener(
        commit_events.CHANNEL, lambda _c, _p, _ch, payload: heard.put_nowait(payload)
    )
    return connection, heard


async def test_a_commit_notifies_and_a_rollback_does_not(harness: Harness) -> None:
    connection, heard = await _listen(_postgres(harness))
    try:
        with pytest.raises(RuntimeError):
            async with harness.session() as session, session.begin():
                commit_events.mark(session, commit_events.FEED)
                raise RuntimeError("rolled back")
        await give_access(harness, 7_980_001)  # marks entitlements, commits
        payload = await asyncio.wait_for(heard.get(), 5)
        assert payload == f"{commit_events.ORIGIN} {commit_events.ENTITLEMENTS}"
        assert heard.empty()
    finally:
        await connection.close()


async def test_another_processes_change_reloads_the_feed_at_once(harness: Harness) -> None:
    url = _postgres(harness)
    feed = change_feed.ChangeFeed(url)
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(feed.ready.wait(), 10)
        await give_access(harness, 7_980_002)
        token = await login(harness, {"id": 7_980_002, "first_name": "Ann"})
        _, first, _ = await call(harness, "GET", "/api/v1/signals", token=token)
        assert first["signals"] == []
        # Another instance publishes: its rows are here, its commit counted there only.
        before = commit_events.version(commit_events.FEED)
        await publish_signal(harness, "BTCUSDT long entry 65000 sl 63500 tp 67000")
        commit_events._versions[commit_events.FEED] = before  # as if committed elsewhere
        dsn, args = change_feed._dsn(url)
        notifier = await asyncpg.connect(dsn, **args)
        try:
            await notifier.execute(
                "SELECT pg_notify($1, $2)", commit_events.CHANNEL, "another-process feed"
            )
        finally:
            await notifier.close()
        for _ in range(50):  # well inside the feed cache's 2 s TTL
            if commit_events.version(commit_events.FEED) > before:
                break
            await asyncio.sleep(0.02)
        assert commit_events.version(commit_events.FEED) == before + 1  # heard, once
        _, second, _ = await call(harness, "GET", "/api/v1/signals", token=token)
        assert [s["symbol"] for s in second["signals"]] == ["BTCUSDT"]  # not the cached []
    finally:
        feed.stop()
        await asyncio.wait_for(task, 10)
