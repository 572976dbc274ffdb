"""POST /stripe/webhook: verification, idempotency, ordering, both API shapes, failures."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from sqlalchemy import text

from db.models import StripeCustomer
from tests.support.fakes.stripe_api import make_event, sign_payload
from tests.support.harness import WEBHOOK_SECRET, Harness, MakeHarness, load_fixture
from tests.support.helpers import (
    DAY,
    count,
    entitlement,
    outbox,
    state,
    subscription_event,
    subscription_for,
)

USER = 2002


@pytest.fixture
def created_event() -> dict[str, Any]:
    return subscription_event("created", subscription_for(USER), created=int(time.time()))


# --- bad input: 400, nothing changes -------------------------------------------------------


async def test_forged_signature_is_rejected(
    harness: Harness, created_event: dict[str, Any]
) -> None:
    before = await state(harness)
    status, body = await harness.post_event(created_event, secret="whsec_someone_else")
    assert status == 400
    assert body["error"]["code"] == "invalid_webhook"
    assert await state(harness) == before


async def test_tampered_body_is_rejected(harness: Harness, created_event: dict[str, Any]) -> None:
    body = json.dumps(created_event).encode()
    signature = sign_payload(body, WEBHOOK_SECRET)
    tampered = body.replace(b'"active"', b'"trialing"')
    before = await state(harness)
    status, _ = await harness.post_event(tampered, signature=signature)
    assert status == 400
    assert await state(harness) == before


async def test_missing_signature_header_is_rejected(
    harness: Harness, created_event: dict[str, Any]
) -> None:
    before = await state(harness)
    async with harness.http.post(
        f"{harness.base_url}/stripe/webhook", data=json.dumps(created_event)
    ) as response:
        assert response.status == 400
        assert "Stripe-Signature" in (await response.json())["error"]["message"]
    assert await state(harness) == before


async def test_stale_signature_timestamp_is_rejected(
    harness: Harness, created_event: dict[str, Any]
) -> None:
    body = json.dumps(created_event).encode()
    old = sign_payload(body, WEBHOOK_SECRET, timestamp=int(time.time()) - 3600)
    before = await state(harness)
    status, _ = await harness.post_event(body, signature=old)
    assert status == 400
    assert await state(harness) == before


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b'{"hello": "world"}',
        b'{"id": "evt_1", "type": "x", "data": {}}',
        b"\xff",
    ],
    ids=["not-json", "not-an-event", "no-object", "not-utf8"],
)
async def test_signed_garbage_is_rejected(harness: Harness, body: bytes) -> None:
    before = await state(harness)
    status, payload = await harness.post_event(body)
    assert status == 400
    assert set(payload["error"]) == {"code", "message"}
    assert await state(harness) == before


async def test_webhook_secret_not_configured(
    make_harness: MakeHarness, created_event: dict[str, Any]
) -> None:
    harness = await make_harness(stripe_webhook_secret=None)
    before = await state(harness)
    status, body = await harness.post_event(created_event)
    assert status == 503 and body["error"]["code"] == "not_configured"
    assert await state(harness) == before


async def test_oversized_body_is_rejected(harness: Harness) -> None:
    before = await state(harness)
    status, _ = await harness.post_event(b"{" + b" " * 600_000 + b"}")
    assert status == 413
    assert await state(harness) == before


# --- idempotency and ordering --------------------------------------------------------------


async def test_replayed_event_has_no_second_effect(
    harness: Harness, created_event: dict[str, Any]
) -> None:
    assert (await harness.post_event(created_event))[1]["status"] == "applied"
    after_first = await state(harness)
    status, body = await harness.post_event(created_event)
    assert (status, body["status"]) == (200, "duplicate")
    assert await state(harness) == after_first
    assert len(await outbox(harness, USER)) == 1


async def test_older_event_never_overwrites_newer_state(harness: Harness) -> None:
    now = int(time.time())
    sub = subscription_for(USER)
    await harness.post_event(subscription_event("created", sub, created=now))
    await harness.post_event(
        subscription_event("deleted", {**sub, "status": "canceled"}, created=now + 10)
    )
    # A delayed update from before the cancellation arrives last.
    status, _ = await harness.post_event(
        subscription_event("updated", {**sub, "status": "active"}, created=now + 5)
    )
    assert status == 200
    row = await entitlement(harness, USER)
    assert row is not None and row.status == "canceled" and row.state_version == now + 10


async def test_same_second_event_cannot_revive_cancelled(harness: Harness) -> None:
    now = int(time.time())
    sub = subscription_for(USER)
    await harness.post_event(
        subscription_event("deleted", {**sub, "status": "canceled"}, created=now)
    )
    await harness.post_event(subscription_event("updated", sub, created=now))
    row = await entitlement(harness, USER)
    assert row is not None and row.status == "canceled"


async def test_events_before_checkout_completed_are_attributed_by_metadata(
    harness: Harness,
) -> None:
    now = int(time.time())
    await harness.post_event(subscription_event("created", subscription_for(USER), created=now))
    row = await entitlement(harness, USER)
    assert row is not None and row.status == "active"
    async with harness.session() as session:
        link = await session.get(StripeCustomer, USER)
        assert link is not None and link.customer_id == "cus_test_1"


async def test_subscription_of_unknown_customer_is_ignored(harness: Harness) -> None:
    sub = subscription_for(USER)
    sub["metadata"] = {}
    status, body = await harness.post_event(
        subscription_event("created", sub, created=int(time.time()))
    )
    assert (status, body["status"]) == (200, "ignored")  # nobody of ours: nothing applied
    assert await entitlement(harness, USER) is None


async def test_a_lapsed_second_subscription_does_not_end_a_live_one(harness: Harness) -> None:
    now = int(time.time())
    live = subscription_for(USER, sub_id="sub_live")
    other = subscription_for(USER, sub_id="sub_old", status="canceled")
    await harness.post_event(subscription_event("created", live, created=now))
    await harness.post_event(subscription_event("deleted", other, created=now + 5))
    row = await entitlement(harness, USER)
    assert row is not None and (row.source_ref, row.status) == ("sub_live", "active")


async def test_unknown_event_types_are_acknowledged_and_ignored(harness: Harness) -> None:
    before = await state(harness)
    event = make_event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"})
    status, body = await harness.post_event(event)
    assert (status, body["status"]) == (200, "ignored")
    users, entitlements, processed, messages = await state(harness)
    assert (users, entitlements, messages) == before[:2] + before[3:]
    assert processed == before[2] + 1  # recorded, so a replay is a duplicate


async def test_checkout_without_telegram_id_is_ignored(harness: Harness) -> None:
    event = load_fixture(
        "stripe_events/04_checkout.session.completed_mode_subscription_composed.json"
    )
    status, body = await harness.post_event(event)
    assert (status, body["status"]) == (200, "ignored")
    assert await count(harness, StripeCustomer) == 0


async def test_checkout_for_deleted_subscription_still_links_customer(harness: Harness) -> None:
    event = load_fixture(
        "stripe_events/04_checkout.session.completed_mode_subscription_composed.json"
    )
    event["data"]["object"]["client_reference_id"] = str(USER)
    status, _ = await harness.post_event(event)  # the fake Stripe has no such subscription
    assert status == 200
    assert await entitlement(harness, USER) is None
    async with harness.session() as session:
        assert await session.get(StripeCustomer, USER) is not None


# --- both payload shapes (pre-2025-03-31 and basil) ----------------------------------------


async def test_legacy_subscription_shape_fixture(harness: Harness) -> None:
    event = load_fixture(
        "stripe_events/01_customer.subscription.updated_trial_to_active_2024-06-20.json"
    )
    event["data"]["object"]["metadata"] = {"telegram_user_id": str(USER)}
    assert (await harness.post_event(event))[0] == 200
    row = await entitlement(harness, USER)
    assert row is not None and row.status == "active"
    assert row.expires_at is not None and int(row.expires_at.timestamp()) == 1683260814
    assert row.price_id == "price_1Mqqb5Lt4dXK03v5cK9prani"


async def test_basil_subscription_shape_fixture(harness: Harness) -> None:
    event = load_fixture(
        "stripe_events/07_customer.subscription.created_stripe-mock-fixture_composed.json"
    )
    event["data"]["object"]["metadata"] = {"telegram_user_id": str(USER)}
    assert (await harness.post_event(event))[0] == 200
    row = await entitlement(harness, USER)
    assert row is not None and row.expires_at is not None
    assert int(row.expires_at.timestamp()) == 976287773  # from items.data[0]
    deleted = load_fixture(
        "stripe_events/06_customer.subscription.deleted_stripe-mock-fixture_composed.json"
    )
    deleted["created"] += 1
    deleted["data"]["object"]["metadata"] = {"telegram_user_id": str(USER)}
    assert (await harness.post_event(deleted))[0] == 200
    row = await entitlement(harness, USER)
    assert row is not None and row.status == "canceled"


@pytest.mark.parametrize("shape", ["legacy", "basil"])
async def test_invoice_paid_extends_access_in_both_shapes(harness: Harness, shape: str) -> None:
    now = int(time.time())
    sub = subscription_for(
        USER, sub_id="sub_TEMPLATE_0001", status="past_due", period_end=now + DAY
    )
    await harness.post_event(subscription_event("updated", sub, created=now))
    invoice: dict[str, Any]
    if shape == "legacy":
        invoice = load_fixture(
            "stripe_events/03_invoice.payment_succeeded_subscription_cycle_2025-02-24.acacia.json"
        )["data"]["object"]
        assert invoice["subscription"] == "sub_TEMPLATE_0001"
    else:
        invoice = {
            "id": "in_basil",
            "object": "invoice",
            "customer": "cus_test_1",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": "sub_TEMPLATE_0001"},
            },
        }
    invoice["lines"] = {"data": [{"period": {"start": now, "end": now + 31 * DAY}}]}
    status, _ = await harness.post_event(make_event("invoice.paid", invoice, created=now + 1))
    assert status == 200
    row = await entitlement(harness, USER)
    assert row is not None and row.status == "active"
    assert row.expires_at is not None and int(row.expires_at.timestamp()) == now + 31 * DAY


async def test_late_invoice_never_shortens_access(harness: Harness) -> None:
    now = int(time.time())
    sub = subscription_for(USER, period_end=now + 60 * DAY)
    await harness.post_event(subscription_event("created", sub, created=now))
    invoice = {
        "id": "in_old",
        "object": "invoice",
        "subscription": "sub_test_1",
        "lines": {"data": [{"period": {"start": now - 30 * DAY, "end": now + DAY}}]},
    }
    await harness.post_event(make_event("invoice.paid", invoice, created=now - 100))
    row = await entitlement(harness, USER)
    assert row is not None and row.expires_at is not None
    assert int(row.expires_at.timestamp()) == now + 60 * DAY


# --- failures answer 5xx so Stripe retries -------------------------------------------------


async def test_database_failure_answers_500_and_retry_applies(
    harness: Harness, created_event: dict[str, Any]
) -> None:
    async with harness.session() as session, session.begin():
        await session.execute(text("ALTER TABLE entitlements RENAME TO entitlements_away"))
    try:
        status, body = await harness.post_event(created_event)
        assert status == 500 and body["error"]["code"] == "retry_later"
    finally:
        async with harness.session() as session, session.begin():
            await session.execute(text("ALTER TABLE entitlements_away RENAME TO entitlements"))
    assert await count(harness, StripeCustomer) == 0  # the whole transaction rolled back
    status, body = await harness.post_event(created_event)  # Stripe's retry
    assert (status, body["status"]) == (200, "applied")
    assert await entitlement(harness, USER) is not None


async def test_stripe_unreachable_during_checkout_answers_500(harness: Harness) -> None:
    event = load_fixture(
        "stripe_events/04_checkout.session.completed_mode_subscription_composed.json"
    )
    event["data"]["object"]["client_reference_id"] = str(USER)
    harness.fake_stripe.fail_next("/v1/subscriptions", status=500, times=5)
    before = await state(harness)
    status, _ = await harness.post_event(event)
    assert status == 500
    assert await state(harness) == before


# --- concurrency: Stripe may deliver in parallel -------------------------------------------


async def test_concurrent_replays_apply_once(
    harness: Harness, created_event: dict[str, Any]
) -> None:
    results = await asyncio.gather(*(harness.post_event(created_event) for _ in range(8)))
    statuses = sorted(body["status"] for _, body in results)
    assert {status for status, _ in results} == {200}
    assert statuses == ["applied"] + ["duplicate"] * 7
    assert len(await outbox(harness, USER)) == 1


async def test_concurrent_distinct_events_for_a_new_user_are_all_applied(
    harness: Harness,
) -> None:
    now = int(time.time())
    sub = subscription_for(USER)
    events = [
        subscription_event("updated", {**sub, "cancel_at_period_end": i == 5}, created=now + i)
        for i in range(6)
    ]
    results = await asyncio.gather(*(harness.post_event(event) for event in events))
    # The user's row is locked (PostgreSQL) or the writer is single (SQLite) before any of
    # the user's state is read, so none of them trips over another: all are applied.
    assert [(status, body.get("status")) for status, body in results] == [(200, "applied")] * 6
    row = await entitlement(harness, USER)
    assert row is not None and row.state_version == now + 5 and row.cancel_at_period_end
