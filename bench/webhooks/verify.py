"""Checking the database after a run: one processed event per distinct event, one Stripe
entitlement per user, and every user whose last event was a deletion canceled."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.webhooks.plan import Plan
from db.models import Entitlement, EntitlementSource, ProcessedStripeEvent


@dataclass
class Verification:
    processed: int
    expected_processed: int
    entitlements: int
    expected_entitlements: int
    canceled_wrong: list[int]

    @property
    def ok(self) -> bool:
        return (
            self.processed == self.expected_processed
            and self.entitlements == self.expected_entitlements
            and not self.canceled_wrong
        )

    def describe(self) -> str:
        if self.ok:
            return "ok"
        problems = []
        if self.processed != self.expected_processed:
            problems.append(
                f"processed_stripe_events={self.processed} (expected {self.expected_processed})"
            )
        if self.entitlements != self.expected_entitlements:
            problems.append(
                f"stripe entitlements={self.entitlements} "
                f"(expected {self.expected_entitlements}, one per user)"
            )
        if self.canceled_wrong:
            problems.append(
                f"{len(self.canceled_wrong)} users whose last event was deleted are not "
                f"canceled, e.g. {self.canceled_wrong[:5]}"
            )
        return "FAILED: " + "; ".join(problems)


async def verify(url: str, plan: Plan) -> Verification:
    """Compare the database with what the plan must have produced."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            processed = int(
                await conn.scalar(select(func.count()).select_from(ProcessedStripeEvent)) or 0
            )
            entitlements = int(
                await conn.scalar(
                    select(func.count())
                    .select_from(Entitlement)
                    .where(Entitlement.source == EntitlementSource.STRIPE)
                )
                or 0
            )
            statuses: dict[int, str] = {}
            for start in range(0, len(plan.canceled_users), 500):
                chunk = plan.canceled_users[start : start + 500]
                rows = await conn.execute(
                    select(Entitlement.user_id, Entitlement.status).where(
                        Entitlement.source == EntitlementSource.STRIPE,
                        Entitlement.user_id.in_(chunk),
                    )
                )
                statuses.update({int(user_id): str(status) for user_id, status in rows})
    finally:
        await engine.dispose()
    return Verification(
        processed=processed,
        expected_processed=plan.distinct_ids,
        entitlements=entitlements,
        expected_entitlements=len(plan.users),
        canceled_wrong=[u for u in plan.canceled_users if statuses.get(u) != "canceled"],
    )
