"""the scheduler's jobs, the lifecycle notices it has queued, entitlements by end date

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_entitlements_expires_at", "entitlements", ["expires_at"], unique=False)
    op.create_table(
        "scheduler_jobs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_run_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(length=255), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_jobs")),
    )
    op.create_table(
        "lifecycle_notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_lifecycle_notices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lifecycle_notices")),
        sa.UniqueConstraint("event", name=op.f("uq_lifecycle_notices_event")),
    )
    op.create_index(
        op.f("ix_lifecycle_notices_user_id"), "lifecycle_notices", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_lifecycle_notices_user_id"), table_name="lifecycle_notices")
    op.drop_table("lifecycle_notices")
    op.drop_table("scheduler_jobs")
    op.drop_index("ix_entitlements_expires_at", table_name="entitlements")
