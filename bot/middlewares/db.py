"""One database session per Telegram update, and each update's changes applied once.

Telegram delivers an update again when the webhook did not answer 200 (bot.middlewares.
server_faults answers so when the database failed). The update's id is recorded in the
first transaction that touches the database for it, the one holding its changes: a later
delivery finds it there and is skipped, so a /grant or /broadcast never applies twice.
An update whose handler never touches the database is not recorded (it changed nothing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy import Table, delete, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from db.engine import insert_ignoring_conflicts
from db.models import ProcessedUpdate

log = logging.getLogger(__name__)

_TABLE = cast(Table, ProcessedUpdate.__table__)
_RECORD = {
    name: statement.returning(_TABLE.c.update_id)
    for name, statement in insert_ignoring_conflicts(_TABLE, _TABLE.c.update_id).items()
}
# Telegram redelivers for about a day; after a week of silence ids restart at random, so
# old ids must be gone by then or a new update could be taken for an old one.
KEEP = timedelta(days=2)
PRUNE_EVERY_SECONDS = 3600.0

_TO_RECORD = "signaldesk.update_to_record"
_RECORDED = "signaldesk.update_recorded"
_PRUNE = "signaldesk.prune_updates"


class AlreadyHandledError(Exception):
    """This update's changes were committed by an earlier delivery of it."""


@event.listens_for(Session, "after_begin")
def _record_update(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    update_id = session.info.pop(_TO_RECORD, None)
    if update_id is None:
        return
    now = datetime.now(UTC)
    if session.info.pop(_PRUNE, False):
        connection.execute(delete(_TABLE).where(_TABLE.c.processed_at < now - KEEP))
    result = connection.execute(
        _RECORD[connection.dialect.name], {"update_id": update_id, "processed_at": now}
    )
    if result.scalar() is None:
        raise AlreadyHandledError(update_id)
    session.info[_RECORDED] = update_id


@event.listens_for(Session, "after_rollback")
def _unrecord_update(session: Session) -> None:
    # The record went with the rolled-back transaction: the next one records it again.
    update_id = session.info.pop(_RECORDED, None)
    if update_id is not None:
        session.info[_TO_RECORD] = update_id


@event.listens_for(Session, "after_commit")
def _keep_record(session: Session) -> None:
    session.info.pop(_RECORDED, None)


class DbSessionMiddleware(BaseMiddleware):
    """Opens a session for the update, skips an update handled before, commits at the end.

    Handlers and services only flush; what is left uncommitted when the handler returns is
    committed here, so an exception anywhere rolls the update back (and it is not recorded).
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._last_prune = 0.0

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        update_id = event.update_id if isinstance(event, Update) else None
        async with self._session_factory() as session:
            if update_id is not None:
                session.info[_TO_RECORD] = update_id
                session.info[_PRUNE] = self._prune_due()
            data["session"] = session
            try:
                result = await handler(event, data)
                await session.commit()
            except AlreadyHandledError:
                log.info("update %s was handled before; skipped", update_id)
                return None
        return result

    def _prune_due(self) -> bool:
        now = time.monotonic()
        if now - self._last_prune < PRUNE_EVERY_SECONDS:
            return False
        self._last_prune = now
        return True
