"""outcomes from market prices: each update's source, price events, symbols' checkpoints

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN with a server default: no table copy on SQLite (see 0006). Every
    # update so far was an admin's.
    op.add_column(
        "signal_updates",
        sa.Column("source", sa.String(length=8), nullable=False, server_default="admin"),
    )
    op.create_table(
        "price_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("price", db.base.DecimalType(precision=28, scale=10), nullable=False),
        sa.Column("candle_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("found_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_price_events_signal_id_signals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_events")),
        sa.UniqueConstraint("signal_id", "kind", name=op.f("uq_price_events_signal_id")),
    )
    op.create_index(op.f("ix_price_events_signal_id"), "price_events", ["signal_id"], unique=False)
    op.create_table(
        "price_symbols",
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("checked_until", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unlisted_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("symbol", name=op.f("pk_price_symbols")),
    )


def downgrade() -> None:
    op.drop_table("price_symbols")
    op.drop_index(op.f("ix_price_events_signal_id"), table_name="price_events")
    op.drop_table("price_events")
    with op.batch_alter_table("signal_updates", schema=None) as batch_op:
        batch_op.drop_column("source")
