"""Admin operations: manual grants, broadcasts to subscribers, and the numbers behind /stats."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import access, entitlement_writes, referrals, users
from bot.accounts.access import entitlement_grants_access
from bot.audit import log as audit
from bot.audit.log import Actor
from bot.billing.plans import Plan
from bot.core.errors import DomainError
from bot.notices import outbox, paid
from bot.notices.kinds import NoticeKind
from bot.payments.amounts import STARS
from db.models import (
    Broadcast,
    Entitlement,
    EntitlementSource,
    OutboxMessage,
    OutboxStatus,
    Signal,
    User,
)

MONTHS_PER = {
    "day": Decimal("30.4375"),
    "week": Decimal("4.348125"),
    "month": Decimal(1),
    "year": Decimal(1) / 12,
}


class NoGrantError(DomainError):
    """Taking back a grant the user does not have (or that has already ended)."""


async def grant(
    session: AsyncSession, user_id: int, days: int, admin_id: int, now: datetime
) -> Entitlement:
    """Give (days > 0) or take back (days == 0) free access; the user is told either way.

    Taking back a grant that is not running changes nothing (NoGrantError): telling
    someone their access ended when they never had it would be wrong.
    """
    row = await session.scalar(
        select(Entitlement).where(
            Entitlement.user_id == user_id, Entitlement.source == EntitlementSource.GRANT
        )
    )
    if days == 0 and (row is None or not entitlement_grants_access(row, now)):
        raise NoGrantError("grant.no_grant", user=user_id)
    await users.ensure_user_id(await session.connection(), user_id)
    before = _grant_state(row)
    if row is None:
        row = Entitlement(user_id=user_id, source=EntitlementSource.GRANT, status="active")
    row.source_ref = f"admin:{admin_id}"
    row.status = "active" if days > 0 else "canceled"
    row.expires_at = now + timedelta(days=days)
    await entitlement_writes.save(session, row)
    until = row.expires_at.isoformat() if days > 0 else None
    await outbox.enqueue(session, chat_id=user_id, kind=NoticeKind.GRANT, params={"until": until})
    action = audit.Action.GRANT if days > 0 else audit.Action.REVOKE
    after = _grant_state(row)
    await audit.record(
        session, Actor.admin(admin_id), action, now, subject_id=user_id, before=before, after=after
    )
    return row


async def extend_only(
    session: AsyncSession, user_id: int, days: int, admin_id: int, now: datetime
) -> Entitlement:
    """`grant`, refused (NoGrantError) when a running grant already ends later: a support
    member's few days never cut short a longer grant an owner gave."""
    row = await session.scalar(
        select(Entitlement).where(
            Entitlement.user_id == user_id, Entitlement.source == EntitlementSource.GRANT
        )
    )
    if row is not None and entitlement_grants_access(row, now):
        ends = row.expires_at  # None: open-ended, longer than any
        if ends is None or ends > now + timedelta(days=days):
            raise NoGrantError("grant.would_shorten", user=user_id)
    return await grant(session, user_id, days, admin_id, now)


def _grant_state(row: Entitlement | None) -> dict[str, object] | None:
    return None if row is None else {"status": row.status, "expires_at": row.expires_at}


async def broadcast(
    session: AsyncSession,
    text: str,
    now: datetime,
    *,
    admin_chat_id: int | None,
    paid: bool = False,
) -> Broadcast:
    """Queue an announcement to every subscriber with access (on the paid lane with
    `paid`: PAID_BROADCAST=all)."""
    chats = await access.recipients(session, now)
    job = Broadcast(
        kind=NoticeKind.BROADCAST,
        title="",  # worded by bot/texts/admin.py
        admin_chat_id=admin_chat_id,
        total=len(chats),
        paid=paid,
    )
    session.add(job)
    await session.flush()
    await outbox.enqueue_bulk(
        session,
        chats,
        kind=NoticeKind.BROADCAST,
        params={"text": text},
        broadcast_id=job.id,
        now=now,
        paid=paid,
    )
    actor = Actor.admin(admin_chat_id) if admin_chat_id is not None else Actor.tool("cli")
    after = {"recipients": len(chats), "text": text[:200]}
    await audit.record(
        session, actor, audit.Action.BROADCAST, now, target=f"broadcast:{job.id}", after=after
    )
    return job


