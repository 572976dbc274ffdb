"""Whose turn it is to send: one process at a time sends for the bot.

Telegram's limits are the bot's, not a process's: about 30 messages a second in all, and
one a second per chat. Senders in several processes would each need a share of a budget
nobody publishes, and two of them could write to one chat in the same second. So on
PostgreSQL exactly one process sends at a time, and the others stand by: the turn is a
session-level advisory lock (pg_try_advisory_lock) held on a connection of its own. Its
holder has the whole budget, learns the rate once (DELIVERY_RATE=auto) and spaces each
chat's messages exactly; one process sends about 1,200 messages a second (bench.delivery),
forty times what Telegram allows without paid broadcasts, so nothing is lost by not
sharing the sending itself.

When the holder stops, or dies, PostgreSQL ends its session and frees the lock at once;
a process standing by takes the turn within STANDBY_POLL seconds and sends HANDOVER_WAIT
later. The rows the old holder had claimed stay leased until their lease runs out
(bot.delivery.worker), so a holder that lost only its connection and is still sending
cannot be raced.

On SQLite there is one process (python -m bot worker refuses it): the turn is always its.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.faults import DATABASE_FAULTS, describe_fault

log = logging.getLogger(__name__)

# The advisory lock's key: any fixed 64-bit number no other lock in this database uses.
LOCK_KEY = 0x5D_0DE1
# A database fault, or a question about the turn left unanswered past ASK_TIMEOUT.
_FAULTS: tuple[type[Exception], ...] = (*DATABASE_FAULTS, TimeoutError)
STANDBY_POLL = 1.0  # seconds between a standing-by process's tries
# The holder asks again at least this often while it sends (bot.delivery.worker), and
# stops sending when the answer is no.
CHECK_EVERY = 1.0
# A new holder starts sending this long after taking the turn: a holder that lost its
# session has had time to notice and stop, and its last message to a chat is older than
# Telegram's one second (bot.delivery.plan's spacing).
HANDOVER_WAIT = CHECK_EVERY + 1.0
# No question to the database about the turn waits longer than this (a connection whose
# other end has gone silently would otherwise hang the sender).
ASK_TIMEOUT = 5.0
# The turn's connection tells PostgreSQL to give up on a silent client within about 20 s
# (keepalive probes after 10 s idle, 3 s apart; and 20 s for unacknowledged data, which
# keepalives do not cover): a holder whose host vanished frees the lock then, not after
# the operating system's defaults (two hours idle, some fifteen minutes retransmitting).
_KEEPALIVE = (
    text("SET tcp_keepalives_idle = 10"),
    text("SET tcp_keepalives_interval = 3"),
    text("SET tcp_keepalives_count = 3"),
    text("SET tcp_user_timeout = 20000"),
)


class SendingTurn(Protocol):
    async def ours(self) -> bool:
        """True while this process may send (asks the database where there is one)."""
        ...

    async def give_up(self) -> None:
        """Hand the turn on (a graceful stop)."""
        ...


class OnlySender:
    """SQLite: the only process; its turn always."""

    async def ours(self) -> bool:
        return True

    async def give_up(self) -> None:
        return None


class AdvisoryTurn:
    """PostgreSQL: the turn is an advisory lock held by this process's own connection."""

    def __init__(self, engine: AsyncEngine, *, key: int = LOCK_KEY) -> None:
        self._engine = engine
        self._key = key
        self._connection: AsyncConnection | None = None
        self._held = False
        self._sends_from = 0.0  # time.monotonic() after which the holder may send

    async def ours(self) -> bool:
        try:
            held = await asyncio.wait_for(
                self._still_held() if self._held else self._try_take(), ASK_TIMEOUT
            )
            return held and time.monotonic() >= self._sends_from
        except _FAULTS as error:
            if self._held:
                log.warning("delivery: the sending turn is lost (%s)", describe_fault(error))
            await self._drop()
            return False

    async def _try_take(self) -> bool:
        if self._connection is None:
            connection = await self._engine.connect()
            self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for setting in _KEEPALIVE:
                await self._connection.execute(setting)
        taken = await self._connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
        )
        if taken:
            self._held = True
            self._sends_from = time.monotonic() + HANDOVER_WAIT
            log.info("delivery: this process has the sending turn (it sends for the bot)")
        return bool(taken)

    async def _still_held(self) -> bool:
        # The lock lives as long as the session: a query that succeeds proves both.
        assert self._connection is not None
        await self._connection.scalar(text("SELECT 1"))
        return True

    async def give_up(self) -> None:
        if self._held and self._connection is not None:
            try:
                await asyncio.wait_for(
                    self._connection.scalar(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                    ),
                    ASK_TIMEOUT,
                )
            except _FAULTS as error:
                log.warning("delivery: could not hand the turn on (%s)", describe_fault(error))
        await self._drop()

    async def _drop(self) -> None:
        self._held = False
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.invalidate()  # a broken or unlocked session is not pooled again
            await connection.close()
        except DATABASE_FAULTS:
            return


def sending_turn(engine: AsyncEngine) -> SendingTurn:
    """The turn for this engine's database: shared on PostgreSQL, always ours on SQLite."""
    if engine.dialect.name == "sqlite":
        return OnlySender()
    return AdvisoryTurn(engine)
