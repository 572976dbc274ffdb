"""entitlements remember when a past_due subscription's grace runs out

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

A subscription already past_due when this runs has no grace end yet: it keeps access as
before until its next subscription event sets one (or Stripe gives up on it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, not batch mode: on SQLite batch mode copies the table, and the
    # copy made the delivery worker's access checks a quarter slower (bench.delivery (a)).
    op.add_column(
        "entitlements", sa.Column("grace_until", db.base.UTCDateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_entitlements_grace_until", "entitlements", ["grace_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_index("ix_entitlements_grace_until")
        batch_op.drop_column("grace_until")
