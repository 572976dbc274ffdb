"""The database of a delivery run: subscribers seeded and one signal published as the app
does it, then what the fake received checked against what the engine recorded."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.delivery.fake import Records
from bench.shared.basics import BenchError
from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from db.engine import create_engine, create_session_factory
from db.models import Entitlement, EntitlementSource, OutboxMessage, OutboxStatus, User

FIRST_USER_ID = 600_000_001
_LANGUAGE = ("en", "ru", "es", "pt-br")  # what the subscribers' Telegram apps report
ADMIN_ID = 900_001
# The admin's "Send" button message: publish() records it and the worker edits it with
# progress between passes, exactly as after a real Send press.
PROGRESS_MESSAGE_ID = 1
PRICE_ID = "price_bench_monthly"
SIGNAL_TEXT = "/signal BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h note bench"
SEED_CHUNK = 5000


# ---------------------------------------------------------------------------
# Seeding the database
# ---------------------------------------------------------------------------


async def seed_and_publish(
    url: str, subscribers: int, *, paid: bool = False
) -> tuple[list[int], float]:
    """N paying subscribers (bulk-inserted), then one signal published as the app does it
    (with `paid`, as Send fast does: its rows may take the paid lane).

    Returns the subscribers' chat ids and how long publish() took (it writes the outbox).
    """
    chats = [FIRST_USER_ID + i for i in range(subscribers)]
    expires = datetime.now(UTC) + timedelta(days=30)
    engine = create_engine(url)
    session_factory = create_session_factory(engine)
    try:
        async with session_factory() as session, session.begin():
            for start in range(0, subscribers, SEED_CHUNK):
                await _insert_subscribers(session, chats[start : start + SEED_CHUNK], expires)
        addressed, took = await _publish(session_factory, paid=paid)
    finally:
        await engine.dispose()
    if addressed != subscribers:
        raise BenchError(f"publish() addressed {addressed} of {subscribers} subscribers")
    return chats, took


async def _insert_subscribers(session: AsyncSession, chunk: list[int], expires: datetime) -> None:
    # Telegram apps report a language: the worker renders each in its own.
    await session.execute(
        insert(User),
        [
            {
                "id": chat,
                "first_name": f"Sub {chat}",
                "language_code": _LANGUAGE[i % 4],
            }
            for i, chat in enumerate(chunk)
        ],
    )
    await session.execute(
        insert(Entitlement),
        [
            {
                "user_id": chat,
                "source": EntitlementSource.STRIPE,
                "source_ref": f"sub_bench_{chat}",
                "status": "active",
                "price_id": PRICE_ID,
                "expires_at": expires,
                "state_version": 1,
            }
            for chat in chunk
        ],
    )


async def _publish(
    session_factory: async_sessionmaker[AsyncSession], *, paid: bool = False
) -> tuple[int, float]:
    """The two transactions of the chat flow: /signal makes the draft, Send publishes it.
    Returns how many subscribers the broadcast addressed and how long publish() took."""
    async with session_factory() as session, session.begin():
        draft = await signals.create_draft(session, parse_signal(SIGNAL_TEXT), ADMIN_ID)
    started = time.perf_counter()
    async with session_factory() as session, session.begin():
        broadcast = await signals.publish(
            session,
            draft.id,
            datetime.now(UTC),
            admin_chat_id=ADMIN_ID,
            progress_message_id=PROGRESS_MESSAGE_ID,
            paid=paid,
        )
    return broadcast.total, time.perf_counter() - started


# ---------------------------------------------------------------------------
# Checking it afterwards
# ---------------------------------------------------------------------------


@dataclass
class Check:
    """What the fake received, against what the engine recorded."""

    subscribers: int
    lost: int  # subscribers with no message at the fake
    twice: int  # subscribers with more than one
    strangers: int  # messages to chats that are not subscribers
    rows: int
    rows_not_sent: int  # outbox rows not `sent` with a message id
    ids_twice: int  # (chat, message id) recorded by more than one row
    ids_unknown: int  # a recorded id the fake never gave that chat
    ids_later_copy: int  # the recorded id is a re-send, not the chat's first copy

    def problems(self, *, duplicates_allowed: bool = False) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{self.lost} subscribers got no message")
        if self.twice and not duplicates_allowed:
            found.append(f"{self.twice} subscribers got the signal twice")
        if self.strangers:
            found.append(f"{self.strangers} messages went to chats that are not subscribers")
        if self.rows != self.subscribers:
            found.append(f"{self.rows} outbox rows for {self.subscribers} subscribers")
        if self.rows_not_sent:
            found.append(f"{self.rows_not_sent} outbox rows not sent with a message id")
        if self.ids_twice:
            found.append(f"{self.ids_twice} message ids recorded by two rows")
        if self.ids_unknown:
            found.append(f"{self.ids_unknown} recorded message ids the fake never sent")
        return found

    def describe(self, *, duplicates_allowed: bool = False) -> str:
        found = self.problems(duplicates_allowed=duplicates_allowed)
        if found:
            return "FAILED: " + "; ".join(found)
        return f"ok ({self.subscribers:,} chats got it, {self.rows:,} rows sent with a message id)"


async def check_delivery(url: str, chats: list[int], records: Records) -> Check:
    delivered: dict[int, list[int]] = {}
    for chat, message_id, _ in sorted(records.sends, key=lambda send: send[2]):
        delivered.setdefault(chat, []).append(message_id)
    subscribers = set(chats)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        OutboxMessage.chat_id,
                        OutboxMessage.status,
                        OutboxMessage.telegram_message_id,
                    ).where(OutboxMessage.kind == "signal")
                )
            ).all()
    finally:
        await engine.dispose()
    recorded = Counter(
        (int(row.chat_id), int(row.telegram_message_id))
        for row in rows
        if row.telegram_message_id is not None
    )
    unknown = later = 0
    for (chat, message_id), _ in recorded.items():
        copies = delivered.get(chat, [])
        if message_id not in copies:
            unknown += 1
        elif message_id != copies[0]:
            later += 1
    return Check(
        subscribers=len(subscribers),
        lost=sum(1 for chat in subscribers if chat not in delivered),
        twice=sum(1 for chat in subscribers if len(delivered.get(chat, ())) > 1),
        strangers=sum(len(ids) for chat, ids in delivered.items() if chat not in subscribers),
        rows=len(rows),
        rows_not_sent=sum(
            1 for row in rows if row.status != OutboxStatus.SENT or row.telegram_message_id is None
        ),
        ids_twice=sum(1 for n in recorded.values() if n > 1),
        ids_unknown=unknown,
        ids_later_copy=later,
    )


async def outbox_state(url: str) -> tuple[int, int, datetime | None]:
    """Rows sent, rows pending under a lease, and when the last lease runs out."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            sent = await conn.scalar(
                select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
            )
            leased, until = (
                await conn.execute(
                    select(func.count(), func.max(OutboxMessage.lease_until)).where(
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.lease_until.is_not(None),
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    if isinstance(until, str):  # SQLite hands an aggregate back untyped
        until = datetime.fromisoformat(until)
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    return int(sent or 0), int(leased or 0), until
