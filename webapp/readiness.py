"""Whether this instance can do its work, for GET /readyz (webapp/health.py).

Ready means: the database takes a write (a read alone passed with a full disk or a
read-only file) within READY_TIMEOUT, and Telegram has not been unreachable for more than
TELEGRAM_GRACE. The write is one row, at most once every PROBE_EVERY seconds however often
a load balancer asks; in between, the last answer stands.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table

from bot.telegram.health import TelegramHealth
from bot.transactions.unit_of_work import UnitOfWork
from db.engine import upsert
from db.faults import DATABASE_FAULTS, describe_fault
from db.models import HealthProbe

log = logging.getLogger(__name__)

READY_TIMEOUT = 3.0
TELEGRAM_GRACE = 60.0
PROBE_EVERY = 1.0
_PROBE = cast(Table, HealthProbe.__table__)
_WRITE_PROBE = upsert(_PROBE, _PROBE.c.id, update=["checked_at"])


class Readiness:
    """What stands in the way of serving, if anything."""

    def __init__(self, uow: UnitOfWork, telegram: TelegramHealth) -> None:
        self._uow = uow
        self._telegram = telegram
        self._probed_at = -PROBE_EVERY
        self._database_problem: str | None = None

    async def problem(self) -> str | None:
        database = await self._database()
        if database is not None:
            return database
        away = self._telegram.unreachable_for()
        if away > TELEGRAM_GRACE:
            return f"Telegram has been unreachable for {away:.0f} s"
        return None

    async def _database(self) -> str | None:
        if time.monotonic() - self._probed_at < PROBE_EVERY:
            return self._database_problem
        problem = await self._probe()
        if problem is not None and problem != self._database_problem:
            log.warning("not ready: %s", problem)
        self._probed_at, self._database_problem = time.monotonic(), problem
        return problem

    async def _probe(self) -> str | None:
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                async with self._uow() as session:
                    connection = await session.connection()
                    await connection.execute(
                        _WRITE_PROBE[connection.dialect.name],
                        {"id": 1, "checked_at": datetime.now(UTC)},
                    )
        except TimeoutError:
            return "the database did not answer in time"
        except DATABASE_FAULTS as error:
            return f"the database cannot be written ({describe_fault(error)})"
        return None
