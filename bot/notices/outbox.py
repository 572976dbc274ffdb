"""Writing messages to the durable outbox; the delivery worker sends them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.notices import params as params_shape
from bot.notices.kinds import NoticeKind
from bot.transactions import commit_events
from db.models import OutboxMessage, OutboxStatus, Priority

_INSERT_ONE = insert(cast(Table, OutboxMessage.__table__))


class OutboxWakeup:
    """Wakes the delivery worker after a transaction that wrote outbox rows has committed
    (subscribed to `commit_events.OUTBOX` by bot.app.build).

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


async def enqueue(
    session: AsyncSession, *, chat_id: int, kind: NoticeKind, params: Mapping[str, object]
) -> None:
    """Add one message for one chat to the caller's transaction.

    The row holds what to say (`kind` and its `params`), not the words: the delivery
    worker renders it when it sends (bot/texts/notices.py), so the words are always
    the catalogue's and, once there are languages, the recipient's.

    A Core INSERT on the session's connection rather than session.add(): the webhook path
    writes notices this way and the ORM's flush machinery was a sixth of its cost.
    """
    params_shape.check(kind, params)
    connection = await session.connection()
    await connection.execute(
        _INSERT_ONE, {"chat_id": chat_id, "kind": kind.value, "params": params}
    )
    commit_events.mark(session, commit_events.OUTBOX)


async def enqueue_many(
    session: AsyncSession, messages: Iterable[tuple[int, NoticeKind, Mapping[str, object]]]
) -> int:
    """Personal messages, each (chat id, kind, params), in one executemany; how many."""
    rows = []
    for chat, kind, params in messages:
        params_shape.check(kind, params)
        rows.append({"chat_id": chat, "kind": kind.value, "params": params})
    if rows:
        connection = await session.connection()
        await connection.execute(_INSERT_ONE, rows)
        commit_events.mark(session, commit_events.OUTBOX)
    return len(rows)


async def enqueue_due(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: NoticeKind,
    params: Mapping[str, object],
    due: datetime,
    broadcast_id: int | None = None,
    reply_to_outbox_id: int | None = None,
) -> None:
    """One personal-priority message that goes out no sooner than `due` (the signal
    channel's delayed post, and the replies held until it), maybe threaded under the
    outbox row `reply_to_outbox_id`."""
    params_shape.check(kind, params)
    await session.execute(
        _INSERT_ONE,
        {
            "chat_id": chat_id,
            "kind": kind.value,
            "params": params,
            "priority": Priority.PERSONAL,
            "broadcast_id": broadcast_id,
            "reply_to_outbox_id": reply_to_outbox_id,
            "next_attempt_at": due,
        },
    )
    commit_events.mark(session, commit_events.OUTBOX)


async def enqueue_bulk(
    session: AsyncSession,
    chat_ids: Iterable[int],
    *,
    kind: NoticeKind,
    params: Mapping[str, object],
    broadcast_id: int,
    now: datetime,
    reply_to: dict[int, int] | None = None,
    paid: bool = False,
) -> None:
    """One bulk-priority row per chat in a single multi-row INSERT (20,000 chats: one call).

    `reply_to` maps a chat to the outbox row of its own copy of the message being followed up.
    `paid`: the broadcast may take the paid lane; its rows are claimed before other bulk.
    """
    params_shape.check(kind, params)
    priority = Priority.FAST if paid else Priority.BULK
    rows = [
        {
            "chat_id": chat_id,
            "kind": kind.value,
            "params": params,
            "priority": priority,
            "broadcast_id": broadcast_id,
            "reply_to_outbox_id": reply_to.get(chat_id) if reply_to else None,
            "next_attempt_at": now,
        }
        for chat_id in chat_ids
    ]
    if rows:
        await session.execute(insert(OutboxMessage), rows)
        commit_events.mark(session, commit_events.OUTBOX)


async def backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many messages wait to be sent, and when the oldest of them was queued."""
    depth, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(
                OutboxMessage.status == OutboxStatus.PENDING
            )
        )
    ).one()
    return int(depth), oldest
