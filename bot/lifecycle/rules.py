"""What the lifecycle jobs decide, without a database or a clock: when an entitlement's
access ends, which reminder is due, and the key that makes each message unique."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.accounts.access import STRIPE_GRACE, SUBSCRIPTION_SOURCES
from db.models import EntitlementSource

# An end older than this when the scheduler first sees it is not announced: a process
# that was down for a day still tells everyone, a first deployment does not tell users
# whose access ended months ago.
EXPIRY_LOOKBACK = timedelta(days=2)


@dataclass(frozen=True)
class Ending:
    """One entitlement with an end date, as the sweeps read it."""

    entitlement_id: int
    user_id: int
    source: str
    expires_at: datetime
    updated_at: datetime
    cancel_at_period_end: bool
    price_id: str | None
    status: str = "active"


def access_ends_at(ending: Ending) -> datetime:
    """When this entitlement stops giving access
    (bot.accounts.access.entitlement_grants_access)."""
    if ending.source in SUBSCRIPTION_SOURCES:
        return ending.expires_at + STRIPE_GRACE
    return ending.expires_at


def renews(ending: Ending) -> bool:
    """A Stripe or Stars subscription renews by itself unless its renewal was turned off."""
    return ending.source in SUBSCRIPTION_SOURCES and not ending.cancel_at_period_end


def expiry_key(ending: Ending) -> str:
    return f"expired:{ending.entitlement_id}:{int(ending.expires_at.timestamp())}"


def suspension_key(entitlement_id: int, grace_until: datetime) -> str:
    return f"suspended:{entitlement_id}:{int(grace_until.timestamp())}"


def reminder_key(ending: Ending, days: int) -> str:
    return f"reminder:{ending.entitlement_id}:{int(ending.expires_at.timestamp())}:{days}"


def days_left(ends: datetime, now: datetime) -> int:
    """Whole days until `ends`, counting a part day as one: what a reminder says, which is
    fewer than its tier when it goes out late (the process was down at its moment)."""
    return max(1, math.ceil((ends - now).total_seconds() / 86400))


def winback_key(user_id: int, ended: datetime) -> str:
    return f"winback:{user_id}:{int(ended.timestamp())}"


def ended_by_refund(ended: datetime, refunded_at: datetime | None) -> bool:
    """Whether the user's access ended with a refund (booked when it ended, or after): whoever
    asked for their money back is not offered to come back. A lapse after a later,
    kept subscription is offered as any other."""
    return refunded_at is not None and refunded_at >= ended


def winback_window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """The (since, until] range of access ends whose win-back offer is due at `now`:
    WINBACK_DAYS ago, or up to EXPIRY_LOOKBACK before that if the process was down."""
    until = now - timedelta(days=days)
    return until - EXPIRY_LOOKBACK, until


def renewal_key(ending: Ending, days: int) -> str:
    return f"renewal:{ending.entitlement_id}:{int(ending.expires_at.timestamp())}:{days}"


def _most_urgent(ending: Ending, now: datetime, days: Sequence[int]) -> int | None:
    """The fewest days before the end whose moment has come by `now`. A moment that passed
    before the entitlement last changed is not due (the user was just told about this end,
    by the grant, the cancellation or the renewal itself)."""
    if now >= ending.expires_at:
        return None
    due = [d for d in days if ending.updated_at <= ending.expires_at - timedelta(days=d) <= now]
    return min(due) if due else None


def due_reminder(ending: Ending, now: datetime, days: Sequence[int]) -> int | None:
    """The most urgent reminder of a non-renewing end due at `now`; an auto-renewing
    subscription gets none."""
    return None if renews(ending) else _most_urgent(ending, now, days)


def due_renewal_notice(ending: Ending, now: datetime, days: Sequence[int]) -> int | None:
    """The most urgent RENEWAL_NOTICE_DAYS notice due at `now`, for a Stripe subscription in
    good standing that renews by itself (a past_due one hears about its payment instead;
    Telegram itself tells a Stars subscriber before each renewal)."""
    if ending.source != EntitlementSource.STRIPE or not renews(ending):
        return None
    if ending.status not in ("active", "trialing"):
        return None
    return _most_urgent(ending, now, days)


def expired_between(ending: Ending, now: datetime) -> bool:
    """Whether access ended by time recently enough to be announced at `now`."""
    ends = access_ends_at(ending)
    return now - EXPIRY_LOOKBACK < ends <= now
