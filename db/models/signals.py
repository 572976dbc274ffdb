"""The provider's signals and their updates."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, DecimalType, UTCDateTime, utcnow


class SignalStatus(enum.StrEnum):
    """Life of a signal. tpN hits are stored as "tp1", "tp2", ... in `status`."""

    DRAFT = "draft"  # previewed, not sent
    OPEN = "open"
    STOPPED = "stopped"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class UpdateSource(enum.StrEnum):
    """Who said what a signal update says: an admin (/update, the Mini App), or the
    exchange's prices (bot/outcomes), recorded at once or confirmed by an admin."""

    ADMIN = "admin"
    PRICES = "prices"


class Signal(Base):
    """A trading signal as the provider posted it, and how it ended."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_closed_at", "closed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    entry_low: Mapped[Decimal] = mapped_column(DecimalType())
    entry_high: Mapped[Decimal] = mapped_column(DecimalType())
    stop_loss: Mapped[Decimal] = mapped_column(DecimalType())
    # Decimal strings, nearest first; JSON keeps the list portable across both databases.
    take_profits: Mapped[list[str]] = mapped_column(JSON)
    leverage: Mapped[Decimal | None] = mapped_column(DecimalType())
    timeframe: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=SignalStatus.DRAFT)
    tp_hit: Mapped[int] = mapped_column(Integer, default=0)
    exit_price: Mapped[Decimal | None] = mapped_column(DecimalType())
    result_pct: Mapped[Decimal | None] = mapped_column(DecimalType())
    result_r: Mapped[Decimal | None] = mapped_column(DecimalType())
    author_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignalUpdate(Base):
    """A follow-up on a signal: tpN hit, stopped, closed or cancelled."""

    __tablename__ = "signal_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signal_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("signals.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    price: Mapped[Decimal | None] = mapped_column(DecimalType())
    note: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # UpdateSource: the public track record marks each outcome by it.
    source: Mapped[str] = mapped_column(
        String(8), default=UpdateSource.ADMIN, server_default=UpdateSource.ADMIN.value
    )


class AlertReceipt(Base):
    """A TradingView alert taken (bot/signals/alerts.py), by the digest of what it said, so
    the same alert sent again within minutes, to this instance or another, makes nothing
    twice; and a problem the admins were told of, so a broken alert firing every minute
    tells them once. Rows older than the longest window are pruned."""

    __tablename__ = "alert_receipts"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RecordEntry(Base):
    """One entry of the verifiable record's hash chain (bot/signals/record_store.py): a
    published signal or an update, committed to without its levels. `content` (the
    canonical JSON committed to) and `salt` stay private until `revealed_at`, when the
    signal closes; the rest is public at once. `seq` is the chain's order, unique."""

    __tablename__ = "record_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(8))  # "signal" or "update"
    signal_id: Mapped[int] = mapped_column(Integer, ForeignKey("signals.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    commitment: Mapped[str] = mapped_column(String(64))
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[str] = mapped_column(Text)
    salt: Mapped[str] = mapped_column(String(64))
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecordHead(Base):
    """The chain's head as posted to a chat on a day (UTC): one post a day, however often
    the job runs or in however many processes (the day is the key)."""

    __tablename__ = "record_heads"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2026-12-06
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
