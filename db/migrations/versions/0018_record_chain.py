"""record chain: the verifiable record's entries (commit now, reveal later) and the heads
posted each day

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("prev", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("revealed_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["signal_id"], ["signals.id"], name=op.f("fk_record_entries_signal_id_signals")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_record_entries")),
        sa.UniqueConstraint("hash", name=op.f("uq_record_entries_hash")),
    )
    op.create_index(
        op.f("ix_record_entries_signal_id"), "record_entries", ["signal_id"], unique=False
    )
    op.create_table(
        "record_heads",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("posted_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_record_heads")),
    )


def downgrade() -> None:
    op.drop_table("record_heads")
    op.drop_index(op.f("ix_record_entries_signal_id"), table_name="record_entries")
    op.drop_table("record_entries")
