"""What the analytics tests share: a Stripe story told in signed webhooks (trials, an
upgrade, a failed payment recovered and one lost) and the builders of its events."""

from __future__ import annotations

import time
from typing import Any

from tests.support.fakes.stripe_api import make_event, make_subscription
from tests.support.harness import PRICE_MONTHLY, PRICE_YEARLY, Harness
from tests.support.helpers import DAY, payment_failed_event

ANA, BEN, CAT, DON, EVA = 3_100_001, 3_100_002, 3_100_003, 3_100_004, 3_100_005
NOW = int(time.time())


def sub(user: int, status: str, *, price: str = PRICE_MONTHLY) -> dict[str, Any]:
    return make_subscription(
        f"sub_{user}",
        customer=f"cus_{user}",
        price_id=price,
        status=status,
        current_period_end=NOW + 20 * DAY,
        metadata={"telegram_user_id": str(user)},
    )


def changed(user: int, status: str, days_ago: int, **more: Any) -> dict[str, Any]:
    kind = "deleted" if status == "canceled" else "updated"
    event_id = more.pop("event_id", None)
    return make_event(
        f"customer.subscription.{kind}",
        sub(user, status, **more),
        created=NOW - days_ago * DAY,
        event_id=event_id,
    )


def paid(user: int, amount: int, days_ago: int) -> dict[str, Any]:
    invoice = {
        "id": f"in_{user}_{days_ago}",
        "object": "invoice",
        "customer": f"cus_{user}",
        "amount_due": amount,
        "amount_paid": amount,
        "currency": "usd",
        "parent": {"subscription_details": {"subscription": f"sub_{user}"}},
        "lines": {"data": [{"period": {"end": NOW + 20 * DAY}}]},
    }
    return make_event("invoice.paid", invoice, created=NOW - days_ago * DAY)


def failed(user: int, days_ago: int) -> dict[str, Any]:
    created = NOW - days_ago * DAY
    return payment_failed_event(f"cus_{user}", f"sub_{user}", created=created, next_attempt=None)


async def post(harness: Harness, *events: dict[str, Any]) -> list[str]:
    outcomes = []
    for event in events:
        status, body = await harness.post_event(event)
        assert status == 200, body
        outcomes.append(body.get("status", ""))
    return outcomes


async def stripe_story(harness: Harness) -> None:
    await post(
        harness,
        changed(ANA, "trialing", 30),  # a trial that converts
        changed(ANA, "active", 20),
        paid(ANA, 4900, 20),
        changed(BEN, "trialing", 30),  # a trial that lapses
        changed(BEN, "canceled", 16),
        changed(CAT, "active", 50),  # a failure recovered, then an upgrade
        paid(CAT, 4900, 50),
        failed(CAT, 20),
        changed(CAT, "past_due", 20),
        paid(CAT, 4900, 17),
        changed(CAT, "active", 10, price=PRICE_YEARLY),
        paid(CAT, 49000, 10),
        changed(DON, "active", 40),  # a failure never recovered
        paid(DON, 4900, 40),
        failed(DON, 10),
        changed(DON, "past_due", 10),
        changed(DON, "canceled", 3),
    )
