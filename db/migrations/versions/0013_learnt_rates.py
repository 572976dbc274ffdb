"""learnt rates: the send rate Telegram allowed, kept for the next sender (DELIVERY_RATE=auto)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learnt_rates",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("ceiling", sa.Float(), nullable=False),
        sa.Column("learnt_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_learnt_rates")),
    )


def downgrade() -> None:
    op.drop_table("learnt_rates")
