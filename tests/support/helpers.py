"""Small builders shared by the tests: Stripe objects for one user, database look-ups."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select

from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from bot.signals.updates import parse_update
from db.models import Entitlement, EntitlementSource, OutboxMessage, ProcessedStripeEvent, User
from tests.support.fakes.stripe_api import make_event, make_subscription
from tests.support.harness import ADMIN_ID, PRICE_MONTHLY, Harness

DAY = 86_400


def subscription_for(
    user_id: int,
    *,
    sub_id: str = "sub_test_1",
    customer: str = "cus_test_1",
    status: str = "active",
    period_end: int | None = None,
    basil: bool = True,
    cancel_at_period_end: bool = False,
) -> dict[str, Any]:
    return make_subscription(
        sub_id,
        customer=customer,
        price_id=PRICE_MONTHLY,
        status=status,
        current_period_end=period_end or int(time.time()) + 30 * DAY,
        metadata={"telegram_user_id": str(user_id)},
        basil=basil,
        cancel_at_period_end=cancel_at_period_end,
    )


def subscription_event(
    kind: str, subscription: dict[str, Any], *, created: int, event_id: str | None = None
) -> dict[str, Any]:
    return make_event(
        f"customer.subscription.{kind}", subscription, created=created, event_id=event_id
    )


def payment_failed_event(
    customer: str,
    subscription: str,
    *,
    created: int,
    next_attempt: int | None,
    amount: int = 4900,
    currency: str = "usd",
) -> dict[str, Any]:
    """invoice.payment_failed for a subscription's invoice, as Stripe sends it (basil)."""
    invoice = {
        "id": f"in_{subscription}",
        "object": "invoice",
        "customer": customer,
        "amount_due": amount,
        "currency": currency,
        "next_payment_attempt": next_attempt,
        "parent": {"subscription_details": {"subscription": subscription}},
        "lines": {"data": []},
    }
    return make_event("invoice.payment_failed", invoice, created=created)


async def count(harness: Harness, model: Any) -> int:
    async with harness.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def entitlement(harness: Harness, user_id: int) -> Entitlement | None:
    async with harness.session() as session:
        return await session.scalar(
            select(Entitlement).where(
                Entitlement.user_id == user_id, Entitlement.source == EntitlementSource.STRIPE
            )
        )


async def outbox(harness: Harness, chat_id: int | None = None) -> list[OutboxMessage]:
    async with harness.session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if chat_id is not None:
            query = query.where(OutboxMessage.chat_id == chat_id)
        return list(await session.scalars(query))


async def state(harness: Harness) -> tuple[int, int, int, int]:
    """Row counts that must not move when bad input is rejected."""
    return (
        await count(harness, User),
        await count(harness, Entitlement),
        await count(harness, ProcessedStripeEvent),
        await count(harness, OutboxMessage),
    )


async def give_access(
    harness: Harness, *user_ids: int, days: int = 30, blocked: bool = False
) -> None:
    """Users with an active Stripe entitlement, as the webhook would leave them."""
    from datetime import UTC, datetime, timedelta

    from bot.accounts import entitlement_writes

    async with harness.session() as session, session.begin():
        for user_id in user_ids:
            session.add(
                User(
                    id=user_id,
                    first_name=f"User{user_id}",
                    blocked_at=datetime.now(UTC) if blocked else None,
                )
            )
            await session.flush()
            await entitlement_writes.save(
                session,
                Entitlement(
                    user_id=user_id,
                    source=EntitlementSource.STRIPE,
                    source_ref=f"sub_{user_id}",
                    status="active",
                    price_id=PRICE_MONTHLY,
                    expires_at=datetime.now(UTC) + timedelta(days=days),
                    state_version=1,
                ),
            )


async def publish_signal(harness: Harness, line: str) -> int:
    """A signal posted by the admin and published (its broadcast queued); its id."""
    async with harness.session() as session, session.begin():
        draft = await signals.create_draft(session, parse_signal(line), ADMIN_ID)
        await signals.publish(session, draft.id, datetime.now(UTC))
        return draft.id


async def post_signal_update(harness: Harness, signal_id: int, how: str) -> None:
    """The admin's `/update <id> <how>` (tp1, sl, close 23, cancel ...), as the service."""
    async with harness.session() as session, session.begin():
        await signals.post_update(
            session, parse_update(f"{signal_id} {how}"), ADMIN_ID, datetime.now(UTC)
        )


@contextmanager
def statements(harness: Harness) -> Iterator[list[str]]:
    """Every SQL statement the application sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = harness.parts.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
