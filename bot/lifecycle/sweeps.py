"""The expiry and reminder jobs: find the entitlements whose moment has come, queue each
message once (its key in lifecycle_notices, in the same transaction as its outbox row).

They read in pages by entitlement id, one short transaction per page, so memory stays
flat however many users there are and SQLite's one connection is never held for long.
Only rows near their end are read at all (the index on expires_at).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.accounts.access import ACCESS_STATUSES, STRIPE_GRACE, SUBSCRIPTION_SOURCES, with_access
from bot.lifecycle import rules
from bot.lifecycle.brake import EXPIRY, MassBrake
from bot.lifecycle.rules import Ending
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.transactions.unit_of_work import UnitOfWork
from db.engine import insert_ignoring_conflicts
from db.models import Entitlement, LifecycleNotice, StarPayment, User

PAGE = 1000
_NOTICES = cast(Table, LifecycleNotice.__table__)
_INSERT_NOTICE = insert_ignoring_conflicts(_NOTICES, _NOTICES.c.event)
PlanName = Callable[[str | None], str | None]
# Each plan's price by Stripe price id: (amount in minor units, currency).
Prices = Callable[[], Awaitable[dict[str, tuple[int, str]]]]
# What one page of a sweep decided: the messages, how many rows it read, the last id.
Step = tuple[list["Message"], int, int]


@dataclass(frozen=True)
class Message:
    """One lifecycle message to queue: its unique event key, the chat, what to say."""

    event: str
    user_id: int
    kind: NoticeKind
    params: dict[str, Any]


async def _page(
    session: AsyncSession,
    since: datetime,
    until: datetime,
    after_id: int,
    *,
    renewing: bool | None = None,
) -> list[Ending]:
    """The next page of entitlements giving access whose end lies in (since, until];
    `renewing` True or False: only those that renew by themselves (rules.renews), or only
    those that do not. Most subscriptions renew, so the reminders do not read them."""
    query = (
        select(
            Entitlement.id,
            Entitlement.user_id,
            Entitlement.source,
            Entitlement.expires_at,
            Entitlement.updated_at,
            Entitlement.cancel_at_period_end,
            Entitlement.price_id,
            Entitlement.status,
        )
        .where(
            Entitlement.id > after_id,
            Entitlement.status.in_(ACCESS_STATUSES),
            Entitlement.expires_at > since,
            Entitlement.expires_at <= until,
        )
        .order_by(Entitlement.id)
        .limit(PAGE)
    )
    renews = and_(
        Entitlement.source.in_(SUBSCRIPTION_SOURCES), Entitlement.cancel_at_period_end.is_(False)
    )
    if renewing is not None:
        query = query.where(renews if renewing else ~renews)
    rows = await session.execute(query)
    return [
        Ending(
            entitlement_id=row.id,
            user_id=row.user_id,
            source=row.source,
            expires_at=cast(datetime, row.expires_at),  # the query's range excludes NULL
            updated_at=row.updated_at,
            cancel_at_period_end=row.cancel_at_period_end,
            price_id=row.price_id,
            status=row.status,
        )
        for row in rows
    ]


def _graces_over(since: datetime, until: datetime, after_id: int) -> Any:
    """past_due entitlements whose grace ran out in (since, until], a page by id."""
    return (
        select(Entitlement.id, Entitlement.user_id, Entitlement.grace_until, Entitlement.price_id)
        .where(
            Entitlement.id > after_id,
            Entitlement.status == "past_due",
            Entitlement.grace_until > since,
            Entitlement.grace_until <= until,
        )
        .order_by(Entitlement.id)
        .limit(PAGE)
    )


# Subscriptions that never started: nothing to win back.
_NEVER_STARTED = ("incomplete", "incomplete_expired")
_REVOKED = aliased(Entitlement)


def _lapsed(since: datetime, until: datetime, after_user: int) -> Any:
    """Users whose latest end lies in (since, until], a page by user id, with that end:
    not those who blocked the bot, nor those an admin took access from (/revoke)."""
    ended = func.max(Entitlement.expires_at)
    revoked = exists().where(
        _REVOKED.user_id == Entitlement.user_id,
        _REVOKED.source_ref.like("revoked by admin%"),
    )
    return (
        select(Entitlement.user_id, ended.label("ended"))
        .join(User, User.id == Entitlement.user_id)
        .where(
            Entitlement.user_id > after_user,
            Entitlement.expires_at > since,
            Entitlement.status.not_in(_NEVER_STARTED),
            User.blocked_at.is_(None),
            ~revoked,
        )
        .group_by(Entitlement.user_id)
        .having(ended <= until)
        .order_by(Entitlement.user_id)
        .limit(PAGE)
    )


async def _last_refunds(session: AsyncSession, user_ids: set[int]) -> dict[int, datetime]:
    """Each user's latest Stars refund (an admin's /refund, or one reconciliation found)."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(StarPayment.user_id, func.max(StarPayment.refunded_at))
        .where(StarPayment.user_id.in_(user_ids), StarPayment.refunded_at.is_not(None))
        .group_by(StarPayment.user_id)
    )
    return {user_id: at for user_id, at in rows if at is not None}


