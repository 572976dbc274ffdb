"""the paid lane: a broadcast's choice, the sends made on it, the days it closed; bulk rows
that may take it are claimed before those that may not

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no table copy on SQLite (see 0006).
    op.add_column(
        "broadcasts",
        sa.Column("paid", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("outbox", sa.Column("paid", sa.Boolean(), nullable=True))
    # Priority 1 was bulk; bulk is 2 now, and 1 a bulk row that may take the paid lane
    # (none before this revision: rows queued before it go at the free rate).
    op.execute("UPDATE outbox SET priority = 2 WHERE priority = 1")
    op.create_table(
        "paid_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("closed", sa.String(length=16), nullable=True),
        sa.Column("closed_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_paid_days")),
    )


def downgrade() -> None:
    op.drop_table("paid_days")
    op.execute("UPDATE outbox SET priority = 1 WHERE priority = 2")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("paid")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("paid")
