"""ORM models: users, Stripe customers, entitlements, processed Stripe events and Telegram
updates, the outbox, signals and broadcasts, the readiness probe, the scheduler's jobs and
the lifecycle notices it has queued."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, DecimalType, UTCDateTime, utcnow


class User(Base):
    """A Telegram user who has talked to the bot (or opened the Mini App)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(256), default="")
    language_code: Mapped[str | None] = mapped_column(String(16))  # as Telegram reports it
    language: Mapped[str | None] = mapped_column(String(8))  # chosen with /language
    # Set when Telegram answers 403 (bot blocked); a later /start clears it.
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How new signals arrive (on, silent) and their updates (on, silent, off): /settings.
    notify_signals: Mapped[str] = mapped_column(String(8), default="on", server_default="on")
    notify_updates: Mapped[str] = mapped_column(String(8), default="on", server_default="on")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class StripeCustomer(Base):
    """The Stripe customer a user pays through; reused for every later Checkout."""

    __tablename__ = "stripe_customers"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EntitlementSource(enum.StrEnum):
    """Where a right to premium content comes from."""

    STRIPE = "stripe"
    STARS = "stars"  # a Telegram Stars subscription (bot/stars)
    GRANT = "grant"
    TRIAL = "trial"
    REFERRAL = "referral"  # bonus days for bringing a paying friend (bot/accounts/referrals.py)


