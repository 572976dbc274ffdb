"""The one place that decides whether a user may see premium content."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.transactions.coalescing import Coalescer
from bot.transactions.unit_of_work import UnitOfWork
from db.models import Entitlement, EntitlementSource, User

# Stripe statuses that keep access. past_due keeps it while Stripe retries the card
# (Smart Retries), for GRACE_DAYS (grace_until); Stripe moves the subscription to unpaid
# or canceled when it gives up.
ACCESS_STATUSES = frozenset({"active", "trialing", "past_due"})
# A renewal's webhook (or Telegram's successful_payment for a Stars renewal) may arrive a
# little after the period has ended; do not lock a paying subscriber out in between.
STRIPE_GRACE = timedelta(hours=2)
# The sources that renew by themselves, and so get that grace.
SUBSCRIPTION_SOURCES = frozenset({EntitlementSource.STRIPE, EntitlementSource.STARS})
# Ids per IN (...): each is a bound argument, and asyncpg takes at most 32,767 a query
# (SQLite's limit depends on its build).
IN_CHUNK = 10_000
# What entitlement_grants_access reads, for the queries that decide a whole batch at once.
_ACCESS_COLUMNS = (
    Entitlement.user_id,
    Entitlement.source,
    Entitlement.status,
    Entitlement.expires_at,
    Entitlement.grace_until,
)


class EntitlementLike(Protocol):
    """An Entitlement row, or a plain result row with the same columns."""

    @property
    def source(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def expires_at(self) -> datetime | None: ...
    @property
    def grace_until(self) -> datetime | None: ...


def entitlement_grants_access(entitlement: EntitlementLike, now: datetime) -> bool:
    """Whether this one entitlement gives access at `now`."""
    if entitlement.status not in ACCESS_STATUSES:
        return False
    # past_due keeps access while Stripe retries the card, for the grace and no longer.
    grace_until = entitlement.grace_until
    if entitlement.status == "past_due" and grace_until is not None and now >= grace_until:
        return False
    if entitlement.expires_at is None:
        # Only admin grants may be open-ended; a subscription always carries its period end.
        return entitlement.source == EntitlementSource.GRANT
    grace = STRIPE_GRACE if entitlement.source in SUBSCRIPTION_SOURCES else timedelta(0)
    return entitlement.expires_at + grace > now


async def has_access(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """True when any of the user's entitlements grants access at `now`."""
    rows = await session.scalars(select(Entitlement).where(Entitlement.user_id == user_id))
    return any(entitlement_grants_access(row, now) for row in rows)


async def subscribed(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """Whether a paid subscription (Stripe or Stars) gives the user access at `now`: then
    there is nothing to pay for. A grant or a trial does not count."""
    rows = await session.scalars(
        select(Entitlement).where(
            Entitlement.user_id == user_id, Entitlement.source.in_(SUBSCRIPTION_SOURCES)
        )
    )
    return any(entitlement_grants_access(row, now) for row in rows)


async def entitlement_of(
    session: AsyncSession, user_id: int, source: EntitlementSource, *, lock: bool = False
) -> Entitlement | None:
    """The user's one entitlement from `source` (locked for the transaction on PostgreSQL
    with `lock`)."""
    query = select(Entitlement).where(Entitlement.user_id == user_id, Entitlement.source == source)
    return await session.scalar(query.with_for_update() if lock else query)


PaidEntitlements = tuple[Entitlement | None, Entitlement | None]
_PAID_SOURCES = (EntitlementSource.STRIPE, EntitlementSource.STARS)


async def paid_entitlements_of(
    session: AsyncSession, user_ids: Iterable[int]
) -> dict[int, PaidEntitlements]:
    """Each user's Stripe and Stars entitlements (/status shows both), for all of
    `user_ids` in one query (at most IN_CHUNK of them)."""
    ids = list(set(user_ids))
    rows = await session.scalars(
        select(Entitlement).where(
            Entitlement.user_id.in_(ids), Entitlement.source.in_(_PAID_SOURCES)
        )
    )
    by_user: dict[int, dict[str, Entitlement]] = {user_id: {} for user_id in ids}
    for row in rows:
        by_user[row.user_id][row.source] = row
    return {
        user_id: (found.get(EntitlementSource.STRIPE), found.get(EntitlementSource.STARS))
        for user_id, found in by_user.items()
    }


class PaidEntitlementsReader:
    """`await reader(user_id)`: the user's paid entitlements, read together with those of every
    other user asking in the same moment (/status under load: one query for a batch)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._unit = UnitOfWork(session_factory)
        self._read: Coalescer[int, None, PaidEntitlements] = Coalescer(self._read_all)

    async def __call__(self, user_id: int) -> PaidEntitlements:
        return await self._read(user_id, None)

    async def _read_all(self, user_ids: Mapping[int, None]) -> dict[int, PaidEntitlements]:
        async with self._unit.reading() as session:
            return await paid_entitlements_of(session, user_ids)


async def stripe_entitlement(session: AsyncSession, user_id: int) -> Entitlement | None:
    return await entitlement_of(session, user_id, EntitlementSource.STRIPE)


async def stars_entitlement(session: AsyncSession, user_id: int) -> Entitlement | None:
    return await entitlement_of(session, user_id, EntitlementSource.STARS)


async def recipients(session: AsyncSession, now: datetime) -> list[int]:
    """Users who have access at `now` and have not blocked the bot, by id."""
    rows = await session.execute(
        select(*_ACCESS_COLUMNS)
        .join(User, User.id == Entitlement.user_id)
        .where(Entitlement.status.in_(ACCESS_STATUSES), User.blocked_at.is_(None))
    )
    return sorted({row.user_id for row in rows if entitlement_grants_access(row, now)})


async def with_access(session: AsyncSession, user_ids: Iterable[int], now: datetime) -> set[int]:
    """The subset of `user_ids` that has access at `now` (one query for a batch; a premium
    chat's whole membership goes in IN_CHUNK ids at a time)."""
    ids = list(set(user_ids))
    granted: set[int] = set()
    for start in range(0, len(ids), IN_CHUNK):
        rows = await session.execute(
            select(*_ACCESS_COLUMNS).where(
                Entitlement.user_id.in_(ids[start : start + IN_CHUNK]),
                Entitlement.status.in_(ACCESS_STATUSES),
            )
        )
        granted.update(row.user_id for row in rows if entitlement_grants_access(row, now))
    return granted


async def entitlements_of(session: AsyncSession, user_id: int) -> list[Entitlement]:
    """Every entitlement row of the user, on any rail, ended ones too."""
    return list(await session.scalars(select(Entitlement).where(Entitlement.user_id == user_id)))