async def queue_once(session: AsyncSession, messages: Sequence[Message]) -> int:
    """Queue each message whose key is new; returns how many were queued. The insert of
    the key decides: a key already there (sent before, or by another process) queues
    nothing. One statement for all the keys (the inserted ones come back), one for all
    the outbox rows: a first sweep after a long outage can have thousands."""
    if not messages:
        return 0
    connection = await session.connection()
    insert = _INSERT_NOTICE[connection.dialect.name].returning(_NOTICES.c.event)
    result = await connection.execute(
        insert, [{"event": m.event, "user_id": m.user_id} for m in messages]
    )
    new = set(result.scalars())
    return await outbox.enqueue_many(
        session, ((m.user_id, m.kind, m.params) for m in messages if m.event in new)
    )


async def _unsent(session: AsyncSession, messages: Sequence[Message]) -> int:
    """How many of `messages` have a key not queued yet."""
    if not messages:
        return 0
    sent = await session.scalars(
        select(LifecycleNotice.event).where(LifecycleNotice.event.in_([m.event for m in messages]))
    )
    return len({m.event for m in messages} - set(sent))


async def _subscribers(session: AsyncSession, since: datetime) -> int:
    """Users whose access lasted past `since` (or has no end): whom the expiry job watches,
    the measure of a mass expiry."""
    count = await session.scalar(
        select(func.count(func.distinct(Entitlement.user_id))).where(
            Entitlement.status.in_(ACCESS_STATUSES),
            or_(Entitlement.expires_at.is_(None), Entitlement.expires_at > since),
        )
    )
    return int(count or 0)


