"""What the Telegram Stars tests share: the price, two users, the `stars` fixture (a harness
with STARS_PRICE set), and what they read: the Stars entitlement, the payments booked, the
notices of a kind queued, and whether a user has access."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.accounts.access import has_access
from db.models import Entitlement, EntitlementSource, OutboxMessage, StarPayment
from tests.support.harness import Harness, MakeHarness

PRICE = 250
ANN = 6_700_001
BOB = 6_700_002


@pytest.fixture
async def stars(make_harness: MakeHarness) -> Harness:
    return await make_harness(stars_price=PRICE)


async def _stars_row(harness: Harness, user_id: int) -> Entitlement | None:
    async with harness.session() as session:
        return await session.scalar(
            select(Entitlement).where(
                Entitlement.user_id == user_id, Entitlement.source == EntitlementSource.STARS
            )
        )


async def _payments(harness: Harness) -> list[StarPayment]:
    async with harness.session() as session:
        return list(await session.scalars(select(StarPayment).order_by(StarPayment.id)))


async def _outbox(harness: Harness, kind: str) -> int:
    async with harness.session() as session:
        query = select(func.count()).where(OutboxMessage.kind == kind)
        return int(await session.scalar(query.select_from(OutboxMessage)) or 0)


async def _access(harness: Harness, user_id: int, at: datetime | None = None) -> bool:
    async with harness.session() as session:
        return await has_access(session, user_id, at or datetime.now(UTC))
