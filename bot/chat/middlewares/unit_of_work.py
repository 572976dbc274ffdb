"""Each Telegram update's unit of work (bot.transactions.unit_of_work), and its changes
applied once.

Telegram delivers an update again when the webhook did not answer 200 (bot.chat.
middlewares.server_faults answers so when the database failed). The update's id is
written in the first unit of work that commits for it, the one holding its changes: a
later delivery finds it there and is skipped (AlreadyHandledError), so a /grant or a
/broadcast never applies twice.

In webhook mode (several instances may share the load, and Telegram sends an update again,
maybe to another instance, whenever it got no 200 for it) every update is recorded: one
that opened no unit (/help, /status) is recorded once handled, before its 200, and a
delivery of an update already recorded is skipped before any handler runs, so its reply
is not sent twice either. A delivery killed mid-way is handled again (at least once); two
deliveries at the same moment (the first still running when Telegram, after its timeout,
sends it again) can both answer a read-only command, while changes still apply once. With
long polling one process receives, Telegram redelivers nothing it was not asked for again,
and an update that never opens a unit is not recorded (no write for a read).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy import Delete, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import metrics
from bot.transactions.coalescing import Coalescer
from bot.transactions.unit_of_work import UnitOfWork
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

_RECORDED = "signaldesk.update_recorded"


def _expired(now: datetime) -> Delete:
    """Forget the update records older than KEEP."""
    return delete(_TABLE).where(_TABLE.c.processed_at < now - KEEP)


class AlreadyHandledError(Exception):
    """This update's changes were committed by an earlier delivery of it."""


class UpdateWork(UnitOfWork):
    """The unit of work of one update: its first committed unit records the update."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        update_id: int | None,
        *,
        prune: bool = False,
    ) -> None:
        super().__init__(session_factory)
        self._update_id = update_id
        self._prune = prune
        self._untracked = UnitOfWork(session_factory)

    @property
    def untracked(self) -> UnitOfWork:
        """Units for work that is not the update's own (registering its user): they do
        not record it, so its own changes still commit together with the record."""
        return self._untracked

    async def _began(self, session: AsyncSession) -> None:
        """The unit's first statement: record the update (or find it recorded, and roll
        the unit back). Its changes and the record commit together."""
        if self._update_id is None:
            return
        now = datetime.now(UTC)
        connection = await session.connection()
        if self._prune:
            await connection.execute(_expired(now))
        result = await connection.execute(
            _RECORD[connection.dialect.name], {"update_id": self._update_id, "processed_at": now}
        )
        if result.scalar() is None:
            raise AlreadyHandledError(self._update_id)
        session.info[_RECORDED] = True

    def _committed(self, session: AsyncSession) -> None:
        if session.info.pop(_RECORDED, False):  # committed with the update's record
            self._update_id = None

    @property
    def unrecorded(self) -> int | None:
        """The update's id while no unit of its own has recorded it, else None."""
        return self._update_id

    @property
    def prune(self) -> bool:
        return self._prune


class UpdateRecords:
    """Webhook mode's look-ups and records of update ids: those of the updates arriving
    together take one statement each (bot.transactions.coalescing), not a transaction per
    update."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._unit = UnitOfWork(session_factory)
        self._seen: Coalescer[int, None, bool] = Coalescer(self._seen_all)
        self._recorded: Coalescer[int, bool, bool] = Coalescer(self._record_all)

    async def seen(self, update_id: int) -> bool:
        """Whether a delivery of this update has been recorded already."""
        return await self._seen(update_id, None)

    async def record(self, update_id: int, *, prune: bool = False) -> bool:
        """Record the update; False when another delivery of it got there first."""
        return await self._recorded(update_id, prune)

    async def _seen_all(self, update_ids: Mapping[int, None]) -> dict[int, bool]:
        async with self._unit.reading() as session:
            found = set(
                await session.scalars(
                    select(_TABLE.c.update_id).where(_TABLE.c.update_id.in_(list(update_ids)))
                )
            )
        return {update_id: update_id in found for update_id in update_ids}

    async def _record_all(self, prunes: Mapping[int, bool]) -> dict[int, bool]:
        now = datetime.now(UTC)
        rows = [{"update_id": update_id, "processed_at": now} for update_id in prunes]
        async with self._unit() as session:
            connection = await session.connection()
            if any(prunes.values()):
                await connection.execute(_expired(now))
            result = await connection.execute(_RECORD[connection.dialect.name], rows)
            recorded = set(result.scalars())
        return {update_id: update_id in recorded for update_id in prunes}


class UnitOfWorkMiddleware(BaseMiddleware):
    """Gives every handler `uow`, and skips an update whose changes are already in; with
    `every_update` (webhook mode) every update is recorded and skipped if seen before."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], *, every_update: bool = False
    ) -> None:
        self._session_factory = session_factory
        self._records = UpdateRecords(session_factory) if every_update else None
        self._last_prune: float | None = None  # the first unit of a run prunes

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        update_id = event.update_id if isinstance(event, Update) else None
        work = data["uow"] = UpdateWork(self._session_factory, update_id, prune=self._prune_due())
        records = self._records
        try:
            if records is not None and update_id is not None and await records.seen(update_id):
                raise AlreadyHandledError(update_id)
            result = await handler(event, data)
            # Recorded once handled, unless a unit of the update's own did it already.
            unrecorded = work.unrecorded
            if (
                records is not None
                and unrecorded is not None
                and not await records.record(unrecorded, prune=work.prune)
            ):
                raise AlreadyHandledError(update_id)
            if records is None and unrecorded is not None and work.prune:
                self._last_prune = None  # a read wrote nothing: the next update's unit prunes
            return result
        except AlreadyHandledError:
            log.info("update %s was handled before; skipped", update_id)
            metrics.UPDATES.labels("duplicate").inc()
            return None

    def _prune_due(self) -> bool:
        now = time.monotonic()
        # Not `0.0` to start: monotonic time counts from boot, so on a machine up for less
        # than PRUNE_EVERY_SECONDS the first prune would wait.
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY_SECONDS:
            return False
        self._last_prune = now
        return True
