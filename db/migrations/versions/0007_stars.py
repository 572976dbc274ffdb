"""Telegram Stars payments and the reconciliation cursor

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "star_payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("charge_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("subscription_ref", sa.String(length=255), nullable=False),
        sa.Column("paid_until", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recurring", sa.Boolean(), nullable=False),
        sa.Column("paid_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refunded_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refund_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("charge_id"),
    )
    op.create_index("ix_star_payments_user_id", "star_payments", ["user_id"], unique=False)
    op.create_table(
        "sync_cursors",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", db.base.UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_cursors")
    op.drop_index("ix_star_payments_user_id", table_name="star_payments")
    op.drop_table("star_payments")
