"""What waits to be sent (the outbox), the admins' broadcasts, and the send rate learnt from
Telegram."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, utcnow


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"  # the user blocked the bot; not sent
    SKIPPED = "skipped"  # no access any more at send time, or the original was not delivered


class Priority(enum.IntEnum):
    """Lower goes first: a payment notice must not wait behind a 20,000-chat broadcast, and
    a broadcast that may take the paid lane (PAID_BROADCAST) not behind one that may not."""

    PERSONAL = 0
    FAST = 1  # bulk, and its broadcast may go on the paid lane (bot/delivery/lanes.py)
    BULK = 2


class OutboxMessage(Base):
    """One message to one chat, written in the transaction that decided to send it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "id"),
        Index("ix_outbox_broadcast", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    # What to say, rendered into words when the row is sent (bot/texts/notices.py).
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=Priority.PERSONAL)
    broadcast_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("broadcasts.id", ondelete="SET NULL")
    )
    # Follow-ups thread under the recipient's own copy: that row's telegram_message_id.
    reply_to_outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A worker owns a claimed row until this moment; after it, the row is claimable again.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # True when it went out on the paid lane (allow_paid_broadcast): the lane's book.
    paid: Mapped[bool | None] = mapped_column(Boolean)


class Broadcast(Base):
    """One fan-out of a message to many chats, with the admin message showing its progress."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # signal, signal_update, broadcast
    signal_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("signals.id"))
    title: Mapped[str] = mapped_column(String(128))
    admin_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(Integer, default=0)
    # Its rows may take the paid lane (PAID_BROADCAST covers its kind and the admin did not
    # choose the free rate); the budget and the balance decide each send.
    paid: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaidDay(Base):
    """A UTC day on which the paid lane closed, and why (the admins are told once:
    bot/delivery/lanes.py). What it spent is its rows marked paid (bot/notices/paid.py)."""

    __tablename__ = "paid_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    closed: Mapped[str | None] = mapped_column(String(16))  # budget, balance or refused
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LearntRate(Base):
    """The send rate Telegram was found to allow (DELIVERY_RATE=auto): the rate that drew
    the last 429, so a sender that takes the turn, or starts again, begins just under it
    instead of finding it again with 429s (bot/delivery/learnt_rate.py)."""

    __tablename__ = "learnt_rates"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ceiling: Mapped[float] = mapped_column(Float)
    learnt_at: Mapped[datetime] = mapped_column(UTCDateTime())
