"""What users agreed to: each acceptance of the risk disclaimer, with its version and time
(bot/accounts/consents.py is the one writer)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, utcnow


class Consent(Base):
    """One acceptance: a user, what they accepted (`disclaimer`), which version of its text
    (docs/consents.md says how a version is named) and when. Kept when the user's personal
    data is erased: it is the proof they were warned before they paid."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "kind", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
