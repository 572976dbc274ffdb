"""The audit log's one writer and its readers. Append-only: nothing here updates or deletes a
row, and tests/flows/test_audit_log.py holds that no other module writes the table.

An action is recorded in the same transaction as the change it describes, so an entry means
the change happened and a change cannot happen without its entry. The actor is a Telegram
id (an admin, in chat or the Mini App) or a tool: `cli` (python -m bot), `tradingview` (an
alert), `prices` (outcomes read from an exchange), `settings` (the role lists as a process
started with them, bot/accounts/role_changes.py).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry

LATEST = 20


class Action(enum.StrEnum):
    GRANT = "grant"
    REVOKE = "revoke"
    REFUND = "refund"
    BROADCAST = "broadcast"
    SIGNAL_PUBLISH = "signal_publish"
    SIGNAL_UPDATE = "signal_update"
    SIGNAL_DISCARD = "signal_discard"
    EXPORT = "export"
    # A user's own rights over their data (/mydata, /deletedata): bot/admin/data_rights.py.
    DATA_EXPORT = "data_export"
    DATA_ERASE = "data_erase"
    ROLE_CHANGE = "role_change"  # by `settings`: the role lists differ from the last seen


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: an admin's Telegram id, or a tool's name."""

    id: int | None
    kind: str = "admin"

    @classmethod
    def admin(cls, telegram_id: int) -> Actor:
        return cls(telegram_id)

    @classmethod
    def user(cls, telegram_id: int) -> Actor:
        """A user acting on their own data."""
        return cls(telegram_id, "user")

    @classmethod
    def tool(cls, name: str) -> Actor:
        return cls(None, name)


def _json(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """JSON-safe copies: datetimes and decimals as text."""
    if values is None:
        return None
    return {key: value if isinstance(value, int | str | bool | None) else str(value)
            for key, value in values.items()}  # fmt: skip


async def record(
    session: AsyncSession,
    actor: Actor,
    action: Action,
    now: datetime,
    *,
    subject_id: int | None = None,
    target: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction."""
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor.id,
            actor=actor.kind,
            action=action.value,
            subject_id=subject_id,
            target=target,
            before=_json(before),
            after=_json(after),
        )
    )
    await session.flush()


def _filtered(
    action: str | None, subject_id: int | None, actor_id: int | None
) -> Select[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    return query


async def latest(
    session: AsyncSession,
    *,
    limit: int = LATEST,
    action: str | None = None,
    subject_id: int | None = None,
    actor_id: int | None = None,
) -> list[AuditEntry]:
    """The newest entries first, filtered by action, the user concerned or the actor."""
    return list(await session.scalars(_filtered(action, subject_id, actor_id).limit(limit)))
