"""who is in which premium chat

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "premium_members",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), primary_key=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("removals", sa.Integer(), nullable=False),
        sa.Column("updated_at", db.base.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_premium_members_user_id", "premium_members", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_premium_members_user_id", table_name="premium_members")
    op.drop_table("premium_members")
