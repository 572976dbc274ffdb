"""What the role tests share: the people (one per role), a harness with the role lists set,
and a snapshot of every table an admin action could change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.accounts.roles import Permission
from db.models import (
    AuditEntry,
    Broadcast,
    Entitlement,
    HeldAction,
    OutboxMessage,
    PriceEvent,
    ProcessedStripeEvent,
    Signal,
    SignalUpdate,
    StarPayment,
    User,
)
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import count

POSTER = 7_700_001
SUPPORT = 7_700_002
ANALYST = 7_700_003
SUBSCRIBER = 7_700_004  # with access, in no role list
PEOPLE = {
    "owner": ADMIN_ID,
    "poster": POSTER,
    "support": SUPPORT,
    "analyst": ANALYST,
    "subscriber": SUBSCRIBER,
}
# What each person may do (bot/accounts/roles.py's table, written out again here so a
# change there has to be made twice on purpose).
MAY: dict[str, frozenset[Permission]] = {
    "owner": frozenset(Permission),
    "poster": frozenset({Permission.POST_SIGNALS}),
    "support": frozenset({Permission.LOOK_UP, Permission.GRANT_SHORT}),
    "analyst": frozenset({Permission.READ_STATS, Permission.EXPORT}),
    "subscriber": frozenset(),
}
NOT_ADMIN = "only the provider's admins"
NOT_ALLOWED = "your role does not include that"
OVER_LIMIT = "Support can grant 1 to 7 days"

_TABLES = (
    User,
    Entitlement,
    OutboxMessage,
    Broadcast,
    Signal,
    SignalUpdate,
    AuditEntry,
    HeldAction,
    PriceEvent,
    ProcessedStripeEvent,
    StarPayment,
)


async def with_roles(make_harness: MakeHarness, **overrides: Any) -> Harness:
    return await make_harness(
        poster_ids=[POSTER], support_ids=[SUPPORT], analyst_ids=[ANALYST], **overrides
    )


async def snapshot(harness: Harness) -> tuple[Any, ...]:
    """Every row count an admin action could move, and the entitlements' and signals'
    states (a grant or an update changes a row without adding one)."""
    counts = [await count(harness, table) for table in _TABLES]
    async with harness.session() as session:
        rights = (
            await session.execute(
                select(
                    Entitlement.user_id, Entitlement.source, Entitlement.status,
                    Entitlement.expires_at,
                ).order_by(Entitlement.id)
            )
        ).all()  # fmt: skip
        signals = (
            await session.execute(select(Signal.id, Signal.status).order_by(Signal.id))
        ).all()
    return (*counts, tuple(rights), tuple(signals))


def refusal_for(role: str) -> str:
    return NOT_ADMIN if role == "subscriber" else NOT_ALLOWED
