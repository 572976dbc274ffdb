"""Both payment rails' records: Stripe customers and the events applied, the Stripe
subscriptions' history, Telegram Stars payments and pre-checkouts, the reconciliation
cursor, and each user's payment links."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, utcnow


class StripeCustomer(Base):
    """The Stripe customer a user pays through; reused for every later Checkout."""

    __tablename__ = "stripe_customers"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProcessedStripeEvent(Base):
    """Every Stripe event applied, keyed by event id, so a replay has no second effect."""

    __tablename__ = "processed_stripe_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(128))
    created: Mapped[int] = mapped_column(BigInteger)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HistoryKind(enum.StrEnum):
    """What a subscription_events row records."""

    STATE = "state"  # the status (and price) an applied event left
    PAID = "paid"  # an invoice paid, with its amount
    FAILED = "failed"  # an attempt to charge an invoice failed


class SubscriptionEvent(Base):
    """Append-only history of Stripe subscriptions, written with the change it records in
    the same transaction (bot/billing/history.py): what the analytics need and the
    entitlement row forgets (bot/admin/analytics.py). No foreign key on the user: a
    payment's record outlives the person's data. Stars payments are their own history
    (star_payments)."""

    __tablename__ = "subscription_events"
    __table_args__ = (
        Index("ix_subscription_events_at", "at"),
        Index("uq_subscription_events_invoice_id", "invoice_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    ref: Mapped[str] = mapped_column(String(255))  # the Stripe subscription
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(32))  # kind state
    price_id: Mapped[str | None] = mapped_column(String(255))
    amount: Mapped[int | None] = mapped_column(BigInteger)  # minor units (paid, failed)
    currency: Mapped[str | None] = mapped_column(String(8))
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())  # paid: until when
    # Paid: the Stripe invoice, recorded once (invoice.paid and invoice.payment_succeeded
    # both report one payment). None for the other kinds: a failed invoice fails each try.
    invoice_id: Mapped[str | None] = mapped_column(String(255))
    # When it happened: the Stripe event's `created` (the migration's backfill: the
    # entitlement's created_at and updated_at).
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


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
