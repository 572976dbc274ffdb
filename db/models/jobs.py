"""The running house: Telegram updates applied, the readiness probe, per-key attempt budgets,
the scheduler's jobs and the notices they queued, premium chat members and periods, and the
actions held for an admin, and the audit log of admin actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, utcnow


class AttemptBucket(Base):
    """A token bucket of a rate limit (a client address's initData exchanges, a user's
    calls that reach Stripe or make an invoice), shared by every instance on PostgreSQL
    (bot/accounts/attempt_limits.py)."""

    __tablename__ = "attempt_buckets"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedUpdate(Base):
    """Telegram updates already handled, so a redelivered one is handled once.

    Written in the transaction of the update's own changes; rows older than Telegram's
    redelivery window are pruned (update ids restart at random after a week of silence).
    """

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class HealthProbe(Base):
    """One row /readyz writes, proving the database takes writes, not only reads."""

    __tablename__ = "health_probe"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SchedulerJob(Base):
    """One row per periodic job (bot/lifecycle/scheduler.py): when it is due next, and the
    lease of the process running it now, so one process runs it however many there are."""

    __tablename__ = "scheduler_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_outcome: Mapped[str | None] = mapped_column(String(255))
    runs: Mapped[int] = mapped_column(Integer, default=0)


class LifecycleNotice(Base):
    """Every lifecycle message queued, under a key naming its event ("expired:<entitlement>:
    <end>", "reminder:<entitlement>:<end>:<days>"): the unique key, not memory, is what
    makes a job that runs again, or in another process, send it only once."""

    __tablename__ = "lifecycle_notices"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PremiumMember(Base):
    """Who is in which premium chat (bot/premium), from Telegram's chat_member updates and
    the bot's own removals: the audit reads this, since the Bot API cannot list members."""

    __tablename__ = "premium_members"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    # member, admin (never removed), left, removed
    status: Mapped[str] = mapped_column(String(16))
    # How often the bot removed them: the number of the access period an invite is for.
    removals: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PremiumPeriod(Base):
    """A user's access periods as the premium chat invites count them (bot/premium): the
    number of the current one and whether its invite went out. A period ends when the
    invites job sees the user without access; the next access is a new period with its own
    invite, whether or not they ever joined a chat in the last one."""

    __tablename__ = "premium_periods"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[int] = mapped_column(Integer, default=0)
    invited: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class HeldAction(Base):
    """A mass action a job held instead of carrying out (bot/lifecycle/brake.py): it would
    have touched more than MASS_ACTION_SHARE of the people it watches at once, as a wall
    clock jump does. The admins are told once (the row's insert); it is carried out only
    after an admin or `python -m bot audit-chats` confirms it (confirmed_at)."""

    __tablename__ = "held_actions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime())
    affected: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """One admin action, append-only (bot/audit/log.py is its one writer and never updates
    or deletes): who (a Telegram id, or the tool: cli, tradingview, prices), when, what,
    whom it concerns, and the state before and after where there is one."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(16))  # admin, cli, tradingview, prices
    action: Mapped[str] = mapped_column(String(32), index=True)
    subject_id: Mapped[int | None] = mapped_column(BigInteger)  # the user it concerns
    target: Mapped[str | None] = mapped_column(String(64))  # signal:17, broadcast:5, ...
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
