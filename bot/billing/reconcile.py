"""Reconciliation with Stripe: page through every subscription of the account, compare each
with the entitlement it should give, and apply each difference through the same state
machine and notices as the webhooks (a repaired subscription reads as if its lost webhook
had arrived). `python -m bot reconcile [--dry-run]` and the scheduler's daily job run it.

A page of subscriptions is first compared with what is stored in one read-only look (two
queries for a hundred): most agree, and those change nothing, not even their version, so a
second run reports nothing. Each of the others is one short transaction that reads again
under the webhooks' locks and decides again; with `dry_run` it is rolled back, so the
report is exactly what a real run would change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.entitlement_writes import EntitlementState
from bot.billing import entitlements, stripe_store
from bot.billing.entitlements import DEFAULT_GRACE
from bot.billing.stripe_events import StripeEventProcessor
from bot.billing.stripe_shapes import Subscription, parse_subscription

log = logging.getLogger(__name__)
PAGE_SIZE = 100  # Stripe's largest page
CLOCK_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Difference:
    """One entitlement that did not match its Stripe subscription, and what it became."""

    subscription_id: str
    user_id: int
    before: str
    after: str

    def line(self) -> str:
        return f"{self.subscription_id} (user {self.user_id}): {self.before} -> {self.after}"


@dataclass
class Report:
    seen: int = 0
    unknown: int = 0  # no Telegram user: no metadata, and a customer we never saw
    unreadable: int = 0
    changed: list[Difference] = field(default_factory=list)

    def summary(self, *, dry_run: bool) -> str:
        verb = "would change" if dry_run else "changed"
        return (
            f"reconciled {self.seen} Stripe subscriptions: {verb} {len(self.changed)}, "
            f"{self.unknown} of no known user, {self.unreadable} unreadable"
        )


def describe(state: EntitlementState | None) -> str:
    if state is None:
        return "none"
    ends = state.expires_at.date().isoformat() if state.expires_at else "no end"
    renewal = ", cancelled at period end" if state.cancel_at_period_end else ""
    return f"{state.status} until {ends}{renewal}"


def agrees(before: EntitlementState | None, after: EntitlementState) -> bool:
    """Whether the stored state already says what Stripe does (the version aside)."""
    return before is not None and replace(after, state_version=before.state_version) == before


def _version(before: EntitlementState | None, now: datetime) -> int:
    """The version a repair is saved with. Not simply now: a webhook Stripe created in the
    last minutes (its `created` on Stripe's clock, ours may run ahead) must still apply
    after it; never below the stored one, which would make the repair itself stale."""
    recent = int(now.timestamp()) - int(CLOCK_MARGIN.total_seconds())
    return max(recent, before.state_version if before is not None else 0)


class Reconciler:
    def __init__(
        self,
        processor: StripeEventProcessor,
        client: stripe.StripeClient,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        grace: timedelta = DEFAULT_GRACE,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._processor = processor
        self._client = client
        self._sessions = session_factory
        self._grace = grace
        self._now = now

    async def run(
        self, *, dry_run: bool, on_change: Callable[[Difference], None] | None = None
    ) -> Report:
        report = Report()
        page = await self._client.v1.subscriptions.list_async(
            params={"status": "all", "limit": PAGE_SIZE}
        )
        batch: list[Subscription] = []
        async for item in page.auto_paging_iter():
            report.seen += 1
            subscription = parse_subscription(item.to_dict())
            if subscription is None:
                report.unreadable += 1
                continue
            batch.append(subscription)
            if len(batch) == PAGE_SIZE:
                await self._batch(batch, dry_run=dry_run, report=report, on_change=on_change)
                batch = []
        await self._batch(batch, dry_run=dry_run, report=report, on_change=on_change)
        return report

    async def _batch(
        self,
        subscriptions: list[Subscription],
        *,
        dry_run: bool,
        report: Report,
        on_change: Callable[[Difference], None] | None,
    ) -> None:
        for subscription in await self._may_differ(subscriptions, report):
            difference = await self._one(subscription, dry_run=dry_run, report=report)
            if difference is not None:
                report.changed.append(difference)
                if on_change is not None:
                    on_change(difference)

    async def _may_differ(
        self, subscriptions: list[Subscription], report: Report
    ) -> list[Subscription]:
        """The subscriptions whose stored state may not agree, from one look at the page
        (no locks: each of these is decided again under them). Counts those of no user."""
        if not subscriptions:
            return []
        now = self._now()
        async with self._sessions() as session:
            conn = await session.connection()
            unnamed = {s.customer for s in subscriptions if s.telegram_user_id is None}
            owners = await stripe_store.users_of_customers(conn, {c for c in unnamed if c})
            user_of = {
                s.id: s.telegram_user_id or owners.get(s.customer or "") for s in subscriptions
            }
            ids = {user_id for user_id in user_of.values() if user_id is not None}
            stored = await stripe_store.entitlements_of_users(conn, ids)
        differ = []
        for subscription in subscriptions:
            user_id = user_of[subscription.id]
            if user_id is None:
                report.unknown += 1
                continue
            found = stored.get(user_id)
            before = found.state if found is not None else None
            version = _version(before, now)
            change = entitlements.on_subscription(before, subscription, version, now, self._grace)
            if change is not None and not agrees(before, change.after):
                differ.append(subscription)
        return differ

    async def _one(
        self, subscription: Subscription, *, dry_run: bool, report: Report
    ) -> Difference | None:
        now = self._now()
        async with self._sessions() as session:
            transaction = await session.begin()
            conn = await session.connection()
            user_id = await self._processor.resolve_user(
                conn, subscription.telegram_user_id, subscription.customer
            )
            stored = await stripe_store.entitlement_of_user(conn, user_id) if user_id else None
            before = stored.state if stored is not None else None
            version = _version(before, now)
            change = (
                entitlements.on_subscription(before, subscription, version, now, self._grace)
                if user_id is not None
                else None
            )
            if user_id is None or change is None or agrees(before, change.after):
                report.unknown += user_id is None
                await transaction.rollback()
                return None
            await self._processor.save_change(session, conn, user_id, stored, change)
            await (transaction.rollback() if dry_run else transaction.commit())
        return Difference(subscription.id, user_id, describe(before), describe(change.after))
