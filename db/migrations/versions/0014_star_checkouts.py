"""star checkouts: the Stars pre-checkout approved and not yet paid, one per user; a
second Stars subscription paid beside a running one (star_payments.duplicate_of)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "star_checkouts",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("approved_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    with op.batch_alter_table("star_payments") as batch:
        batch.add_column(sa.Column("duplicate_of", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("star_payments") as batch:
        batch.drop_column("duplicate_of")
    op.drop_table("star_checkouts")