class Entitlement(Base):
    """One row per user and source; `bot.accounts.access.has_access` reads these."""

    __tablename__ = "entitlements"
    __table_args__ = (
        UniqueConstraint("user_id", "source", name="uq_entitlements_user_source"),
        Index("ix_entitlements_source_ref", "source_ref"),
        # The lifecycle jobs read only the rows near their end (bot/lifecycle/sweeps.py).
        Index("ix_entitlements_expires_at", "expires_at"),
        Index("ix_entitlements_grace_until", "grace_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))
    # Stripe subscription id for source=stripe; the first payment's charge id for
    # source=stars (what editUserStarSubscription names); who granted it for source=grant.
    source_ref: Mapped[str | None] = mapped_column(String(255))
    # Stripe subscription status verbatim (active, trialing, past_due, canceled, ...).
    status: Mapped[str] = mapped_column(String(32))
    price_id: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    # While past_due: when the grace (GRACE_DAYS from the first failed payment) runs out.
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Stripe `event.created` of the newest event applied: an older one never overwrites it.
    state_version: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ProcessedStripeEvent(Base):
    """Every Stripe event applied, keyed by event id, so a replay has no second effect."""

    __tablename__ = "processed_stripe_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(128))
    created: Mapped[int] = mapped_column(BigInteger)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"  # the user blocked the bot; not sent
    SKIPPED = "skipped"  # no access any more at send time, or the original was not delivered


class Priority(enum.IntEnum):
    """Lower goes first: a payment notice must not wait behind a 20,000-chat broadcast."""

    PERSONAL = 0
    BULK = 1


class OutboxMessage(Base):
    """One message to one chat, written in the transaction that decided to send it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "id"),
        Index("ix_outbox_broadcast", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    # What to say, rendered into words when the row is sent (bot/texts/notices.py).
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=Priority.PERSONAL)
    broadcast_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("broadcasts.id", ondelete="SET NULL")
    )
    # Follow-ups thread under the recipient's own copy: that row's telegram_message_id.
    reply_to_outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A worker owns a claimed row until this moment; after it, the row is claimable again.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignalStatus(enum.StrEnum):
    """Life of a signal. tpN hits are stored as "tp1", "tp2", ... in `status`."""

    DRAFT = "draft"  # previewed, not sent
    OPEN = "open"
    STOPPED = "stopped"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Signal(Base):
    """A trading signal as the provider posted it, and how it ended."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_closed_at", "closed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    entry_low: Mapped[Decimal] = mapped_column(DecimalType())
    entry_high: Mapped[Decimal] = mapped_column(DecimalType())
    stop_loss: Mapped[Decimal] = mapped_column(DecimalType())
    # Decimal strings, nearest first; JSON keeps the list portable across both databases.
    take_profits: Mapped[list[str]] = mapped_column(JSON)
    leverage: Mapped[Decimal | None] = mapped_column(DecimalType())
    timeframe: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=SignalStatus.DRAFT)
    tp_hit: Mapped[int] = mapped_column(Integer, default=0)
    exit_price: Mapped[Decimal | None] = mapped_column(DecimalType())
    result_pct: Mapped[Decimal | None] = mapped_column(DecimalType())
    result_r: Mapped[Decimal | None] = mapped_column(DecimalType())
    author_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignalUpdate(Base):
    """A follow-up on a signal: tpN hit, stopped, closed or cancelled."""

    __tablename__ = "signal_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signal_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("signals.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    price: Mapped[Decimal | None] = mapped_column(DecimalType())
    note: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Broadcast(Base):
    """One fan-out of a message to many chats, with the admin message showing its progress."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # signal, signal_update, broadcast
    signal_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("signals.id"))
    title: Mapped[str] = mapped_column(String(128))
    admin_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AttemptBucket(Base):
    """A token bucket of a rate limit (a client address's initData exchanges, a user's
    calls that reach Stripe or make an invoice), shared by every instance on PostgreSQL
    (bot/accounts/attempt_limits.py)."""

    __tablename__ = "attempt_buckets"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class LearntRate(Base):
    """The send rate Telegram was found to allow (DELIVERY_RATE=auto): the rate that drew
    the last 429, so a sender that takes the turn, or starts again, begins just under it
    instead of finding it again with 429s (bot/delivery/learnt_rate.py)."""

    __tablename__ = "learnt_rates"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ceiling: Mapped[float] = mapped_column(Float)
    learnt_at: Mapped[datetime] = mapped_column(UTCDateTime())


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


class StarPayment(Base):
    """Every Telegram Stars payment, by its charge id: the unique key is what makes a
    replayed successful_payment (or one found again by reconciliation) change nothing."""

    __tablename__ = "star_payments"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    charge_id: Mapped[str] = mapped_column(String(255), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int] = mapped_column(Integer)  # in Stars (currency XTR)
    # The subscription's first payment's charge id: the same for each of its renewals.
    subscription_ref: Mapped[str] = mapped_column(String(255))
    paid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refund_reason: Mapped[str | None] = mapped_column(String(300))
    # A second subscription paid while `duplicate_of` (the running one's first charge id)
    # was running: refunded and stopped at once; still owed while refunded_at is NULL.
    duplicate_of: Mapped[str | None] = mapped_column(String(255))


class StarCheckout(Base):
    """A Stars pre-checkout the bot approved whose payment has not arrived yet, one per user:
    while it is fresh, another pre-checkout of the same user is refused, so two invoices
    cannot both be paid (bot/stars/rules.py, HOLD). The payment deletes it."""

    __tablename__ = "star_checkouts"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SyncCursor(Base):
    """How far a reconciliation has read a remote list (getStarTransactions' offset), so the
    next run starts there and never from the beginning again."""

    __tablename__ = "sync_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


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


class Referral(Base):
    """Who brought whom (`/start ref_<id>`): one referrer per referred user, and when the
    referrer got the bonus for the referred user's first payment (once)."""

    __tablename__ = "referrals"

    referred_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    referrer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaymentLink(Base):
    """A user's Checkout Session or Stars invoice link for one offer, handed out again while
    it is valid; while `url` is empty, a request of theirs is making it (bot/billing/links.py)."""

    __tablename__ = "payment_links"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # What the link sells: a Stripe price (with the customer and the win-back code it was
    # made with), or `stars:<price>`.
    offer: Mapped[str] = mapped_column(String(600), primary_key=True)
    url: Mapped[str | None] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(String(255))  # the Checkout Session's id
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim: Mapped[str] = mapped_column(String(32))  # who is making it (or made it)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
