"""The Stripe webhook path's reads and writes, as Core statements built once.

A batch of events runs a handful of these in one transaction, each for the whole batch
(record the events, look up customers, lock the users, read their links and entitlements,
write links, entitlements and notices); reconciliation uses the single-user ones. Through
the ORM (identity map, unit of work, a fresh statement and cache key each time) they cost
about 2.5 times as much as here, and with 32 webhooks queued on SQLite's single writer that
cost is the p99 (bench/webhooks/). The statements are module constants so SQLAlchemy
computes each cache key once; values travel as bound parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Executable,
    Row,
    String,
    Table,
    any_,
    bindparam,
    delete,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.accounts import users
from bot.accounts.entitlement_writes import EntitlementState
from bot.billing.event_sets import Found, LinkWrite, Lookups
from bot.billing.stripe_shapes import StripeEvent
from db.engine import insert_ignoring_conflicts, upsert
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


# --- a whole batch of events at once (bot/billing/event_sets.py decides it) -----------------
#
# One statement per table for the batch. On PostgreSQL a list travels as one array
# parameter (= ANY, unnest), so each statement's text, and the prepared statement asyncpg
# keeps for it, is the same whatever the batch's size; an IN list or a multi-row VALUES
# would be a new statement to prepare for each size.


def _member(column: Column[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """`column` is one of the list parameter `name`."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def _for_each_dialect(build: Callable[[str], Executable]) -> dict[str, Executable]:
    return {dialect: build(dialect) for dialect in ("sqlite", "postgresql")}


def _array(name: str, kind: Any) -> Any:
    return func.unnest(bindparam(name, type_=postgresql.ARRAY(kind)))


_RECORD_EVENTS = {
    # SQLite: an executemany, which SQLAlchemy sends as one INSERT of many rows.
    "sqlite": insert_ignoring_conflicts(_EVENTS, _EVENTS.c.event_id)["sqlite"].returning(
        _EVENTS.c.event_id
    ),
    "postgresql": postgresql.insert(_EVENTS)
    .from_select(
        ["event_id", "type", "created", "processed_at"],
        select(
            _array("event_ids", String),
            _array("types", String),
            _array("createds", BigInteger),
            bindparam("processed_at", type_=_EVENTS.c.processed_at.type),
        ),
    )
    .on_conflict_do_nothing(index_elements=[_EVENTS.c.event_id])
    .returning(_EVENTS.c.event_id),
}
_LOOK_UP = _for_each_dialect(
    lambda dialect: union_all(
        select(literal_column("'customer'"), _CUSTOMERS.c.customer_id, _CUSTOMERS.c.user_id).where(
            _member(_CUSTOMERS.c.customer_id, "customers", dialect)
        ),
        select(
            literal_column("'subscription'"), _ENTITLEMENTS.c.source_ref, _ENTITLEMENTS.c.user_id
        ).where(_STRIPE_ROW, _member(_ENTITLEMENTS.c.source_ref, "subscriptions", dialect)),
    )
)
_LINKS_OF = _for_each_dialect(
    lambda dialect: select(_CUSTOMERS.c.user_id, _CUSTOMERS.c.customer_id).where(
        or_(
            _member(_CUSTOMERS.c.user_id, "users", dialect),
            _member(_CUSTOMERS.c.customer_id, "customers", dialect),
        )
    )
)
_ENTITLEMENTS_FOR_UPDATE = _for_each_dialect(
    lambda dialect: (
        select(_ENTITLEMENTS)
        .where(
            _STRIPE_ROW,
            or_(
                _member(_ENTITLEMENTS.c.user_id, "users", dialect),
                _member(_ENTITLEMENTS.c.source_ref, "subscriptions", dialect),
            ),
        )
        .order_by(_ENTITLEMENTS.c.id)  # locked in this order: the same in every batch
        .with_for_update()
    )
)
_SET_LINK = upsert(_CUSTOMERS, _CUSTOMERS.c.user_id, update=["customer_id"])


async def record_events(conn: AsyncConnection, events: Sequence[StripeEvent]) -> set[str]:
    """Insert the events' ids (distinct) in one statement; the ids recorded now, the
    others being replays. A concurrent delivery of one of them waits for ours to commit."""
    if not events:
        return set()
    if conn.dialect.name == "postgresql":
        params: Any = {
            "event_ids": [event.id for event in events],
            "types": [event.type for event in events],
            "createds": [event.created for event in events],
            "processed_at": datetime.now(UTC),
        }
    else:
        params = [{"event_id": e.id, "type": e.type, "created": e.created} for e in events]
    result = await conn.execute(_RECORD_EVENTS[conn.dialect.name], params)
    return set(result.scalars())


async def look_up(conn: AsyncConnection, lookups: Lookups) -> Found:
    """Who each customer pays for, and whose entitlement each subscription is: read before
    any lock, as one event alone reads them."""
    customers: dict[str, int] = {}
    subscriptions: dict[str, int] = {}
    if lookups.customers or lookups.subscriptions:
        result = await conn.execute(
            _LOOK_UP[conn.dialect.name],
            {"customers": list(lookups.customers), "subscriptions": list(lookups.subscriptions)},
        )
        for kind, key, user_id in result:
            (customers if kind == "customer" else subscriptions).setdefault(key, user_id)
    return Found(lookups, customers, subscriptions)


async def lock_users(conn: AsyncConnection, user_ids: Sequence[int]) -> None:
    """claim_user's first step for many users: each row created if need be and, on
    PostgreSQL, locked, in the order given (one executemany, one round trip)."""
    if not user_ids:
        return
    if conn.dialect.name == "sqlite":
        await users.ensure_user_ids(conn, user_ids)
    else:
        await conn.execute(_LOCK_OR_CREATE_USER, [{"user_id": user_id} for user_id in user_ids])


async def links_of(
    conn: AsyncConnection, user_ids: Sequence[int], customer_ids: Iterable[str]
) -> dict[str, int]:
    """Customer -> user, for the rows of these users or these customers (read after the
    users are locked, so a link their lock's previous holder made is seen)."""
    customers = list(customer_ids)
    if not user_ids and not customers:
        return {}
    result = await conn.execute(
        _LINKS_OF[conn.dialect.name], {"users": list(user_ids), "customers": customers}
    )
    return {row.customer_id: row.user_id for row in result}


async def entitlements_for_update(
    conn: AsyncConnection, user_ids: Sequence[int], subscription_ids: Iterable[str]
) -> list[StoredEntitlement]:
    """The Stripe entitlements of these users or of these subscriptions, locked."""
    subscriptions = list(subscription_ids)
    if not user_ids and not subscriptions:
        return []
    result = await conn.execute(
        _ENTITLEMENTS_FOR_UPDATE[conn.dialect.name],
        {"users": list(user_ids), "subscriptions": subscriptions},
    )
    return [stored for row in result if (stored := _stored(row)) is not None]


async def write_links(conn: AsyncConnection, writes: Sequence[LinkWrite]) -> None:
    """The batch's customer links in the order decided; a run of writes of one kind in one
    executemany (a link moved from one user to another: its old row goes first)."""
    start = 0
    while start < len(writes):
        dropping = writes[start].user_id is None
        end = start
        while end < len(writes) and (writes[end].user_id is None) == dropping:
            end += 1
        run = [{"user_id": w.user_id, "customer_id": w.customer_id} for w in writes[start:end]]
        if dropping:
            await conn.execute(_UNLINK_CUSTOMER, [{"customer_id": w["customer_id"]} for w in run])
        else:
            await conn.execute(_SET_LINK[conn.dialect.name], run)
        start = end
