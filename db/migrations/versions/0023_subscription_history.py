"""subscription history: the Stripe subscriptions' status changes, invoices paid and
failed, append-only, for the analytics; backfilled from the entitlements as far as they
tell (docs/analytics.md#history says what they cannot)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Statuses a subscription can hold without ever having been paid.
_UNPAID_FROM_THE_START = ("trialing", "incomplete", "incomplete_expired")


def upgrade() -> None:
    events = op.create_table(
        "subscription_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("price_id", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("period_end", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_events")),
    )
    op.create_index("ix_subscription_events_at", "subscription_events", ["at"], unique=False)
    op.create_index(
        op.f("ix_subscription_events_user_id"), "subscription_events", ["user_id"], unique=False
    )
    _backfill(events)


def _backfill(events: sa.Table) -> None:
    """Each Stripe entitlement as two steps at most: how it started (active, or the
    unpaid status it still holds) when the row was made, and where it stands now (past_due,
    canceled, ...) when the row last changed."""
    entitlements = sa.table(
        "entitlements",
        sa.column("user_id", sa.BigInteger()),
        sa.column("source", sa.String()),
        sa.column("source_ref", sa.String()),
        sa.column("status", sa.String()),
        sa.column("price_id", sa.String()),
        sa.column("created_at", db.base.UTCDateTime()),
        sa.column("updated_at", db.base.UTCDateTime()),
    )
    e = entitlements.c
    now = sa.literal(datetime.now(UTC), db.base.UTCDateTime())
    columns = ["user_id", "ref", "kind", "status", "price_id", "at", "recorded_at"]
    stripe = sa.and_(e.source == "stripe", e.source_ref.is_not(None))
    first = sa.case((e.status.in_(_UNPAID_FROM_THE_START), e.status), else_=sa.literal("active"))
    started = sa.select(
        e.user_id, e.source_ref, sa.literal("state"), first, e.price_id, e.created_at, now
    ).where(stripe)
    later = sa.select(
        e.user_id, e.source_ref, sa.literal("state"), e.status, e.price_id, e.updated_at, now
    ).where(stripe, e.status.not_in(("active", *_UNPAID_FROM_THE_START)))
    op.execute(sa.insert(events).from_select(columns, started))
    op.execute(sa.insert(events).from_select(columns, later))


def downgrade() -> None:
    op.drop_index(op.f("ix_subscription_events_user_id"), table_name="subscription_events")
    op.drop_index("ix_subscription_events_at", table_name="subscription_events")
    op.drop_table("subscription_events")
