"""What the provider can hand an accountant or load into a spreadsheet: subscribers,
payments and signals as rows, streamed from the database (a server-side cursor on
PostgreSQL, batches on SQLite) so 100,000 rows take the memory of one batch.

Rows are plain values; bot/admin/csv_rows.py writes them as CSV. Payments are the Telegram
Stars payments the bot booked; Stripe's invoices are Stripe's own export (Dashboard,
Billing, Invoices, Export), each subscriber's Stripe state is in `subscribers`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Executable, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Entitlement, Signal, SignalStatus, StarPayment, User

BATCH = 1_000  # rows fetched at a time


class Export(enum.StrEnum):
    SUBSCRIBERS = "subscribers"
    PAYMENTS = "payments"
    SIGNALS = "signals"
    AUDIT = "audit"


HEADERS: dict[Export, tuple[str, ...]] = {
    Export.AUDIT: (
        "id",
        "at",
        "actor",
        "actor_id",
        "action",
        "user_id",
        "target",
        "before",
        "after",
    ),
    Export.SUBSCRIBERS: (
        "user_id",
        "username",
        "first_name",
        "language",
        "joined_at",
        "blocked_at",
        "source",
        "status",
        "plan",
        "expires_at",
        "cancel_at_period_end",
        "updated_at",
    ),
    Export.PAYMENTS: (
        "charge_id",
        "user_id",
        "amount",
        "currency",
        "paid_at",
        "paid_until",
        "renewal",
        "subscription",
        "refunded_at",
        "refund_reason",
        "second_subscription_of",
    ),
    Export.SIGNALS: (
        "id",
        "symbol",
        "side",
        "entry_low",
        "entry_high",
        "stop_loss",
        "take_profits",
        "leverage",
        "timeframe",
        "note",
        "status",
        "published_at",
        "closed_at",
        "exit_price",
        "result_pct",
        "result_r",
    ),
}


def _subscribers(since: datetime | None) -> Executable:
    query = (
        select(User, Entitlement)
        .join(Entitlement, Entitlement.user_id == User.id)
        .order_by(User.id, Entitlement.id)
    )
    return query.where(Entitlement.updated_at >= since) if since else query


def _payments(since: datetime | None) -> Executable:
    query = select(StarPayment).order_by(StarPayment.paid_at, StarPayment.id)
    return query.where(StarPayment.paid_at >= since) if since else query


def _signals(since: datetime | None) -> Executable:
    query = (
        select(Signal)
        .where(Signal.status != SignalStatus.DRAFT)
        .order_by(Signal.published_at, Signal.id)
    )
    return query.where(Signal.published_at >= since) if since else query


def _audit(since: datetime | None) -> Executable:
    query = select(AuditEntry).order_by(AuditEntry.id)
    return query.where(AuditEntry.at >= since) if since else query


QUERIES = {
    Export.SUBSCRIBERS: _subscribers,
    Export.PAYMENTS: _payments,
    Export.SIGNALS: _signals,
    Export.AUDIT: _audit,
}


def _row(kind: Export, found: Sequence[Any]) -> tuple[object, ...]:
    if kind is Export.SUBSCRIBERS:
        user, row = found
        return (
            *(user.id, user.username, user.first_name, user.language or user.language_code),
            *(user.created_at, user.blocked_at, row.source, row.status, row.price_id),
            *(row.expires_at, row.cancel_at_period_end, row.updated_at),
        )
    if kind is Export.AUDIT:
        (a,) = found
        before, after = (json.dumps(v, sort_keys=True) if v else None for v in (a.before, a.after))
        return (a.id, a.at, a.actor, a.actor_id, a.action, a.subject_id, a.target, before, after)
    if kind is Export.PAYMENTS:
        (p,) = found
        return (
            *(p.charge_id, p.user_id, p.amount, "XTR", p.paid_at, p.paid_until, p.recurring),
            *(p.subscription_ref, p.refunded_at, p.refund_reason, p.duplicate_of),
        )
    (s,) = found
    targets = " ".join(str(tp) for tp in s.take_profits or [])
    return (
        *(s.id, s.symbol, s.side, s.entry_low, s.entry_high, s.stop_loss, targets),
        *(s.leverage, s.timeframe, s.note, s.status, s.published_at, s.closed_at),
        s.exit_price,
        *(s.result_pct, s.result_r),
    )


async def rows(
    session: AsyncSession, kind: Export, since: datetime | None = None
) -> AsyncIterator[tuple[object, ...]]:
    """The export's rows after its header, oldest first, BATCH at a time."""
    query = QUERIES[kind](since).execution_options(yield_per=BATCH)
    result = await session.stream(query)
    async for found in result:
        yield _row(kind, found)


def since_of(text: str | None) -> datetime | None:
    """--since as a UTC midnight; ValueError with the words for the operator."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since: {text[:20]!r} is not a date like 2026-01-31") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
