"""outbox rows carry what to say (kind and params), rendered when sent

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Rows queued before this revision keep their words: their text and buttons move into
params as {"html": ..., "markup": ...}, which the renderer sends as they are.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql.expression import ColumnClause, TableClause

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _outbox(*columns: ColumnClause[Any]) -> TableClause:
    return sa.table("outbox", sa.column("id", sa.BigInteger), *columns)


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))
    old = _outbox(
        sa.column("text", sa.Text),
        sa.column("reply_markup", sa.JSON),
        sa.column("params", sa.JSON),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(old.c.id, old.c.text, old.c.reply_markup)).all()
    for row in rows:
        params = {"html": row.text, "markup": row.reply_markup}
        connection.execute(old.update().where(old.c.id == row.id).values(params=params))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("params", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("reply_markup")
        batch_op.drop_column("text")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reply_markup", sa.JSON(), nullable=True))
    new = _outbox(
        sa.column("text", sa.Text),
        sa.column("reply_markup", sa.JSON),
        sa.column("params", sa.JSON),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(new.c.id, new.c.params)).all()
    for row in rows:
        params = row.params or {}
        text = params.get("html") or "(a message queued by a newer version)"
        connection.execute(
            new.update()
            .where(new.c.id == row.id)
            .values(text=text, reply_markup=params.get("markup"))
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("text", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("params")
