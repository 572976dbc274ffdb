"""The Stripe entitlement state machine: the next state for an event, and what to tell the
user. Pure: no database, no network; bot.billing.stripe_events loads, asks, saves, notifies.

Events arrive late, twice and out of order. Each entitlement remembers the `created` time
of the newest event applied (`state_version`): an older event never overwrites newer
state. Extending the paid-through date is monotonic, so an invoice may do it in any order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.accounts.access import entitlement_grants_access
from bot.accounts.entitlement_writes import EntitlementState
from bot.billing.stripe_shapes import Invoice, Subscription

# A subscription in one of these states is over for good; a same-second event must not
# bring it back.
TERMINAL_STATUSES = frozenset({"canceled", "incomplete_expired"})
LIVE_STATUSES = frozenset({"active", "trialing", "past_due"})
# A newer paid invoice ends these: the subscription is active again.
RECOVERABLE_STATUSES = frozenset({"past_due", "unpaid", "incomplete"})
# GRACE_DAYS' default: how long past_due keeps access after the first failed payment.
DEFAULT_GRACE = timedelta(days=3)


class Notice(enum.StrEnum):
    """What the user is told when access changes."""

    ACCESS_STARTED = "access_started"
    ACCESS_ENDED = "access_ended"


@dataclass(frozen=True, slots=True)
class Change:
    after: EntitlementState
    notice: Notice | None


def _notice(
    before: EntitlementState | None, after: EntitlementState, now: datetime
) -> Notice | None:
    had = before is not None and entitlement_grants_access(before, now)
    has = entitlement_grants_access(after, now)
    if had == has:
        return None
    return Notice.ACCESS_STARTED if has else Notice.ACCESS_ENDED


def _is_stale(
    before: EntitlementState, subscription: Subscription, version: int, now: datetime
) -> bool:
    if before.source_ref != subscription.id:
        # A second subscription for the same user: a lapsed one never replaces a live one.
        live = entitlement_grants_access(before, now)
        return live and subscription.status not in LIVE_STATUSES
    return version < before.state_version or (
        version == before.state_version and before.status in TERMINAL_STATUSES
    )


def _grace_until(
    before: EntitlementState | None, subscription: Subscription, now: datetime, grace: timedelta
) -> datetime | None:
    """While past_due, the grace's end: set at the first failure, kept through retries."""
    if subscription.status != "past_due":
        return None
    if before is not None and before.source_ref == subscription.id and before.grace_until:
        return before.grace_until
    return now + grace


def on_subscription(
    before: EntitlementState | None,
    subscription: Subscription,
    version: int,
    now: datetime,
    grace: timedelta = DEFAULT_GRACE,
) -> Change | None:
    """The user's Stripe entitlement after a subscription event; None when stale."""
    if before is not None and _is_stale(before, subscription, version, now):
        return None
    after = EntitlementState(
        source_ref=subscription.id,
        status=subscription.status,
        price_id=subscription.price_id or (before.price_id if before else None),
        expires_at=subscription.access_end or (before.expires_at if before else None),
        cancel_at_period_end=subscription.cancel_at_period_end,
        state_version=version,
        grace_until=_grace_until(before, subscription, now, grace),
    )
    return Change(after, _notice(before, after, now))


def on_invoice_paid(
    before: EntitlementState, invoice: Invoice, version: int, now: datetime
) -> Change | None:
    """After a paid invoice of the entitlement's subscription; None when nothing changes."""
    expires_at = before.expires_at
    paid_until = invoice.period_end
    if paid_until and (expires_at is None or paid_until > expires_at):
        expires_at = paid_until
    after = replace(before, expires_at=expires_at)
    # A status change only comes from an event newer than what we hold.
    if version >= before.state_version and before.status in RECOVERABLE_STATUSES:
        after = replace(after, status="active", state_version=version, grace_until=None)
    if after == before:
        return None
    return Change(after, _notice(before, after, now))
