"""Every write of an entitlement, from any source: admin grants and revokes, referral
bonuses, Telegram Stars (payments, renewal switches, refunds) and Stripe's state machine.

Each source keeps its own rules (bot/billing/entitlements.py, bot/stars/rules.py, ...) and
decides the new state; saving it happens here, together with what must go with every such
write: the change mark (commit_events.ENTITLEMENTS), which makes the access caches of every
process (bot/accounts/access_cache.py; others through the change feed) reload once the transaction
commits. A write that skipped it left the Mini App answering from the old access for up to
its cache's lifetime. tests/flows/test_entitlement_writes.py holds that nothing else marks
the topic or writes the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Insert, Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.transactions import commit_events
from db.engine import upsert_on
from db.models import Entitlement, EntitlementSource

_ENTITLEMENTS = cast(Table, Entitlement.__table__)
# Stripe's webhook path writes with Core statements built once (bot/billing/stripe_store.py
# says why). SET takes the columns named in the parameters (and updated_at's onupdate).
_INSERT = insert(_ENTITLEMENTS)
_UPDATE = update(_ENTITLEMENTS).where(_ENTITLEMENTS.c.id == bindparam("entitlement_id"))
# save_states' upsert on (user_id, source), built per dialect at its first use (db.engine
# says why: the SQLite delivery worker imports this module).
_STATE_COLUMNS = [
    "source_ref",
    "status",
    "price_id",
    "expires_at",
    "cancel_at_period_end",
    "state_version",
    "grace_until",
]
_UPSERTS: dict[str, Insert] = {}


@dataclass(frozen=True, slots=True)
class EntitlementState:
    """The columns of an entitlement that a source's state machine decides (an
    EntitlementLike): Stripe's (bot/billing/entitlements.py) by default."""

    source_ref: str | None
    status: str
    price_id: str | None
    expires_at: datetime | None
    cancel_at_period_end: bool
    state_version: int
    source: str = EntitlementSource.STRIPE
    grace_until: datetime | None = None


def _changed(session: AsyncSession) -> None:
    commit_events.mark(session, commit_events.ENTITLEMENTS)


async def save(session: AsyncSession, *rows: Entitlement) -> None:
    """Write these rows as the caller has set them (a new one is added), in the caller's
    transaction."""
    session.add_all(rows)
    _changed(session)
    await session.flush()


def _values(state: EntitlementState) -> dict[str, object]:
    return {
        "source_ref": state.source_ref,
        "status": state.status,
        "price_id": state.price_id,
        "expires_at": state.expires_at,
        "cancel_at_period_end": state.cancel_at_period_end,
        "state_version": state.state_version,
        "grace_until": state.grace_until,
    }


async def save_state(
    session: AsyncSession, user_id: int, stored_id: int | None, state: EntitlementState
) -> None:
    """Write a state machine's `state` over the stored row (its id), or as the user's new
    row from `state.source`."""
    values = _values(state)
    connection = await session.connection()
    if stored_id is None:
        await connection.execute(_INSERT, {**values, "user_id": user_id, "source": state.source})
    else:
        await connection.execute(_UPDATE, {**values, "entitlement_id": stored_id})
    _changed(session)


async def save_states(session: AsyncSession, states: Mapping[int, EntitlementState]) -> None:
    """Write each user's `state` as their row from `state.source` (over the row there is,
    or a new one), all in one executemany: a batch of Stripe events' entitlements."""
    if not states:
        return
    connection = await session.connection()
    dialect = connection.dialect.name
    if dialect not in _UPSERTS:
        _UPSERTS[dialect] = upsert_on(
            dialect,
            _ENTITLEMENTS,
            [_ENTITLEMENTS.c.user_id, _ENTITLEMENTS.c.source],
            update=[*_STATE_COLUMNS, "updated_at"],  # updated_at: its default, now
        )
    rows = [
        {**_values(state), "user_id": user_id, "source": state.source}
        for user_id, state in states.items()
    ]
    await connection.execute(_UPSERTS[dialect], rows)
    _changed(session)


async def update_where(
    session: AsyncSession, *where: ColumnElement[bool], **values: object
) -> int:
    """Set `values` on every row matching `where`, in one statement; how many changed."""
    result = await session.execute(update(Entitlement).where(*where).values(**values))
    changed = int(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        _changed(session)
    return changed
