"""Writing messages to the durable outbox; the delivery worker sends them."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage


class OutboxSignal:
    """Wakes the delivery worker after a transaction that wrote outbox rows has committed.

    Only a hint: the worker also polls, so a lost wake-up delays a message, never loses it.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            return
        finally:
            self._event.clear()


def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> OutboxMessage:
    """Add one message for one chat to the caller's transaction."""
    markup: dict[str, Any] | None = (
        reply_markup.model_dump(mode="json", exclude_none=True) if reply_markup else None
    )
    row = OutboxMessage(chat_id=chat_id, kind=kind, text=text, reply_markup=markup)
    session.add(row)
    return row
