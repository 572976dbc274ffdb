"""has_access: the one decision over entitlements, by source, status and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.accounts.access import STRIPE_GRACE, has_access, with_access
from db.models import Entitlement, EntitlementSource, User
from tests.support.harness import Harness
from tests.support.helpers import give_access

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
USER = 4004


async def _with(harness: Harness, *entitlements: Entitlement) -> bool:
    async with harness.session() as session, session.begin():
        session.add(User(id=USER, first_name="Cy"))
        await session.flush()
        for row in entitlements:
            row.user_id = USER
            session.add(row)
    async with harness.session() as session:
        return await has_access(session, USER, NOW)


def _stripe(status: str, expires: datetime | None) -> Entitlement:
    return Entitlement(source=EntitlementSource.STRIPE, status=status, expires_at=expires)


@pytest.mark.parametrize(
    ("status", "expires", "expected"),
    [
        ("active", NOW + timedelta(days=3), True),
        ("trialing", NOW + timedelta(days=3), True),
        ("past_due", NOW + timedelta(days=3), True),  # Stripe is still retrying the card
        ("unpaid", NOW + timedelta(days=3), False),
        ("canceled", NOW + timedelta(days=3), False),
        ("incomplete", NOW + timedelta(days=3), False),
        ("active", NOW - STRIPE_GRACE + timedelta(minutes=1), True),  # renewal webhook late
        ("active", NOW - STRIPE_GRACE - timedelta(minutes=1), False),
        ("active", None, False),  # a Stripe row without a period never grants
    ],
)
async def test_stripe_entitlements(
    harness: Harness, status: str, expires: datetime | None, expected: bool
) -> None:
    assert await _with(harness, _stripe(status, expires)) is expected


async def test_no_entitlement_means_no_access(harness: Harness) -> None:
    assert await _with(harness) is False


async def test_open_ended_admin_grant(harness: Harness) -> None:
    grant = Entitlement(source=EntitlementSource.GRANT, status="active", expires_at=None)
    assert await _with(harness, grant) is True


async def test_trial_ends_exactly_at_expiry(harness: Harness) -> None:
    trial = Entitlement(source=EntitlementSource.TRIAL, status="trialing", expires_at=NOW)
    assert await _with(harness, trial) is False


async def test_any_source_is_enough(harness: Harness) -> None:
    lapsed = _stripe("canceled", NOW - timedelta(days=1))
    grant = Entitlement(
        source=EntitlementSource.GRANT, status="active", expires_at=NOW + timedelta(days=1)
    )
    assert await _with(harness, lapsed, grant) is True


async def test_with_access_takes_more_ids_than_a_statement_can_bind(harness: Harness) -> None:
    """A premium chat's whole membership: more ids than asyncpg binds in one query."""
    await give_access(harness, 41_000)
    async with harness.session() as session:
        found = await with_access(session, range(1, 40_001 + 1000), datetime.now(UTC))
    assert found == {41_000}
