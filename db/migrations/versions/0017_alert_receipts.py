"""alert receipts: TradingView alerts taken (and problems told of), by digest, for dedupe

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_receipts",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_alert_receipts")),
    )
    op.create_index(
        op.f("ix_alert_receipts_received_at"), "alert_receipts", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_receipts_received_at"), table_name="alert_receipts")
    op.drop_table("alert_receipts")
