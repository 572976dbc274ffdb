"""Telegram's paid lane, the rules: which messages PAID_BROADCAST lets take it, what it
costs, and how long a broadcast takes in each lane.

Telegram's Bot API, sendMessage's `allow_paid_broadcast` (core.telegram.org/bots/api#sendmessage):
"Pass True to allow up to 1000 messages per second, ignoring broadcasting limits for a fee
of 0.1 Telegram Stars per message. The relevant Stars will be withdrawn from the bot's
balance." Without it a bot sends "about 30" a second in bulk (the Bot FAQ,
core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). Costs are kept
in tenths of a Star, as integers.

The book of what the lane spent is the outbox itself: a row sent on it is marked `paid`
in the transaction that records its send (bot.delivery.outcomes), so counting those rows
by their sent_at gives a day's, or 30 days', paid sends after any crash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.notices.kinds import NoticeKind
from db.models import OutboxMessage

PaidMode = Literal["off", "signals", "all"]

PAID_RATE = 1000.0  # messages a second with allow_paid_broadcast
FREE_RATE = 30.0  # Telegram's "about 30" a second in bulk, without it
TENTHS_PER_MESSAGE = 1  # 0.1 Star a message

SIGNAL_KINDS = frozenset({NoticeKind.SIGNAL, NoticeKind.SIGNAL_UPDATE})
BULK_KINDS = SIGNAL_KINDS | {NoticeKind.BROADCAST}
_COVERED: dict[str, frozenset[NoticeKind]] = {
    "off": frozenset(),
    "signals": SIGNAL_KINDS,
    "all": BULK_KINDS,
}


def covers(mode: str, kind: str) -> bool:
    """Whether PAID_BROADCAST=`mode` lets a broadcast of `kind` go on the paid lane: `signals`
    the signals and their updates, `all` every broadcast; notices and replies never."""
    return kind in _COVERED.get(mode, frozenset())


def stars(tenths: int) -> Decimal:
    """Tenths of a Star as Stars: 12 -> 1.2."""
    return Decimal(tenths) / 10


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a broadcast to `messages` chats costs on the paid lane, and how long it takes in
    each lane (the free one at Telegram's documented rate)."""

    messages: int
    tenths: int

    @property
    def stars(self) -> Decimal:
        return stars(self.tenths)

    @property
    def paid_seconds(self) -> int:
        return math.ceil(self.messages / PAID_RATE)

    @property
    def free_seconds(self) -> int:
        return math.ceil(self.messages / FREE_RATE)


def estimate(messages: int) -> Estimate:
    """Every message on the paid lane costs 0.1 Star: `messages` x 0.1."""
    return Estimate(messages, messages * TENTHS_PER_MESSAGE)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


async def sends_between(session: AsyncSession, start: datetime, end: datetime) -> int:
    """Messages sent on the paid lane from `start` to before `end` (the book)."""
    found = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.paid.is_(True),
            OutboxMessage.sent_at >= start,
            OutboxMessage.sent_at < end,
        )
    )
    return int(found or 0)


async def sends_on(session: AsyncSession, day: date) -> int:
    """Messages sent on the paid lane on one UTC day."""
    start = day_start(day)
    return await sends_between(session, start, start + timedelta(days=1))
