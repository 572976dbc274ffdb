"""Stripe events applied together (bot/billing/event_sets.py): the events of one group
commit's batch are applied set by set, one statement per table, and do exactly what the
same events applied one by one in the same order do."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.billing import entitlements
from bot.billing.event_sets import Unit
from bot.billing.stripe_events import Outcome
from bot.billing.stripe_shapes import StripeEvent, parse_event
from db.models import Entitlement, OutboxMessage, ProcessedStripeEvent, StripeCustomer, User
from tests.support.fakes.stripe_api import make_event
from tests.support.harness import Harness
from tests.support.helpers import (
    DAY,
    entitlement,
    outbox,
    payment_failed_event,
    subscription_event,
    subscription_for,
)

USER = 2_900_001
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class Batches:
    """The processor's batches, as apply_units saw them: the size of each."""

    def __init__(self, harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sizes: list[int] = []
        processor = harness.parts.stripe_events
        apply_units = processor.apply_units

        async def counted(session: Any, units: Sequence[Unit]) -> list[Outcome]:
            self.sizes.append(len(units))
            return await apply_units(session, units)

        monkeypatch.setattr(processor, "apply_units", counted)
        monkeypatch.setattr(processor, "_now", lambda: NOW)


async def _together(harness: Harness, events: list[dict[str, Any]]) -> list[Outcome | Exception]:
    """The events handed to the processor at once, as concurrent webhooks are: they queue
    before the group commit takes its next batch."""
    processor = harness.parts.stripe_events
    parsed = [parse_event(event) for event in events]
    results = await asyncio.gather(*(processor.apply(e) for e in parsed), return_exceptions=True)
    return [r if isinstance(r, Outcome | Exception) else Exception(r) for r in results]


def _statuses(results: list[Outcome | Exception]) -> list[str]:
    return [r.status if isinstance(r, Outcome) else type(r).__name__ for r in results]


@pytest.fixture
async def batches(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Batches:
    # Plans loaded first, so no event waits on Stripe before it queues.
    await harness.parts.stripe_events.apply(
        parse_event(make_event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"}))
    )
    return Batches(harness, monkeypatch)


async def test_two_events_of_one_user_in_one_batch_apply_in_order(
    harness: Harness, batches: Batches
) -> None:
    now = int(time.time())
    sub = subscription_for(USER)
    results = await _together(
        harness,
        [
            subscription_event("created", sub, created=now),
            subscription_event("updated", {**sub, "cancel_at_period_end": True}, created=now + 1),
        ],
    )
    assert batches.sizes == [2]
    assert _statuses(results) == ["applied", "applied"]
    row = await entitlement(harness, USER)
    assert row is not None and row.state_version == now + 1 and row.cancel_at_period_end
    assert [m.kind for m in await outbox(harness, USER)] == ["access_started"]  # one start


async def test_an_older_event_after_a_newer_one_in_one_batch_is_stale(
    harness: Harness, batches: Batches
) -> None:
    now = int(time.time())
    sub = subscription_for(USER)
    results = await _together(
        harness,
        [
            subscription_event("created", sub, created=now),
            subscription_event("deleted", {**sub, "status": "canceled"}, created=now + 10),
            subscription_event("updated", {**sub, "status": "active"}, created=now + 5),
        ],
    )
    assert batches.sizes == [3]
    assert _statuses(results) == ["applied"] * 3  # recorded; the last one changed nothing
    row = await entitlement(harness, USER)
    assert row is not None and (row.status, row.state_version) == ("canceled", now + 10)
    assert [m.kind for m in await outbox(harness, USER)] == ["access_started", "access_ended"]


async def test_a_duplicate_inside_one_batch_applies_once(
    harness: Harness, batches: Batches
) -> None:
    event = subscription_event("created", subscription_for(USER), created=int(time.time()))
    results = await _together(harness, [event, event, event])
    assert batches.sizes == [3]
    assert _statuses(results) == ["applied", "duplicate", "duplicate"]
    assert len(await outbox(harness, USER)) == 1
    async with harness.session() as session:
        recorded = await session.scalars(select(ProcessedStripeEvent.event_id))
        assert list(recorded).count(event["id"]) == 1


async def test_one_bad_event_in_a_batch_fails_alone(
    harness: Harness, batches: Batches, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something in one event fails (here the state machine, for one subscription): the
    batch's transaction is rolled back, each event runs again alone, and only that one
    fails; its neighbours before and after it are applied."""
    decide = entitlements.on_subscription

    def failing(before: Any, subscription: Any, *args: Any) -> Any:
        if subscription.id == "sub_bad":
            raise ValueError("this event cannot be applied")
        return decide(before, subscription, *args)

    monkeypatch.setattr(entitlements, "on_subscription", failing)
    now = int(time.time())
    users = (USER, USER + 1, USER + 2)
    events = [
        subscription_event(
            "created",
            subscription_for(user, sub_id=sub_id, customer=f"cus_{user}"),
            created=now,
        )
        for user, sub_id in zip(users, ("sub_a", "sub_bad", "sub_c"), strict=True)
    ]
    results = await _together(harness, events)
    assert batches.sizes == [3, 1, 1, 1]  # together, then each alone
    assert _statuses(results) == ["applied", "ValueError", "applied"]
    assert await entitlement(harness, USER) is not None
    assert await entitlement(harness, USER + 1) is None
    assert await entitlement(harness, USER + 2) is not None
    async with harness.session() as session:  # the failed one can be delivered again
        recorded = set(await session.scalars(select(ProcessedStripeEvent.event_id)))
    assert events[1]["id"] not in recorded and {events[0]["id"], events[2]["id"]} <= recorded


async def test_later_events_in_a_batch_see_what_earlier_ones_wrote(
    harness: Harness, batches: Batches
) -> None:
    """A subscription created in the batch is found by its invoice, and its customer by
    an event that names only the customer, as if the earlier event had committed."""
    now = int(time.time())
    sub = subscription_for(USER, sub_id="sub_new", customer="cus_new", period_end=now + DAY)
    anonymous = {**sub, "metadata": {}, "cancel_at_period_end": True}
    invoice = {
        "id": "in_new",
        "object": "invoice",
        "customer": "cus_new",
        "subscription": "sub_new",
        "lines": {"data": [{"period": {"start": now, "end": now + 31 * DAY}}]},
    }
    results = await _together(
        harness,
        [
            subscription_event("created", sub, created=now),
            subscription_event("updated", anonymous, created=now + 1),
            make_event("invoice.paid", invoice, created=now + 2),
            payment_failed_event("cus_new", "sub_new", created=now + 3, next_attempt=None),
        ],
    )
    assert batches.sizes == [4]
    assert _statuses(results) == ["applied"] * 4
    row = await entitlement(harness, USER)
    assert row is not None and row.expires_at is not None
    assert int(row.expires_at.timestamp()) == now + 31 * DAY
    assert row.cancel_at_period_end and row.state_version == now + 1
    kinds = [m.kind for m in await outbox(harness, USER)]
    assert kinds == ["access_started", "payment_failed"]


# --- a batch does what the same events one by one do --------------------------------------

# Each subscription is one user's, paid through one customer (the same for two of them):
# as in Stripe, where a subscription never changes hands. (Two users' entitlements naming
# one subscription would make "the entitlement of this subscription" a choice between
# them, which one by one PostgreSQL makes by the rows' places on disk.)
SUBSCRIPTIONS = {"sub_1": ("cus_1", USER), "sub_2": ("cus_2", USER + 1), "sub_3": ("cus_1", USER)}


def _random_event(rng: random.Random, base: int, sent: list[dict[str, Any]]) -> dict[str, Any]:
    """One of the events Stripe sends about those subscriptions, sometimes known only by
    their customer, sometimes a replay, in any order."""
    if sent and rng.random() < 0.1:
        return rng.choice(sent)
    sub_id = rng.choice(sorted(SUBSCRIPTIONS))
    customer, user = SUBSCRIPTIONS[sub_id]
    created = base + rng.randint(0, 20)
    kind = rng.choice(("created", "updated", "deleted", "paid", "failed"))
    if kind == "paid":
        invoice: dict[str, Any] = {"id": f"in_{created}", "object": "invoice"}
        invoice["subscription"] = sub_id
        invoice["lines"] = {"data": [{"period": {"end": created + rng.randint(1, 40) * DAY}}]}
        return make_event("invoice.paid", invoice, created=created)
    if kind == "failed":
        return payment_failed_event(customer, sub_id, created=created, next_attempt=None)
    status = "canceled" if kind == "deleted" else rng.choice(("active", "past_due", "trialing"))
    sub = subscription_for(user, sub_id=sub_id, customer=customer, status=status)
    if rng.random() < 0.3:
        sub["metadata"] = {}  # known only by its customer
    return subscription_event(kind, sub, created=created)


def _sequence(seed: int, length: int) -> list[StripeEvent]:
    rng = random.Random(seed)
    base = int(time.time())
    sent: list[dict[str, Any]] = []
    for _ in range(length):
        sent.append(_random_event(rng, base, sent))
    return [parse_event(event) for event in sent]


async def _snapshot(harness: Harness) -> tuple[Any, ...]:
    async with harness.session() as session:
        rows = await session.scalars(select(Entitlement).order_by(Entitlement.user_id))
        held = [
            (e.user_id, e.source_ref, e.status, e.price_id, e.expires_at, e.grace_until)
            + (e.cancel_at_period_end, e.state_version)
            for e in rows
        ]
        links = (
            await session.execute(select(StripeCustomer.user_id, StripeCustomer.customer_id))
        ).all()
        notices = (
            await session.execute(
                select(OutboxMessage.chat_id, OutboxMessage.kind, OutboxMessage.params).order_by(
                    OutboxMessage.id
                )
            )
        ).all()
        users = set(await session.scalars(select(User.id)))
        recorded = set(await session.scalars(select(ProcessedStripeEvent.event_id)))
    return held, sorted(links), [tuple(n) for n in notices], users, recorded


async def _forget(harness: Harness) -> None:
    async with harness.session() as session, session.begin():
        for model in (OutboxMessage, ProcessedStripeEvent, Entitlement, StripeCustomer, User):
            await session.execute(delete(model))


async def _alone_and_together(
    harness: Harness, batches: Batches, events: list[StripeEvent]
) -> None:
    """Applied one by one, then (everything forgotten) all in one batch: the same
    outcomes, rows and notices."""
    processor = harness.parts.stripe_events
    await _forget(harness)
    alone = [await processor.apply(event) for event in events]
    expected = await _snapshot(harness)
    await _forget(harness)
    batches.sizes.clear()
    together = await asyncio.gather(*(processor.apply(event) for event in events))
    assert batches.sizes == [len(events)]
    assert [o.status for o in together] == [o.status for o in alone]
    assert await _snapshot(harness) == expected


@pytest.mark.parametrize("seed", range(8))
async def test_a_batch_does_what_its_events_one_by_one_do(
    harness: Harness, batches: Batches, seed: int
) -> None:
    await _alone_and_together(harness, batches, _sequence(seed, 24))


async def test_a_customer_moving_to_another_user_in_a_batch(
    harness: Harness, batches: Batches
) -> None:
    """A customer pays for one Telegram id, then for another (its old link dropped), then
    an event names only that customer; and the second user's own earlier customer is
    left to nobody."""
    now = int(time.time())
    first = subscription_for(USER, sub_id="sub_a", customer="cus_shared")
    second = subscription_for(USER + 1, sub_id="sub_b", customer="cus_own")
    moved = subscription_for(USER + 1, sub_id="sub_b", customer="cus_shared")
    events = [
        subscription_event("created", first, created=now),
        subscription_event("created", second, created=now),
        subscription_event("updated", moved, created=now + 1),
        subscription_event(
            "updated", {**moved, "metadata": {}, "status": "past_due"}, created=now + 2
        ),
        subscription_event("updated", {**second, "metadata": {}}, created=now + 3),
    ]
    await _alone_and_together(harness, batches, [parse_event(e) for e in events])
    async with harness.session() as session:
        links = (
            await session.execute(select(StripeCustomer.user_id, StripeCustomer.customer_id))
        ).all()
    assert sorted(links) == [(USER + 1, "cus_shared")]
    row = await entitlement(harness, USER + 1)
    assert row is not None and (row.status, row.state_version) == ("past_due", now + 2)
