"""The risk disclaimer's acceptances: the one writer of the consents table, and the rule
every payment start asks (docs/consents.md).

A version names the text accepted (bot/texts/disclaimer.py derives it); the domain only
compares versions and records them, it never sees the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Insert, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts.users import ensure_user_id
from bot.core.errors import ConsentRequiredError, DisclaimerChangedError
from db.models import Consent

DISCLAIMER = "disclaimer"


@dataclass(frozen=True, slots=True)
class Acceptance:
    kind: str
    version: str
    accepted_at: datetime


async def accepted(session: AsyncSession, user_id: int, version: str) -> bool:
    """Whether the user accepted this version of the disclaimer."""
    found = await session.scalar(
        select(Consent.id).where(
            Consent.user_id == user_id, Consent.kind == DISCLAIMER, Consent.version == version
        )
    )
    return found is not None


async def require(session: AsyncSession, user_id: int, version: str) -> None:
    """Raise ConsentRequiredError unless the user accepted the current disclaimer: asked
    before every new payment start on any rail (renewals never pass here)."""
    if not await accepted(session, user_id, version):
        raise ConsentRequiredError(version)


async def accept(
    session: AsyncSession, user_id: int, version: str, current: str, now: datetime
) -> bool:
    """Record the user's acceptance of `version`, which must be the `current` one; True
    when it is new (accepting twice records once)."""
    if version != current:
        raise DisclaimerChangedError
    if await accepted(session, user_id, version):
        return False
    connection = await session.connection()
    await ensure_user_id(connection, user_id)
    # Two taps at once (two processes): one row, the other insert does nothing.
    row = {"user_id": user_id, "kind": DISCLAIMER, "version": version, "accepted_at": now}
    result = await connection.execute(_insert_once(connection.dialect.name), row)
    return bool(result.rowcount)


def _insert_once(dialect: str) -> Insert:
    """INSERT .. ON CONFLICT (user, kind, version) DO NOTHING (the dialects loaded here, as
    db.engine does, so a process that never accepts never loads PostgreSQL's)."""
    from sqlalchemy.dialects import postgresql, sqlite  # noqa: PLC0415

    table = cast(Table, Consent.__table__)
    key = [table.c.user_id, table.c.kind, table.c.version]
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=key)


async def of_user(session: AsyncSession, user_id: int) -> list[Acceptance]:
    """Every acceptance of the user's, oldest first: /user, the data export."""
    rows = await session.scalars(
        select(Consent).where(Consent.user_id == user_id).order_by(Consent.accepted_at, Consent.id)
    )
    return [Acceptance(row.kind, row.version, row.accepted_at) for row in rows]
