"""Who the users are and what gives them access: users, entitlements (from any source) and
referrals."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, utcnow


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
