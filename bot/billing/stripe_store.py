"""The Stripe webhook path's reads and writes, as Core statements built once.

Every event runs three to six of these in one transaction. Through the ORM (identity map,
unit of work, a fresh statement and cache key each time) they cost about 2.5 times as much
as here, and with 32 webhooks queued on SQLite's single writer that cost is the p99
(bench/webhooks/). The statements are module constants so SQLAlchemy computes each cache
key once; values travel as bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import Row, Table, bindparam, delete, false, insert, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.accounts import users
from bot.accounts.entitlement_writes import EntitlementState
from db.engine import insert_ignoring_conflicts
from db.models import Entitlement, EntitlementSource, ProcessedStripeEvent, StripeCustomer, User

# The declarative base types __table__ as a FromClause; these are Tables.
_EVENTS = cast(Table, ProcessedStripeEvent.__table__)
_USERS = cast(Table, User.__table__)
_CUSTOMERS = cast(Table, StripeCustomer.__table__)
_ENTITLEMENTS = cast(Table, Entitlement.__table__)


@dataclass(frozen=True, slots=True)
class StoredEntitlement:
    id: int
    user_id: int
    state: EntitlementState


_RECORD_EVENT = {
    name: statement.returning(_EVENTS.c.event_id)
    for name, statement in insert_ignoring_conflicts(_EVENTS, _EVENTS.c.event_id).items()
}
_USER_OF_CUSTOMER = select(_CUSTOMERS.c.user_id).where(
    _CUSTOMERS.c.customer_id == bindparam("customer_id")
)
_CUSTOMER_LINKS = select(_CUSTOMERS.c.user_id, _CUSTOMERS.c.customer_id).where(
    or_(
        _CUSTOMERS.c.user_id == bindparam("user_id"),
        _CUSTOMERS.c.customer_id == bindparam("customer_id"),
    )
)
# PostgreSQL: the user row created if need be and locked, in one statement. DO UPDATE ..
# WHERE false updates nothing, but "all rows will be locked when the ON CONFLICT DO
# UPDATE action is taken" (PostgreSQL's INSERT documentation).
_LOCK_OR_CREATE_USER = (
    postgresql.insert(_USERS)
    .values(id=bindparam("user_id"), first_name="")
    .on_conflict_do_update(
        index_elements=[_USERS.c.id], set_={"first_name": _USERS.c.first_name}, where=false()
    )
)
_UNLINK_CUSTOMER = delete(_CUSTOMERS).where(_CUSTOMERS.c.customer_id == bindparam("customer_id"))
_LINK_CUSTOMER = insert(_CUSTOMERS)
_RELINK_USER = update(_CUSTOMERS).where(_CUSTOMERS.c.user_id == bindparam("owner_id"))
_STRIPE_ROW = _ENTITLEMENTS.c.source == EntitlementSource.STRIPE
_ENTITLEMENT_OF_USER = (
    select(_ENTITLEMENTS)
    .where(_ENTITLEMENTS.c.user_id == bindparam("user_id"), _STRIPE_ROW)
    .with_for_update()
)
_ENTITLEMENT_OF_SUBSCRIPTION = (
    select(_ENTITLEMENTS)
    .where(_ENTITLEMENTS.c.source_ref == bindparam("subscription_id"), _STRIPE_ROW)
    .with_for_update()
)
_USER_OF_SUBSCRIPTION = select(_ENTITLEMENTS.c.user_id).where(
    _ENTITLEMENTS.c.source_ref == bindparam("subscription_id"), _STRIPE_ROW
)


async def record_event(
    conn: AsyncConnection, event_id: str, event_type: str, created: int
) -> bool:
    """Insert the event id; False when it was recorded before (a replay).

    One statement: a concurrent delivery of the same event waits for ours to commit, then
    inserts nothing.
    """
    result = await conn.execute(
        _RECORD_EVENT[conn.dialect.name],
        {"event_id": event_id, "type": event_type, "created": created},
    )
    return result.scalar() is not None


async def user_of_customer(conn: AsyncConnection, customer_id: str) -> int | None:
    result = await conn.execute(_USER_OF_CUSTOMER, {"customer_id": customer_id})
    user_id: int | None = result.scalar()
    return user_id


async def claim_user(conn: AsyncConnection, user_id: int, customer_id: str | None) -> None:
    """Make sure the user row exists and, when known, pays through `customer_id`.

    A user normally exists already (they pressed Subscribe in chat), but events may come
    before or without that (users.ensure_user_id). On PostgreSQL the user row is then
    locked, before anything of the user's is read, so concurrent events for one user
    apply one after the other; SQLite has a single writer already (BEGIN IMMEDIATE).
    """
    if conn.dialect.name == "sqlite":
        await users.ensure_user_id(conn, user_id)
        links = await _links(conn, user_id, customer_id) if customer_id is not None else []
    else:
        links = await _lock_user(conn, user_id, customer_id)
    if customer_id is None:
        return
    if any(row.user_id == user_id and row.customer_id == customer_id for row in links):
        return
    if any(row.customer_id == customer_id for row in links):
        # The customer paid for another Telegram id before; it now pays for this one.
        await conn.execute(_UNLINK_CUSTOMER, {"customer_id": customer_id})
    if any(row.user_id == user_id for row in links):
        moved = await conn.execute(_RELINK_USER, {"owner_id": user_id, "customer_id": customer_id})
        if moved.rowcount == 1:
            return
        # The row we read went away meanwhile (PostgreSQL: a concurrent event moved that
        # customer to another user and committed first): link afresh instead.
    await conn.execute(_LINK_CUSTOMER, {"user_id": user_id, "customer_id": customer_id})


class _Link(NamedTuple):
    user_id: int
    customer_id: str


async def _links(conn: AsyncConnection, user_id: int, customer_id: str) -> list[_Link]:
    """The customer rows of this user or of this customer."""
    result = await conn.execute(_CUSTOMER_LINKS, {"user_id": user_id, "customer_id": customer_id})
    return [_Link(row.user_id, row.customer_id) for row in result]


async def _lock_user(conn: AsyncConnection, user_id: int, customer_id: str | None) -> list[_Link]:
    """PostgreSQL: lock the user row (creating it if need be), then read its customer
    links. Two statements, not one joined SELECT .. FOR UPDATE: a statement that waited
    for the lock still sees the other tables as they were when it began, so it would miss
    a link the lock's previous holder just committed, and insert it again."""
    await conn.execute(_LOCK_OR_CREATE_USER, {"user_id": user_id})
    return await _links(conn, user_id, customer_id) if customer_id is not None else []


