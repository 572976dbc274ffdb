"""The database the feed is read from, as a live bot would have it after a few weeks: users
and entitlements in bulk, signals and their follow-ups through bot.signals.service, every
message delivered."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.api.feed import FEED_LIMIT
from bench.shared.basics import JSON, PRICE_MONTHLY
from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from bot.signals.updates import parse_update
from db.engine import create_engine, create_session_factory
from db.models import (
    Broadcast,
    Entitlement,
    EntitlementSource,
    OutboxMessage,
    OutboxStatus,
    Signal,
    User,
)

FIRST_USER_ID = 800_000_001
ADMIN_ID = 900_001
SEED_CHUNK = 2000

# (symbol, side, entry, stop, take-profits), used in turn.
_TEMPLATES: tuple[tuple[str, str, str, str, str], ...] = (
    ("BTCUSDT", "long", "65000", "63500", "67000 69000"),
    ("ETHUSDT", "short", "3400-3450", "3520", "3300 3200 3100"),
    ("SOLUSDT", "long", "150", "142", "160 170"),
    ("XRPUSDT", "short", "0.62", "0.65", "0.58 0.55"),
    ("BNBUSDT", "long", "580-590", "565", "610 630 650"),
)


@dataclass
class Seeded:
    subscribers: list[int]  # users with access, in id order
    lapsed: list[int]  # users whose subscription has ended (no access)
    feed: list[tuple[int, str]]  # (id, status) the feed must show, newest first
    closed: int
    outbox_rows: int
    seconds: float


def _signal_text(index: int) -> str:
    symbol, side, entry, stop, tps = _TEMPLATES[index % len(_TEMPLATES)]
    lev = f" lev {index % 10 + 1}" if index % 3 else ""
    return (
        f"/signal {symbol} {side} entry {entry} sl {stop} tp {tps}{lev} tf 4h note bench #{index}"
    )


def _update_for(index: int) -> list[str]:
    """Follow-ups of the index-th signal: half end closed (stop, all TPs, TP1 then close,
    cancel), one in ten hits TP1 and stays open, the rest have none yet."""
    take_profits = len(_TEMPLATES[index % len(_TEMPLATES)][4].split())
    plans = {
        0: ["sl"],
        1: [f"tp{n}" for n in range(1, take_profits + 1)],
        2: ["tp1"],
        3: ["tp1", "close {exit}"],
        4: ["cancel"],
    }
    return plans.get(index % 10, [])


async def seed(database_url: str, subscribers: int, lapsed: int, n_signals: int) -> Seeded:
    """A database as a live bot would have it after a few weeks: every message delivered."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    subscriber_ids = [FIRST_USER_ID + i for i in range(subscribers)]
    lapsed_ids = [FIRST_USER_ID + subscribers + i for i in range(lapsed)]
    try:
        async with factory() as session, session.begin():
            await _insert_users(session, subscriber_ids, lapsed_ids, now)
        await _publish_signals(factory, n_signals, now)
        outbox_rows, feed, closed = await _mark_delivered(factory, now)
    finally:
        await engine.dispose()
    return Seeded(
        subscribers=subscriber_ids,
        lapsed=lapsed_ids,
        feed=feed,
        closed=closed,
        outbox_rows=outbox_rows,
        seconds=time.perf_counter() - started,
    )


async def _insert_users(
    session: AsyncSession, subscriber_ids: list[int], lapsed_ids: list[int], now: datetime
) -> None:
    users = [
        {
            "id": uid,
            "first_name": f"Sub {uid}",
            "username": f"sub{uid}",
            "language_code": "en",
            "created_at": now - timedelta(days=60),
            "updated_at": now - timedelta(days=60),
        }
        for uid in subscriber_ids + lapsed_ids
    ]
    for start in range(0, len(users), SEED_CHUNK):
        await session.execute(insert(User), users[start : start + SEED_CHUNK])
    rows = _entitlements(subscriber_ids, lapsed_ids, now)
    for start in range(0, len(rows), SEED_CHUNK):
        await session.execute(insert(Entitlement), rows[start : start + SEED_CHUNK])


def _entitlements(subscriber_ids: list[int], lapsed_ids: list[int], now: datetime) -> list[JSON]:
    rows: list[JSON] = []
    for n, uid in enumerate(subscriber_ids):
        grant = n % 10 == 9  # one in ten has an admin grant, the rest pay
        rows.append(
            {
                "user_id": uid,
                "source": EntitlementSource.GRANT if grant else EntitlementSource.STRIPE,
                "source_ref": f"admin:{ADMIN_ID}" if grant else f"sub_bench{uid}",
                "status": "active" if n % 20 else "trialing",
                "price_id": None if grant else PRICE_MONTHLY,
                "expires_at": now + timedelta(days=1 + n % 29),
            }
        )
    for uid in lapsed_ids:
        rows.append(
            {
                "user_id": uid,
                "source": EntitlementSource.STRIPE,
                "source_ref": f"sub_bench{uid}",
                "status": "canceled",
                "price_id": PRICE_MONTHLY,
                "expires_at": now - timedelta(days=3),
            }
        )
    return rows


async def _publish_signals(
    factory: async_sessionmaker[AsyncSession], n_signals: int, now: datetime
) -> None:
    """Signals as the admin posts them: draft, publish (one outbox row per subscriber),
    then /update follow-ups half an hour apart; two hours between signals."""
    for index in range(n_signals):
        published = now - timedelta(hours=2 * (n_signals - index))
        async with factory() as session, session.begin():
            draft = await signals.create_draft(
                session, parse_signal(_signal_text(index)), ADMIN_ID
            )
            await signals.publish(session, draft.id, published)
            signal_id = draft.id
            entry = draft.entry_high
        for step, update_text in enumerate(_update_for(index), start=1):
            command = update_text.format(exit=entry * 101 / 100)
            async with factory() as session, session.begin():
                await signals.post_update(
                    session,
                    parse_update(f"/update {signal_id} {command}"),
                    ADMIN_ID,
                    published + timedelta(minutes=30 * step),
                )


async def _mark_delivered(
    factory: async_sessionmaker[AsyncSession], now: datetime
) -> tuple[int, list[tuple[int, str]], int]:
    """Everything was delivered long ago: the delivery worker and the progress reporter
    stay idle while the bench runs. Returns the outbox rows so marked, the feed the API
    must answer (id, status; newest first) and how many signals are closed."""
    async with factory() as session, session.begin():
        outbox = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENT, sent_at=now, lease_until=None)
        )
        await session.execute(
            update(Broadcast).where(Broadcast.finished_at.is_(None)).values(finished_at=now)
        )
        feed = (
            await session.execute(
                select(Signal.id, Signal.status)
                .where(Signal.published_at.is_not(None))
                .order_by(Signal.published_at.desc(), Signal.id.desc())
                .limit(FEED_LIMIT)
            )
        ).all()
        closed = int(
            await session.scalar(
                select(func.count()).select_from(Signal).where(Signal.closed_at.is_not(None))
            )
            or 0
        )
    return (
        int(outbox.rowcount),  # type: ignore[attr-defined]
        [(int(i), str(s)) for i, s in feed],
        closed,
    )
