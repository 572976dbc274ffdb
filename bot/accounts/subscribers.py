"""One subscriber as an admin sees them: taking access back (/revoke) and their timeline
(/user): entitlements with their sources, and what the bot has told them and how that
went (payments started and failed, reminders, expiries, signals not delivered)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import consents, entitlement_writes
from bot.accounts.access import entitlement_grants_access, with_access
from bot.audit import log as audit
from bot.audit.log import Actor
from bot.core.errors import DomainError
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from db.engine import unicode_lower
from db.models import AuditEntry, Entitlement, EntitlementSource, OutboxMessage, User

# Free access an admin can take back; a Stripe subscription ends in Stripe (its webhook
# then ends the access), where the refund is also made.
REVOCABLE = (EntitlementSource.GRANT, EntitlementSource.TRIAL)
TIMELINE_EVENTS = 15
MAX_REASON = 300
SEARCH_LIMIT = 20
MAX_QUERY = 64


class NothingToRevokeError(DomainError):
    """The user has no free access running (a Stripe subscription is ended in Stripe)."""


@dataclass(frozen=True)
class Revoked:
    sources: list[str]
    stripe_still_active: bool


async def revoke(
    session: AsyncSession, user_id: int, reason: str, admin_id: int, now: datetime
) -> Revoked:
    """End the user's running grant and trial now and tell them why."""
    rows = list(await session.scalars(select(Entitlement).where(Entitlement.user_id == user_id)))
    running = [row for row in rows if entitlement_grants_access(row, now)]
    revocable = [row for row in running if row.source in REVOCABLE]
    stripe_active = any(row.source == EntitlementSource.STRIPE for row in running)
    if not revocable:
        raise NothingToRevokeError(
            "revoke.stripe_only" if stripe_active else "revoke.nothing", user=user_id
        )
    before = {row.source: row.expires_at for row in revocable}
    for row in revocable:
        row.status = "canceled"
        row.expires_at = now
        row.source_ref = f"revoked by admin:{admin_id}"
    await entitlement_writes.save(session, *revocable)
    await outbox.enqueue(
        session, chat_id=user_id, kind=NoticeKind.ACCESS_REVOKED, params={"reason": reason}
    )
    await audit.record(
        session,
        Actor.admin(admin_id),
        audit.Action.REVOKE,
        now,
        subject_id=user_id,
        before=before,
        after={"reason": reason, "ended": now},
    )
    return Revoked(sorted(row.source for row in revocable), stripe_active)


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str
    status: str
    error: str | None


@dataclass(frozen=True)
class Timeline:
    user: User
    entitlements: list[Entitlement]
    events: list[TimelineEvent]
    has_access: bool
    actions: list[AuditEntry] = field(default_factory=list)  # admin actions about them
    consents: list[consents.Acceptance] = field(default_factory=list)  # the disclaimer's


async def timeline(session: AsyncSession, user_id: int, now: datetime) -> Timeline | None:
    """The user, their entitlements and the latest messages to them (None: unknown user)."""
    user = await session.get(User, user_id)
    if user is None:
        return None
    rows = list(
        await session.scalars(
            select(Entitlement).where(Entitlement.user_id == user_id).order_by(Entitlement.id)
        )
    )
    messages = await session.execute(
        select(
            OutboxMessage.created_at,
            OutboxMessage.kind,
            OutboxMessage.status,
            OutboxMessage.last_error,
        )
        .where(OutboxMessage.chat_id == user_id)
        .order_by(OutboxMessage.id.desc())
        .limit(TIMELINE_EVENTS)
    )
    events = [TimelineEvent(m.created_at, m.kind, m.status, m.last_error) for m in messages]
    granted = any(entitlement_grants_access(row, now) for row in rows)
    actions = await audit.latest(session, subject_id=user_id, limit=TIMELINE_EVENTS)
    accepted = await consents.of_user(session, user_id)
    return Timeline(user, rows, events, granted, actions, accepted)


@dataclass(frozen=True)
class Found:
    user: User
    has_access: bool


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(session: AsyncSession, query: str, now: datetime) -> list[Found]:
    """Users whose Telegram id is `query`, or whose @username or first name contains it
    (any case), the most recently seen first, at most SEARCH_LIMIT of them."""
    text = query.strip().removeprefix("@")
    if not text:
        return []
    # Both sides lowered the same way on both databases (SQLite's own ilike folds ASCII
    # letters only, so "анна" would miss "Анна" there).
    pattern = _like(text.lower())
    matches: list[ColumnElement[bool]] = [
        unicode_lower(User.username).like(pattern, escape="\\"),
        unicode_lower(User.first_name).like(pattern, escape="\\"),
    ]
    if text.isascii() and text.isdigit() and len(text) <= 19:
        matches.append(User.id == int(text))
    users = list(
        await session.scalars(
            select(User)
            .where(or_(*matches))
            .order_by(User.updated_at.desc(), User.id)
            .limit(SEARCH_LIMIT)
        )
    )
    granted = await with_access(session, [user.id for user in users], now)
    return [Found(user, user.id in granted) for user in users]