def _stored(row: Row[Any] | None) -> StoredEntitlement | None:
    if row is None:
        return None
    return StoredEntitlement(
        id=row.id,
        user_id=row.user_id,
        state=EntitlementState(
            source_ref=row.source_ref,
            status=row.status,
            price_id=row.price_id,
            expires_at=row.expires_at,
            cancel_at_period_end=bool(row.cancel_at_period_end),
            state_version=int(row.state_version or 0),
            grace_until=row.grace_until,
        ),
    )


async def entitlement_of_user(conn: AsyncConnection, user_id: int) -> StoredEntitlement | None:
    """The user's Stripe entitlement, locked for this transaction on PostgreSQL."""
    result = await conn.execute(_ENTITLEMENT_OF_USER, {"user_id": user_id})
    return _stored(result.first())


async def entitlement_of_subscription(
    conn: AsyncConnection, subscription_id: str
) -> StoredEntitlement | None:
    result = await conn.execute(_ENTITLEMENT_OF_SUBSCRIPTION, {"subscription_id": subscription_id})
    return _stored(result.first())


async def user_of_subscription(conn: AsyncConnection, subscription_id: str) -> int | None:
    result = await conn.execute(_USER_OF_SUBSCRIPTION, {"subscription_id": subscription_id})
    user_id: int | None = result.scalar()
    return user_id


# --- whole pages at once, without locks (reconciliation's first look) ----------------------


async def users_of_customers(conn: AsyncConnection, customer_ids: set[str]) -> dict[str, int]:
    """Customer id -> the Telegram user it pays for, for those we know."""
    if not customer_ids:
        return {}
    query = select(_CUSTOMERS.c.customer_id, _CUSTOMERS.c.user_id).where(
        _CUSTOMERS.c.customer_id.in_(customer_ids)
    )
    return {row.customer_id: row.user_id for row in await conn.execute(query)}


async def entitlements_of_users(
    conn: AsyncConnection, user_ids: set[int]
) -> dict[int, StoredEntitlement]:
    """User id -> their Stripe entitlement, for those who have one."""
    if not user_ids:
        return {}
    query = select(_ENTITLEMENTS).where(_ENTITLEMENTS.c.user_id.in_(user_ids), _STRIPE_ROW)
    found = (_stored(row) for row in await conn.execute(query))
    return {stored.user_id: stored for stored in found if stored is not None}
