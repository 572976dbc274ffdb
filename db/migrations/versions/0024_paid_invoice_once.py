"""subscription history: an invoice paid is recorded once, by its Stripe invoice id (Stripe
sends invoice.paid and invoice.payment_succeeded for one payment; both are handled, and
each wrote a paid row, so revenue counted the payment twice)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows written before have none (NULLs never clash): their payments are counted as
    # they were recorded.
    with op.batch_alter_table("subscription_events") as batch:
        batch.add_column(sa.Column("invoice_id", sa.String(length=255), nullable=True))
    op.create_index(
        "uq_subscription_events_invoice_id", "subscription_events", ["invoice_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_subscription_events_invoice_id", table_name="subscription_events")
    with op.batch_alter_table("subscription_events") as batch:
        batch.drop_column("invoice_id")