@dataclass(frozen=True)
class Stats:
    users: int
    with_access: int
    blocked: int
    by_state: dict[str, int]
    new_30d: int
    churned_30d: int
    mrr: dict[str, int] = field(default_factory=dict)  # currency -> minor units per month
    signals_open: int = 0
    signals_closed: int = 0
    outbox_pending: int = 0
    outbox_failed: int = 0
    referrals: tuple[int, int] = (0, 0)  # referred users, of whom paid (bot/accounts/referrals.py)
    # Sends on Telegram's paid lane and their cost in tenths of a Star: today (UTC), 30 days.
    paid_today: tuple[int, int] = (0, 0)
    paid_30d: tuple[int, int] = (0, 0)


async def find_broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


def monthly_amount(plan: Plan) -> Decimal:
    """A plan's price per month in minor units (a yearly plan counts one twelfth)."""
    per = MONTHS_PER.get(plan.interval or "month", Decimal(1))
    return Decimal(plan.unit_amount) * per / plan.interval_count


def _churned(row: Entitlement, month_ago: datetime, now: datetime) -> bool:
    """A paid subscription that ended in the last 30 days (cancelled, refunded, lapsed)."""
    if row.status in {"canceled", "unpaid", "incomplete_expired"}:
        return row.updated_at >= month_ago
    ended = row.expires_at is not None and month_ago <= row.expires_at
    return (
        row.source == EntitlementSource.STARS and ended and not entitlement_grants_access(row, now)
    )


async def stats(
    session: AsyncSession, now: datetime, plans: list[Plan], stars_price: int | None = None
) -> Stats:
    """Subscribers by state, MRR from the Stripe prices (and in Stars, counted apart, at
    STARS_PRICE), new and churned in 30 days (both rails)."""
    month_ago = now - timedelta(days=30)
    rows = list(await session.scalars(select(Entitlement)))
    with_access = {row.user_id for row in rows if entitlement_grants_access(row, now)}
    stripe_rows = [row for row in rows if row.source == EntitlementSource.STRIPE]
    stars_rows = [row for row in rows if row.source == EntitlementSource.STARS]
    by_state = Counter(row.status for row in stripe_rows)
    for source in (EntitlementSource.GRANT, EntitlementSource.STARS):
        by_state[source.value] = sum(
            1 for row in rows if row.source == source and entitlement_grants_access(row, now)
        )
    prices = {plan.price_id: plan for plan in plans}
    mrr: Counter[str] = Counter()
    for row in stripe_rows:
        plan = prices.get(row.price_id or "")
        if plan and row.status in {"active", "past_due"} and entitlement_grants_access(row, now):
            mrr[plan.currency] += int(monthly_amount(plan))
    if stars_price is not None and by_state[EntitlementSource.STARS.value]:
        mrr[STARS] += stars_price * by_state[EntitlementSource.STARS.value]
    paid = stripe_rows + stars_rows
    new = sum(1 for row in paid if row.created_at >= month_ago)
    churned = sum(1 for row in paid if _churned(row, month_ago, now))
    total_users = int(await session.scalar(select(func.count()).select_from(User)) or 0)
    blocked = int(
        await session.scalar(select(func.count()).where(User.blocked_at.is_not(None))) or 0
    )
    signal_rows = await session.execute(
        select(Signal.closed_at.is_(None), func.count())
        .where(Signal.published_at.is_not(None))
        .group_by(Signal.closed_at.is_(None))
    )
    signal_counts: dict[bool, int] = {bool(is_open): n for is_open, n in signal_rows}
    outbox_rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    outbox_counts: dict[str, int] = {status: n for status, n in outbox_rows}
    return Stats(
        users=total_users,
        with_access=len(with_access),
        blocked=blocked,
        by_state=dict(by_state),
        new_30d=new,
        churned_30d=churned,
        mrr=dict(mrr),
        signals_open=signal_counts.get(True, 0),
        signals_closed=signal_counts.get(False, 0),
        outbox_pending=outbox_counts.get(OutboxStatus.PENDING, 0),
        outbox_failed=outbox_counts.get(OutboxStatus.FAILED, 0),
        referrals=await referrals.counts(session),
        **await _paid_sends(session, now),
    )


async def _paid_sends(session: AsyncSession, now: datetime) -> dict[str, tuple[int, int]]:
    """The paid lane's book (bot/notices/paid.py): today's (UTC), and the last 30 days'."""
    today = await paid.sends_on(session, now.date())
    month = await paid.sends_between(session, now - timedelta(days=30), now + timedelta(1))
    return {
        "paid_today": (today, today * paid.TENTHS_PER_MESSAGE),
        "paid_30d": (month, month * paid.TENTHS_PER_MESSAGE),
    }
