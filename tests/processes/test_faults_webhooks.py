# ruff: noqa: F811 - `make_outage` is a fixture imported from faults_helpers.py
"""The fault suite, what comes in: a Telegram update, by webhook or polled, that meets a
database fault is handled again, and once; a Stripe webhook whose transaction the database
cut answers 500, changes nothing, and Stripe's retry applies. Each checks that nothing was
lost or applied twice, no traceback was logged for a fault we expect, and it recovered
without a restart."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import event, func, select

from db.models import Entitlement, OutboxMessage
from tests.processes.faults_helpers import (
    MakeOutage,
    _stripe_state,
    expected_faults_only,
    make_outage,  # noqa: F401 - a fixture
)
from tests.support.fakes.stripe_api import make_event
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import outbox, subscription_for
from tests.support.processes import command_update

# Long tests that mostly wait (processes, hand-overs, outages): started first
# (tests/support/harness.py).
pytestmark = pytest.mark.waits

TG_SECRET = "fault-suite-webhook-secret"
TG_HEADER = "X-Telegram-Bot-Api-Secret-Token"


# --- Telegram updates: a failed one is handled again, and once ----------------------------------


def _grant_update(update_id: int) -> dict[str, Any]:
    return command_update(
        ADMIN_ID, "/grant 9401 30", update_id=update_id, message_id=update_id, first_name="Admin"
    )


async def _post_update(harness: Harness, update: dict[str, Any]) -> tuple[int, Any]:
    async with harness.http.post(
        harness.base_url + "/telegram/webhook", json=update, headers={TG_HEADER: TG_SECRET}
    ) as response:
        return response.status, await response.json()


async def _grants(harness: Harness) -> list[OutboxMessage]:
    return [row for row in await outbox(harness, 9401) if row.kind == "grant"]


async def test_a_webhook_update_that_meets_a_database_fault_is_redelivered_and_applied_once(
    make_outage: MakeOutage, caplog: pytest.LogCaptureFixture
) -> None:
    outage = await make_outage(
        public_url="https://bot.example.test", telegram_webhook_secret=TG_SECRET
    )
    hook = outage.harness
    await outage.begin()
    status, body = await _post_update(hook, _grant_update(5001))
    assert status == 500 and body["error"]["code"] == "retry_later"  # Telegram sends it again
    await outage.end()
    for _ in range(3):  # the redelivery, then duplicates of it
        status, _ = await _post_update(hook, _grant_update(5001))
        assert status == 200
    assert len(await _grants(hook)) == 1
    expected_faults_only(caplog)


async def test_a_polled_update_that_meets_a_database_fault_is_retried_in_process(
    make_outage: MakeOutage,
) -> None:
    outage = await make_outage()
    harness = outage.harness
    await outage.begin()
    outage.end_after(0.5)
    await harness.feed(_grant_update(5002))  # retried until the database is back
    await harness.feed(_grant_update(5002))  # a duplicate: skipped
    assert len(await _grants(harness)) == 1
    assert "has access until" in harness.last_reply(ADMIN_ID).text


# --- Stripe webhooks: the database cut mid-transaction ------------------------------------------


async def test_database_cut_mid_webhook_answers_500_changes_nothing_and_the_retry_applies(
    make_outage: MakeOutage, caplog: pytest.LogCaptureFixture
) -> None:
    outage = await make_outage()
    harness = outage.harness
    user = 9501
    event_body = make_event(
        "customer.subscription.created",
        subscription_for(user, sub_id="sub_cut"),
        created=int(time.time()),
    )
    statements = {"seen": 0}

    def cut_at_the_entitlement_write(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "INSERT INTO entitlements" in statement and not statements["seen"]:
            statements["seen"] += 1
            if outage.proxy is not None:
                outage.proxy.cut()
            else:
                conn.connection.driver_connection._conn.execute("PRAGMA query_only=1")

    engine = harness.parts.engine.sync_engine
    event.listen(engine, "before_cursor_execute", cut_at_the_entitlement_write)
    try:
        before = await _stripe_state(harness)
        status, body = await harness.post_event(event_body)
        assert status == 500 and body["error"]["code"] == "retry_later"
        await outage.end()
        assert await _stripe_state(harness) == before  # the event id was not kept either
        status, body = await harness.post_event(event_body)  # Stripe's retry
        assert (status, body["status"]) == (200, "applied")
        status, body = await harness.post_event(event_body)
        assert (status, body["status"]) == (200, "duplicate")
    finally:
        event.remove(engine, "before_cursor_execute", cut_at_the_entitlement_write)
    async with harness.session() as session:
        rows = await session.scalar(select(func.count()).where(Entitlement.user_id == user))
    assert rows == 1
    expected_faults_only(caplog)
