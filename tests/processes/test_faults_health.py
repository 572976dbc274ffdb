# ruff: noqa: F811 - `make_outage` is a fixture imported from faults_helpers.py
"""The fault suite, health: /readyz not ready while the database is cut or read-only, or
Telegram has been away a while, and ready after; /metrics and the pages answering through
the outage; Bot API failures and the recovery noticed; a SQLite lock held from outside
freezing nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sqlite3
import time
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.processes.faults_helpers import (
    MakeOutage,
    _stripe_state,
    expected_faults_only,
    make_outage,  # noqa: F401 - a fixture
)
from tests.support.fakes.stripe_api import make_event
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import subscription_for

# Long tests that mostly wait (processes, hand-overs, outages): started first
# (tests/support/harness.py).
pytestmark = pytest.mark.waits


async def _status(harness: Harness, path: str) -> tuple[int, Any]:
    async with harness.http.get(harness.base_url + path) as response:
        return response.status, await response.json()


async def test_readyz_says_not_ready_while_the_database_is_cut_and_ready_after(
    make_outage: MakeOutage,
) -> None:
    outage = await make_outage()
    harness = outage.harness
    assert (await _status(harness, "/readyz"))[0] == 200
    await outage.begin()
    await asyncio.sleep(1.1)  # past the cached answer
    status, body = await _status(harness, "/readyz")
    assert status == 503 and "cannot be written" in body["error"]["message"]
    assert (await _status(harness, "/healthz"))[0] == 200
    await outage.end()
    await asyncio.sleep(1.1)
    assert (await _status(harness, "/readyz"))[0] == 200


async def test_metrics_and_pages_answer_while_the_database_is_cut(
    make_outage: MakeOutage, caplog: pytest.LogCaptureFixture
) -> None:
    """/metrics went 500 with the database, so monitoring went blind when it mattered most;
    /track-record was a 500 with a traceback, not a 503 saying when to come back."""
    outage = await make_outage()
    harness = outage.harness
    await harness.send_text(9801, "/help")  # something the process counted
    await outage.begin()
    status, text, _ = await _get(harness, "/metrics")
    assert status == 200
    figures = _figures(text)
    assert figures[("signaldesk_database_up",)] == 0
    assert math.isnan(figures[("signaldesk_outbox_pending",)])
    assert math.isnan(figures[("signaldesk_outbox_oldest_pending_seconds",)])
    assert figures[("signaldesk_updates_total", "handled")] >= 1  # what the process knows
    status, text, headers = await _get(harness, "/track-record")
    if harness.settings.database_url.startswith("sqlite"):
        # SQLite's outage here is a read-only file: the record only reads, so it is served.
        assert status == 200
    else:
        assert status == 503 and headers["Retry-After"] == "5"
        assert json.loads(text)["error"]["code"] == "database_unavailable"
    expected_faults_only(caplog)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []

    await outage.end()
    figures = _figures((await _get(harness, "/metrics"))[1])
    assert figures[("signaldesk_database_up",)] == 1
    assert figures[("signaldesk_outbox_pending",)] >= 0
    assert (await _get(harness, "/track-record"))[0] == 200


async def _get(harness: Harness, path: str) -> tuple[int, str, dict[str, str]]:
    async with harness.http.get(harness.base_url + path) as response:
        return response.status, await response.text(), dict(response.headers)


def _figures(text: str) -> dict[tuple[str, ...], float]:
    return {
        (sample.name, *sample.labels.values()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_readyz_needs_a_write_not_only_a_read(harness: Harness, database_url: str) -> None:
    """PostgreSQL in read-only mode (a standby after a failover) answers SELECT 1."""
    if database_url.startswith("sqlite"):
        pytest.skip("every SQLite transaction here takes the write lock: no read-only mode")
    name = make_url(database_url).database
    engine = harness.parts.engine
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(
            text(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
        )
    try:
        await engine.dispose()  # new connections are read-only now
        async with harness.session() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1  # reads work
        status, body = await _status(harness, "/readyz")
        assert status == 503 and "cannot be written" in body["error"]["message"]
    finally:
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("SET default_transaction_read_only = off"))
            await autocommit.execute(
                text(f"ALTER DATABASE {name} RESET default_transaction_read_only")
            )
        await engine.dispose()


async def test_readyz_says_not_ready_when_telegram_has_been_away_a_while(harness: Harness) -> None:
    health = harness.parts.telegram_health
    health.failing_since = time.monotonic() - 30
    assert (await _status(harness, "/readyz"))[0] == 200  # a blip is not a reason
    health.failing_since = time.monotonic() - 61
    status, body = await _status(harness, "/readyz")
    assert status == 503 and "Telegram has been unreachable" in body["error"]["message"]


async def test_bot_api_failures_are_noticed_and_recovery_too(harness: Harness) -> None:
    health = harness.parts.telegram_health
    await harness.send_text(ADMIN_ID, "/grant 9601 7")
    harness.fake_bot.fail_next("sendMessage", "html")
    await harness.parts.worker.drain_once()
    assert health.failing_since is not None and health.last_error == "ClientDecodeError"
    await harness.deliver(wait=3)
    assert health.failing_since is None


async def test_a_sqlite_lock_held_elsewhere_does_not_freeze_the_server(
    harness: Harness, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's file lock")
    path = make_url(database_url).database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        event_body = make_event(
            "customer.subscription.created", subscription_for(9701), created=int(time.time())
        )
        webhook = asyncio.create_task(harness.post_event(event_body))
        await asyncio.sleep(0.2)  # the webhook is now waiting for the lock
        status, _ = await _status(harness, "/healthz")
        assert status == 200
        assert not webhook.done()  # /healthz answered while the write still waits
    finally:
        other.execute("ROLLBACK")
        other.close()
    status, body = await webhook
    assert (status, body["status"]) == (200, "applied")
    assert (await _stripe_state(harness))[1] == 1
