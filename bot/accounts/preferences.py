"""How each user wants to be notified: new signals on or silent, their updates on, silent
or off. Billing and account notices always arrive with sound. The delivery worker reads
these at send time (bot/delivery/plan.py), so a change applies to what is still queued."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import DomainError
from db.models import User

SIGNAL_CHOICES = ("on", "silent")
UPDATE_CHOICES = ("on", "silent", "off")


class UnknownChoiceError(DomainError):
    """A preference that is not one of the choices (a forged button)."""


@dataclass(frozen=True)
class Preferences:
    signals: str = "on"
    updates: str = "on"


async def of(session: AsyncSession, user_id: int) -> Preferences:
    row = await session.get(User, user_id)
    return Preferences(row.notify_signals, row.notify_updates) if row else Preferences()


async def of_many(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, Preferences]:
    """Everyone's who is not on the defaults, in one query (the worker's batch)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.notify_signals, User.notify_updates).where(
            User.id.in_(ids), (User.notify_signals != "on") | (User.notify_updates != "on")
        )
    )
    return {row.id: Preferences(row.notify_signals, row.notify_updates) for row in rows}


async def choose(session: AsyncSession, user_id: int, what: str, choice: str) -> Preferences:
    """Set one preference; the new preferences."""
    choices = {"signals": SIGNAL_CHOICES, "updates": UPDATE_CHOICES}.get(what)
    if choices is None or choice not in choices:
        raise UnknownChoiceError("settings.unknown")
    column = User.notify_signals if what == "signals" else User.notify_updates
    await session.execute(update(User).where(User.id == user_id).values({column: choice}))
    return await of(session, user_id)
