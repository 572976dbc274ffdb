"""The bench's database: subscribers with access, and the signals published at a chosen
moment with every subscriber's copy already sent (so each update threads under one, and
nothing but the updates is left to deliver)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update

from bench.shared.basics import PRICE_MONTHLY
from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from db.engine import create_engine, create_session_factory
from db.models import (
    Entitlement,
    EntitlementSource,
    OutboxMessage,
    OutboxStatus,
    PriceEvent,
    SignalUpdate,
    User,
)

FIRST_USER = 800_000_001
ADMIN = 799_999_999  # the signals' author


def subscriber_ids(count: int) -> list[int]:
    return list(range(FIRST_USER, FIRST_USER + count))


async def seed(url: str, *, subscribers: int, lines: list[str], published: datetime) -> None:
    """`subscribers` with a month of access, the signals of `lines` published at
    `published`, and their copies marked sent."""
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            ids = subscriber_ids(subscribers)
            await conn.execute(insert(User), [{"id": i, "first_name": f"U{i}"} for i in ids])
            await conn.execute(
                insert(Entitlement),
                [
                    {
                        "user_id": i,
                        "source": EntitlementSource.STRIPE,
                        "source_ref": f"sub_{i}",
                        "status": "active",
                        "price_id": PRICE_MONTHLY,
                        "state_version": 1,
                        "expires_at": now + timedelta(days=30),
                    }
                    for i in ids
                ],
            )
        async with create_session_factory(engine)() as session, session.begin():
            for line in lines:
                draft = await signals.create_draft(session, parse_signal(line), ADMIN)
                await signals.publish(session, draft.id, published)
        async with engine.begin() as conn:
            await conn.execute(
                update(OutboxMessage).values(
                    status=OutboxStatus.SENT, telegram_message_id=OutboxMessage.id, sent_at=now
                )
            )
    finally:
        await engine.dispose()


async def counts(url: str) -> tuple[int, int]:
    """(price events, signal updates) in the database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            events = await conn.scalar(select(func.count()).select_from(PriceEvent))
            updates = await conn.scalar(select(func.count()).select_from(SignalUpdate))
    finally:
        await engine.dispose()
    return int(events or 0), int(updates or 0)
