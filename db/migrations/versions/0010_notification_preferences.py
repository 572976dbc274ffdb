"""how each user wants new signals and their updates (on, silent; updates also off)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN with a server default: no table copy on SQLite (see 0006).
    for column in ("notify_signals", "notify_updates"):
        op.add_column(
            "users", sa.Column(column, sa.String(length=8), nullable=False, server_default="on")
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("notify_updates")
        batch_op.drop_column("notify_signals")
