"""The Stripe entitlement state machine, without a database or a network."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.billing.entitlements import (
    EntitlementState,
    Notice,
    on_invoice_paid,
    on_subscription,
)
from bot.billing.stripe_shapes import Invoice, Subscription

NOW = datetime(2026, 12, 1, tzinfo=UTC)
LATER = int((NOW + timedelta(days=30)).timestamp())


def _sub(
    status: str = "active", *, sub_id: str = "sub_1", end: int = LATER, **extra: Any
) -> Subscription:
    return Subscription.model_validate(
        {
            "id": sub_id,
            "status": status,
            "items": {"data": [{"current_period_end": end, "price": {"id": "price_m"}}]},
            **extra,
        }
    )


def _state(
    status: str = "active", *, version: int = 100, sub_id: str = "sub_1", days: int = 30
) -> EntitlementState:
    return EntitlementState(
        source_ref=sub_id,
        status=status,
        price_id="price_m",
        expires_at=NOW + timedelta(days=days),
        cancel_at_period_end=False,
        state_version=version,
    )


def _invoice(end: int) -> Invoice:
    return Invoice.model_validate(
        {"id": "in_1", "subscription": "sub_1", "lines": {"data": [{"period": {"end": end}}]}}
    )


def test_a_first_subscription_starts_access() -> None:
    change = on_subscription(None, _sub(), 100, NOW)
    assert change is not None and change.notice is Notice.ACCESS_STARTED
    assert change.after.status == "active" and change.after.state_version == 100
    assert change.after.expires_at == datetime.fromtimestamp(LATER, UTC)


def test_an_older_event_never_overwrites_newer_state() -> None:
    assert on_subscription(_state(version=200), _sub("canceled"), 100, NOW) is None


def test_a_same_second_event_cannot_revive_a_terminal_subscription() -> None:
    assert on_subscription(_state("canceled", version=100), _sub("active"), 100, NOW) is None
    change = on_subscription(_state("active", version=100), _sub("past_due"), 100, NOW)
    assert change is not None and change.after.status == "past_due"


def test_cancelling_ends_access_with_a_notice() -> None:
    change = on_subscription(_state(), _sub("canceled"), 200, NOW)
    assert change is not None and change.notice is Notice.ACCESS_ENDED


def test_a_subscription_cancelled_at_once_ends_when_stripe_ended_it() -> None:
    ended = int(NOW.timestamp())
    change = on_subscription(_state(), _sub("canceled", ended_at=ended), 200, NOW)
    assert change is not None and change.after.expires_at == NOW
    # Cancelled at the period's end: Stripe's ended_at is the period's end, kept as is.
    change = on_subscription(_state(), _sub("canceled", ended_at=LATER), 200, NOW)
    assert change is not None and change.after.expires_at == NOW + timedelta(days=30)


def test_a_change_that_keeps_access_says_nothing() -> None:
    change = on_subscription(_state(), _sub("active", cancel_at_period_end=True), 200, NOW)
    assert change is not None and change.notice is None and change.after.cancel_at_period_end


def test_a_lapsed_second_subscription_never_replaces_a_live_one() -> None:
    other = _sub("incomplete_expired", sub_id="sub_2")
    assert on_subscription(_state(), other, 300, NOW) is None
    live_other = _sub("active", sub_id="sub_2")
    change = on_subscription(_state(), live_other, 50, NOW)  # versions are per subscription
    assert change is not None and change.after.source_ref == "sub_2"


def test_a_paid_invoice_extends_access_in_any_order() -> None:
    before = _state(days=5)
    longer = int((NOW + timedelta(days=40)).timestamp())
    change = on_invoice_paid(before, _invoice(longer), 50, NOW)  # older than the state
    assert change is not None and change.after.expires_at == datetime.fromtimestamp(longer, UTC)
    assert change.after.state_version == before.state_version  # no status change from it
    shorter = int((NOW + timedelta(days=1)).timestamp())
    assert on_invoice_paid(before, _invoice(shorter), 500, NOW) is None


def test_a_newer_paid_invoice_recovers_a_past_due_subscription() -> None:
    before = _state("past_due")
    change = on_invoice_paid(before, _invoice(LATER), 200, NOW)
    assert change is not None and change.after.status == "active"
    assert on_invoice_paid(before, _invoice(LATER), 50, NOW) is None  # older: no status change


def test_renewal_of_an_expired_entitlement_restarts_access() -> None:
    expired = replace(_state(), expires_at=NOW - timedelta(days=3))
    change = on_invoice_paid(expired, _invoice(LATER), 50, NOW)
    assert change is not None and change.notice is Notice.ACCESS_STARTED
