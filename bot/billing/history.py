"""The Stripe subscriptions' history (subscription_events): what the webhook's applied
changes were, appended in the transaction that makes them, one statement for a batch.

Only what was applied is written: a status change the state machine took (never one from
an event that lost to a newer one), an invoice paid for a subscription we hold, a failed
attempt whose user we know. The analytics read it (bot/admin/analytics_reader.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Insert, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.accounts.entitlement_writes import EntitlementState
from bot.billing.stripe_shapes import Invoice
from db.models import HistoryKind, SubscriptionEvent

_EVENTS = cast(Table, SubscriptionEvent.__table__)


@dataclass(frozen=True, slots=True)
class Entry:
    user_id: int
    ref: str
    kind: HistoryKind
    at: datetime
    status: str | None = None
    price_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    period_end: datetime | None = None
    invoice_id: str | None = None  # paid only: one row per invoice


def at(created: int) -> datetime:
    """A Stripe event's `created` as the moment its change happened."""
    return datetime.fromtimestamp(created, UTC)


async def append(conn: AsyncConnection, entries: Sequence[Entry]) -> None:
    """The entries in one executemany, in the caller's transaction. An invoice paid that
    is recorded already (the same payment's other event type, in this batch or an earlier
    one) is skipped by the unique invoice id."""
    if not entries:
        return
    recorded_at = datetime.now(UTC)
    rows = [{**asdict(e), "kind": str(e.kind), "recorded_at": recorded_at} for e in entries]
    await conn.execute(_insert_once(conn.dialect.name), rows)


def _insert_once(dialect: str) -> Insert:
    """INSERT .. ON CONFLICT (invoice_id) DO NOTHING (NULLs never conflict), the dialects
    loaded here as bot/accounts/consents.py does."""
    from sqlalchemy.dialects import postgresql, sqlite  # noqa: PLC0415

    key = [_EVENTS.c.invoice_id]
    if dialect == "postgresql":
        return postgresql.insert(_EVENTS).on_conflict_do_nothing(index_elements=key)
    return sqlite.insert(_EVENTS).on_conflict_do_nothing(index_elements=key)


def state_entry(
    user_id: int, before: EntitlementState | None, after: EntitlementState, created: int
) -> Entry | None:
    """A status (or price, or subscription) the state machine moved to; None when the
    change touched only dates or flags."""
    same = before is not None and (before.source_ref, before.status, before.price_id) == (
        after.source_ref,
        after.status,
        after.price_id,
    )
    if same or after.source_ref is None:
        return None
    return Entry(
        user_id, after.source_ref, HistoryKind.STATE, at(created), after.status, after.price_id
    )


def paid_entry(
    user_id: int, state: EntitlementState, invoice: Invoice, created: int
) -> Entry | None:
    """An invoice paid for the subscription `state` holds (a trial's free invoice is no
    payment)."""
    amount = invoice.amount_paid if invoice.amount_paid is not None else invoice.amount_due
    if not amount or invoice.currency is None or invoice.subscription_id is None:
        return None
    return Entry(
        user_id,
        invoice.subscription_id,
        HistoryKind.PAID,
        at(created),
        price_id=state.price_id,
        amount=amount,
        currency=invoice.currency.lower(),
        period_end=invoice.period_end,
        invoice_id=invoice.id,
    )


def failed_entry(user_id: int, invoice: Invoice, created: int) -> Entry | None:
    if invoice.subscription_id is None:
        return None
    currency = invoice.currency.lower() if invoice.currency else None
    return Entry(
        user_id,
        invoice.subscription_id,
        HistoryKind.FAILED,
        at(created),
        amount=invoice.amount_due,
        currency=currency,
    )
