"""Grace and dunning: a past_due subscription keeps access for GRACE_DAYS from the first
failed payment; each failed attempt is one message with the amount, Stripe's next retry
and the portal; when the grace runs out access pauses, with a message, once; invoice.paid
restores it, with a message."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.accounts.access import entitlement_grants_access, has_access
from bot.accounts.entitlement_writes import EntitlementState
from bot.billing import entitlements
from bot.billing.stripe_shapes import Subscription
from bot.lifecycle.scheduler import Job, Scheduler
from bot.lifecycle.sweeps import LifecycleSweeps
from bot.texts.keyboards import BillingButton
from bot.transactions.unit_of_work import UnitOfWork
from db.models import Entitlement
from tests.flows.lifecycle_helpers import FixedClock
from tests.support.fakes.stripe_api import make_event, make_subscription
from tests.support.harness import PRICE_MONTHLY, Harness
from tests.support.helpers import entitlement, payment_failed_event, subscription_event

USER = 6_200_001
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
GRACE = timedelta(days=3)
CB_PORTAL = BillingButton(action="portal").pack()


def _state(status: str, grace_until: datetime | None = None) -> EntitlementState:
    return EntitlementState(
        source_ref="sub_1",
        status=status,
        price_id=PRICE_MONTHLY,
        expires_at=NOW + timedelta(days=20),
        cancel_at_period_end=False,
        state_version=1,
        grace_until=grace_until,
    )


def _subscription(status: str) -> Subscription:
    return Subscription.model_validate(
        make_subscription(
            "sub_1",
            customer="cus_1",
            price_id=PRICE_MONTHLY,
            status=status,
            current_period_end=int((NOW + timedelta(days=20)).timestamp()),
        )
    )


# --- the pure rules ---------------------------------------------------------------------


def test_past_due_keeps_access_until_the_grace_ends_to_the_second() -> None:
    grace_end = NOW + GRACE
    row = _state("past_due", grace_end)
    assert entitlement_grants_access(row, grace_end - timedelta(seconds=1))
    assert not entitlement_grants_access(row, grace_end)
    # A row from before grace was kept (no grace_until) keeps access as it did.
    assert entitlement_grants_access(_state("past_due"), NOW + timedelta(days=10))


def test_the_grace_starts_at_the_first_failure_and_is_kept_through_retries() -> None:
    first = entitlements.on_subscription(
        _state("active"), _subscription("past_due"), 2, NOW, GRACE
    )
    assert first is not None and first.after.grace_until == NOW + GRACE
    assert first.notice is None  # still has access: the failed-payment message says it all
    later = NOW + timedelta(days=1)
    again = entitlements.on_subscription(first.after, _subscription("past_due"), 3, later, GRACE)
    assert again is not None and again.after.grace_until == NOW + GRACE


def test_recovery_clears_the_grace_and_after_a_pause_says_access_is_back() -> None:
    paused = _state("past_due", NOW - timedelta(hours=1))
    change = entitlements.on_subscription(paused, _subscription("active"), 2, NOW, GRACE)
    assert change is not None
    assert change.after.grace_until is None
    assert change.notice is entitlements.Notice.ACCESS_STARTED


# --- through the webhook, the scheduler and the outbox ---------------------------------


def _sweeper(harness: Harness, clock: FixedClock) -> Scheduler:
    sweeps = LifecycleSweeps(
        UnitOfWork(harness.parts.session_factory), reminder_days=[3, 1], plan_name=lambda _: None
    )
    job = Job("suspensions", timedelta(seconds=30), sweeps.suspensions)
    return Scheduler(harness.parts.session_factory, [job], clock=clock, owner="test")


async def test_a_failed_renewal_graces_pauses_once_and_a_paid_invoice_restores(
    harness: Harness,
) -> None:
    now = int(time.time())
    subscription = make_subscription(
        "sub_dun",
        customer="cus_dun",
        price_id=PRICE_MONTHLY,
        current_period_end=now + 20 * 86_400,
        metadata={"telegram_user_id": str(USER)},
    )
    assert (await harness.post_event(subscription_event("created", subscription, created=now)))[
        0
    ] == 200
    past_due = {**subscription, "status": "past_due"}
    await harness.post_event(subscription_event("updated", past_due, created=now + 1))
    row = await entitlement(harness, USER)
    assert row is not None and row.grace_until is not None
    grace_end = row.grace_until
    assert abs((grace_end - datetime.now(UTC)) - GRACE) < timedelta(minutes=1)

    retry_at = now + 2 * 86_400
    invoice = {
        "id": "in_dun_1",
        "object": "invoice",
        "customer": "cus_dun",
        "amount_due": 4900,
        "currency": "usd",
        "next_payment_attempt": retry_at,
        "parent": {"subscription_details": {"subscription": "sub_dun"}},
        "lines": {"data": []},
    }
    assert (
        await harness.post_event(make_event("invoice.payment_failed", invoice, created=now + 2))
    )[0] == 200
    await harness.deliver(wait=5)
    failed = harness.last_reply(USER)
    retry_day = datetime.fromtimestamp(retry_at, UTC).strftime("%d %b %Y")
    assert "$49.00" in failed.text and f"again on {retry_day}" in failed.text
    assert failed.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == CB_PORTAL

    clock = FixedClock(grace_end - timedelta(seconds=1))
    sweeper = _sweeper(harness, clock)
    await sweeper.run_due()
    async with harness.session() as session:
        assert await has_access(session, USER, clock.at)
    sent_before = len(harness.replies(USER))
    clock.at = grace_end + timedelta(seconds=30)
    await sweeper.run_due()
    clock.at += timedelta(minutes=5)
    await sweeper.run_due()  # again: nothing more
    async with harness.session() as session:
        assert not await has_access(session, USER, clock.at)
    await harness.deliver(wait=5)
    paused = harness.replies(USER)[sent_before:]
    assert len(paused) == 1 and "premium signals are paused" in paused[0].text

    # The webhook reads the real clock: move the grace's end into its past, as days would.
    async with harness.session() as session, session.begin():
        await session.execute(
            update(Entitlement)
            .where(Entitlement.user_id == USER)
            .values(grace_until=datetime.now(UTC) - timedelta(minutes=1))
        )
    paid = {**invoice, "id": "in_dun_2", "next_payment_attempt": None}
    paid["lines"] = {"data": [{"period": {"end": now + 50 * 86_400}}]}
    status, _ = await harness.post_event(make_event("invoice.paid", paid, created=now + 3))
    assert status == 200
    row = await entitlement(harness, USER)
    assert row is not None and row.status == "active" and row.grace_until is None
    await harness.deliver(wait=5)
    assert "is active" in harness.last_reply(USER).text


async def test_a_failure_stripe_will_not_retry_says_so(harness: Harness) -> None:
    now = int(time.time())
    subscription = make_subscription(
        "sub_last",
        customer="cus_last",
        price_id=PRICE_MONTHLY,
        current_period_end=now + 20 * 86_400,
        metadata={"telegram_user_id": str(USER)},
    )
    await harness.post_event(subscription_event("created", subscription, created=now))
    failed = payment_failed_event(
        "cus_last", "sub_last", created=now + 1, next_attempt=None, amount=900, currency="eur"
    )
    await harness.post_event(failed)
    await harness.deliver(wait=5)
    assert "will not try this card again" in harness.last_reply(USER).text