class LifecycleSweeps:
    """The jobs' bodies; each takes `now` and answers one line for the scheduler's log."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        reminder_days: Sequence[int],
        plan_name: PlanName,
        winback_days: int | None = None,
        winback_code: str | None = None,
        renewal_days: Sequence[int] = (),
        prices: Prices | None = None,
        brake: MassBrake | None = None,
    ):
        self._uow = uow
        self._days = sorted(set(reminder_days), reverse=True)
        self._plan_name = plan_name
        self._winback_days = winback_days
        self._winback_code = winback_code
        self._renewal_days = sorted(set(renewal_days), reverse=True)
        self._prices = prices
        self._brake = brake

    async def expiry(self, now: datetime) -> str:
        """Tell each user whose access ended by time, once, with a Subscribe button."""
        since = now - rules.EXPIRY_LOOKBACK - STRIPE_GRACE

        async def step(session: AsyncSession, after_id: int) -> Step:
            page = await _page(session, since, now, after_id)
            ended = [e for e in page if rules.expired_between(e, now)]
            still = await with_access(session, {e.user_id for e in ended}, now)
            messages = [self._expired(e) for e in ended if e.user_id not in still]
            return messages, len(page), page[-1].entitlement_id if page else after_id

        if self._brake is not None:
            affected = await self._count_new(step)
            async with self._uow() as session:
                population = await _subscribers(session, since) if affected else 0
                go = await self._brake.allows(session, EXPIRY, affected, population, now)
            if not go:
                return f"held: {affected} of {population} subscribers to be told at once"
        return f"{await self._sweep(step)} told their access ended"

    async def reminders(self, now: datetime) -> str:
        """Remind before each non-renewing end, REMINDER_DAYS before it, each once."""
        if not self._days:
            return "reminders are off"
        until = now + timedelta(days=self._days[0])

        async def step(session: AsyncSession, after_id: int) -> Step:
            page = await _page(session, now, until, after_id, renewing=False)
            messages = [
                self._reminder(e, days, now)
                for e in page
                if (days := rules.due_reminder(e, now, self._days)) is not None
            ]
            return messages, len(page), page[-1].entitlement_id if page else after_id

        return f"{await self._sweep(step)} reminded of an end"

    async def renewals(self, now: datetime) -> str:
        """Tell each auto-renewing subscriber RENEWAL_NOTICE_DAYS before the renewal, each
        once, with the date and the plan's price."""
        if not self._renewal_days:
            return "renewal notices are off"
        until = now + timedelta(days=self._renewal_days[0])
        prices = await self._prices() if self._prices else {}

        async def step(session: AsyncSession, after_id: int) -> Step:
            page = await _page(session, now, until, after_id, renewing=True)
            messages = [
                self._renewal(e, days, now, prices.get(e.price_id or ""))
                for e in page
                if (days := rules.due_renewal_notice(e, now, self._renewal_days)) is not None
            ]
            return messages, len(page), page[-1].entitlement_id if page else after_id

        return f"{await self._sweep(step)} told of a renewal"

    async def suspensions(self, now: datetime) -> str:
        """Tell each past_due subscriber whose grace has just run out that access is
        paused, once (invoice.paid restores it, and the webhook says so)."""
        since = now - rules.EXPIRY_LOOKBACK

        async def step(session: AsyncSession, after_id: int) -> Step:
            page = list(await session.execute(_graces_over(since, now, after_id)))
            still = await with_access(session, {row.user_id for row in page}, now)
            messages = [
                Message(
                    rules.suspension_key(row.id, row.grace_until),
                    row.user_id,
                    NoticeKind.ACCESS_SUSPENDED,
                    {"plan": self._plan_name(row.price_id)},
                )
                for row in page
                if row.user_id not in still
            ]
            return messages, len(page), page[-1].id if page else after_id

        return f"{await self._sweep(step)} told their access is paused"

    async def winback(self, now: datetime) -> str:
        """One offer to each user whose access ended WINBACK_DAYS ago and who has not come
        back since (the promotion code, if any, is applied by the offer's button)."""
        if self._winback_days is None:
            return "win-back is off"
        since, until = rules.winback_window(now, self._winback_days)

        async def step(session: AsyncSession, after_user: int) -> Step:
            page = list(await session.execute(_lapsed(since, until, after_user)))
            back = await with_access(session, {row.user_id for row in page}, now)
            refunded = await _last_refunds(session, {row.user_id for row in page})
            params = {"code": self._winback_code}
            messages = [
                Message(
                    rules.winback_key(row.user_id, row.ended),
                    row.user_id,
                    NoticeKind.WINBACK_OFFER,
                    {**params, "until": row.ended.isoformat()},
                )
                for row in page
                if row.user_id not in back
                and not rules.ended_by_refund(row.ended, refunded.get(row.user_id))
            ]
            return messages, len(page), page[-1].user_id if page else after_user

        return f"{await self._sweep(step)} offered to come back"

    async def _sweep(self, step: Callable[[AsyncSession, int], Awaitable[Step]]) -> int:
        """Run `step` page after page, each in its own unit of work with the messages it
        decided on; how many were queued in all."""
        return await self._pages(step, queue_once)

    async def _count_new(self, step: Callable[[AsyncSession, int], Awaitable[Step]]) -> int:
        """How many messages a sweep would queue now (the brake's question), queueing none."""
        return await self._pages(step, _unsent)

    async def _pages(
        self,
        step: Callable[[AsyncSession, int], Awaitable[Step]],
        each: Callable[[AsyncSession, list[Message]], Awaitable[int]],
    ) -> int:
        """`step` page after page, each page's messages given to `each` in the page's unit
        of work; the sum of what `each` answered."""
        total, after_id = 0, 0
        while True:
            async with self._uow() as session:
                messages, read, after_id = await step(session, after_id)
                total += await each(session, messages)
            if read < PAGE:
                return total

    def _expired(self, ending: Ending) -> Message:
        params = {
            "source": ending.source,
            "plan": self._plan_name(ending.price_id),
            "until": ending.expires_at.isoformat(),
        }
        return Message(rules.expiry_key(ending), ending.user_id, NoticeKind.ACCESS_EXPIRED, params)

    def _renewal(
        self, ending: Ending, days: int, now: datetime, price: tuple[int, str] | None
    ) -> Message:
        params = {
            "plan": self._plan_name(ending.price_id),
            "until": ending.expires_at.isoformat(),
            "days": rules.days_left(ending.expires_at, now),
            "amount": price[0] if price else None,
            "currency": price[1] if price else None,
        }
        return Message(
            rules.renewal_key(ending, days), ending.user_id, NoticeKind.RENEWAL_NOTICE, params
        )

    def _reminder(self, ending: Ending, days: int, now: datetime) -> Message:
        params = {
            "source": ending.source,
            "plan": self._plan_name(ending.price_id),
            "until": ending.expires_at.isoformat(),
            "days": rules.days_left(ending.expires_at, now),
        }
        return Message(
            rules.reminder_key(ending, days), ending.user_id, NoticeKind.ACCESS_ENDING, params
        )
