"""Outcomes read from an exchange's prices (bot/outcomes): what the candles showed for each
signal, and how far each symbol's candles have been read."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, DecimalType, UTCDateTime


class PriceEvent(Base):
    """An entry fill, a take-profit or the stop, as the exchange's candles showed it.

    One row per signal and kind (the unique pair is what makes a check that runs again,
    after a crash or in another process, find it once). `decided_at`: recorded on the
    signal (OUTCOMES=auto at once; confirm: when an admin tapped Confirm), or set aside
    because the signal could no longer take it; an entry fill is only recorded here.
    """

    __tablename__ = "price_events"
    __table_args__ = (UniqueConstraint("signal_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signal_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("signals.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # entry, tp1.., sl
    price: Mapped[Decimal] = mapped_column(DecimalType())
    candle_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the candle's start
    found_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PriceSymbol(Base):
    """A symbol signals were posted on, as the watcher knows it: the start of the first
    candle not read yet (a restart or an outage replays from here), and when the admins
    were told the exchange does not list it (once)."""

    __tablename__ = "price_symbols"

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    checked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
