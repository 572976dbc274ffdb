"""payment links: a user's Checkout Session or Stars invoice link, reused while it is valid

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_links",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("offer", sa.String(length=600), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("expires_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payment_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "offer", name=op.f("pk_payment_links")),
    )


def downgrade() -> None:
    op.drop_table("payment_links")
