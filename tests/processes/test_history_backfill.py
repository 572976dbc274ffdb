"""Migration 0023 on both databases: the subscription history backfilled from the Stripe
entitlements there were (docs/analytics.md#history), and the analytics read from it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.admin import analytics_reader
from db import migrate
from db.engine import create_session_factory
from db.models import Entitlement, SubscriptionEvent, User
from tests.processes.test_migrations import downgrade, fresh_engine  # noqa: F401 - a fixture

MADE = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
CHANGED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _row(user_id: int, source: str, status: str) -> dict[str, object]:
    return {
        "user_id": user_id, "source": source, "source_ref": f"ref_{user_id}", "status": status,
        "price_id": "price_x", "expires_at": CHANGED, "cancel_at_period_end": False,
        "state_version": 0, "created_at": MADE, "updated_at": CHANGED,
    }  # fmt: skip


async def test_the_history_is_backfilled_from_the_entitlements(
    fresh_engine: AsyncEngine,  # noqa: F811 - the fixture
) -> None:
    await migrate.upgrade(fresh_engine)
    await downgrade(fresh_engine, "0022")
    async with fresh_engine.begin() as conn:
        await conn.execute(insert(User), [{"id": n, "first_name": "U"} for n in range(1, 6)])
        await conn.execute(
            insert(Entitlement),
            [
                _row(1, "stripe", "active"),
                _row(2, "stripe", "canceled"),
                _row(3, "stripe", "trialing"),
                _row(4, "stars", "active"),  # Stars: star_payments is its history
                _row(5, "stripe", "past_due"),
            ],
        )
    await migrate.upgrade(fresh_engine)

    sessions = create_session_factory(fresh_engine)
    async with sessions() as session:
        rows = await session.execute(
            select(SubscriptionEvent.user_id, SubscriptionEvent.kind, SubscriptionEvent.status,
                   SubscriptionEvent.at)
            .order_by(SubscriptionEvent.user_id, SubscriptionEvent.at)
        )  # fmt: skip
        assert [tuple(row) for row in rows] == [
            (1, "state", "active", MADE),
            (2, "state", "active", MADE),
            (2, "state", "canceled", CHANGED),
            (3, "state", "trialing", MADE),
            (5, "state", "active", MADE),
            (5, "state", "past_due", CHANGED),
        ]
        report = await analytics_reader.report(session, datetime(2026, 12, 7, tzinfo=UTC))
    assert report.paying == 2  # 1 and 5 (past_due still pays)
    assert report.unpriced == 2  # price_x is not offered
    assert (report.trials.started, report.trials.running) == (1, 1)
    assert sum(b.voluntary for b in report.months) == 1  # 2: cancelled, as far as we know
