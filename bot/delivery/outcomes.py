"""How the delivery worker records what happened to each send: group-committed, and never
forgotten when the database is down.

Every outcome (sent with its message id, rescheduled, failed, blocked, migrated, given
back) is a prebuilt statement with its parameters. The outcomes of sends that finish
within ACK_LINGER of each other are committed in one transaction, and each send waits for
its own: a crash leaves at most the sends in flight unrecorded. When a commit fails (the
database went away) its outcomes are kept as *owed* and go first into every later commit;
the worker sends nothing more until they are saved. Without that, rows whose "sent" mark
was lost were claimed again after their lease and sent twice. The group commit is the
webhooks' own (bot.transactions.group_commit), with a linger.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Executable, Table, and_, bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.delivery.pacing import backoff
from bot.delivery.verdicts import Action, Verdict
from bot.transactions import commit_events
from bot.transactions.group_commit import GroupCommit, ShutDownError
from db.faults import DATABASE_FAULTS
from db.models import OutboxMessage, OutboxStatus, User

# How long a finished send waits for others to share its commit. One transaction per
# mark cost about 0.5-1 ms of CPU on SQLite and capped delivery well under 1,000/s.
log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # sends of one message that fail with a retryable error, then it fails
ACK_LINGER = 0.005
SETTLE_ON_STOP_SECONDS = 10.0

Write = tuple[Executable, dict[str, Any]]
# What leaves outcomes owed: the database failed, or the process stopped under the commit.
_SAVE_FAULTS: tuple[type[BaseException], ...] = (*DATABASE_FAULTS, ShutDownError)

_OUTBOX = cast(Table, OutboxMessage.__table__)
_USERS = cast(Table, User.__table__)
_ROW = _OUTBOX.c.id == bindparam("row_id")
# Rows still ours: pending, under the lease this worker's claim wrote. A worker that lost
# its lease (it was paused longer than the lease) must not undo the new owner's claim.
_OURS = and_(
    _ROW,
    _OUTBOX.c.status == OutboxStatus.PENDING,
    _OUTBOX.c.lease_until == bindparam("lease"),
)
# The row being sent and everything still queued for the same chat.
_CHAT_QUEUE = and_(
    _OUTBOX.c.chat_id == bindparam("chat"),
    or_(_ROW, _OUTBOX.c.status == OutboxStatus.PENDING),
)

MARK_SENT = (
    update(_OUTBOX)
    .where(_ROW)
    .values(
        status=OutboxStatus.SENT,
        telegram_message_id=bindparam("message_id"),
        sent_at=bindparam("at"),
        attempts=_OUTBOX.c.attempts + 1,
        lease_until=None,
        last_error=None,
    )
)
RESCHEDULE = (
    update(_OUTBOX)
    .where(_OURS)
    .values(
        attempts=bindparam("tries"),
        next_attempt_at=bindparam("at"),
        lease_until=None,
        last_error=bindparam("error"),
    )
)
# Sent on the paid lane (allow_paid_broadcast): marked so, which books it (bot.notices.paid
# counts these rows).
MARK_SENT_PAID = MARK_SENT.values(paid=True)
# Given back unsent (a stop, a pause, a database fault): claimable again from `at`.
RELEASE = update(_OUTBOX).where(_OURS).values(next_attempt_at=bindparam("at"), lease_until=None)
FAIL = (
    update(_OUTBOX)
    .where(_ROW)
    .values(
        status=OutboxStatus.FAILED,
        attempts=bindparam("tries"),
        lease_until=None,
        last_error=bindparam("error"),
    )
)
BLOCK_USER = (
    update(_USERS).where(_USERS.c.id == bindparam("chat")).values(blocked_at=bindparam("at"))
)
BLOCK_QUEUE = (
    update(_OUTBOX)
    .where(_CHAT_QUEUE)
    .values(status=OutboxStatus.BLOCKED, lease_until=None, last_error=bindparam("error"))
)
SKIP = (
    update(_OUTBOX)
    .where(_ROW)
    .values(status=OutboxStatus.SKIPPED, lease_until=None, last_error=bindparam("error"))
)
DEFER = (
    update(_OUTBOX)
    .where(_OURS)
    .values(next_attempt_at=bindparam("at"), lease_until=None, last_error=bindparam("error"))
)
MIGRATE_QUEUE = (
    update(_OUTBOX)
    .where(_CHAT_QUEUE)
    .values(chat_id=bindparam("new_chat_id"), lease_until=None, last_error="migrated")
)


def sent(row_id: int, message_id: int, at: datetime, *, paid: bool = False) -> list[Write]:
    """Sent; `paid`: on the paid lane (allow_paid_broadcast), which books it."""
    params = {"row_id": row_id, "message_id": message_id, "at": at}
    return [(MARK_SENT_PAID if paid else MARK_SENT, params)]


def rescheduled(
    row_id: int, lease: datetime, *, attempts: int, at: datetime, error: str
) -> list[Write]:
    params = {"row_id": row_id, "lease": lease, "tries": attempts, "at": at, "error": error}
    return [(RESCHEDULE, params)]


def released(row_id: int, lease: datetime, at: datetime) -> list[Write]:
    return [(RELEASE, {"row_id": row_id, "lease": lease, "at": at})]


def skipped(row_id: int, error: str) -> list[Write]:
    return [(SKIP, {"row_id": row_id, "error": error})]


def deferred(row_id: int, lease: datetime, at: datetime, error: str) -> list[Write]:
    return [(DEFER, {"row_id": row_id, "lease": lease, "at": at, "error": error})]


def failed(row_id: int, *, attempts: int, error: str) -> list[Write]:
    return [(FAIL, {"row_id": row_id, "tries": attempts, "error": error})]


def blocked(row_id: int, chat_id: int, at: datetime, error: str) -> list[Write]:
    return [
        (BLOCK_USER, {"chat": chat_id, "at": at}),
        (BLOCK_QUEUE, {"row_id": row_id, "chat": chat_id, "error": error}),
    ]


def migrated(row_id: int, chat_id: int, new_chat_id: int) -> list[Write]:
    params = {"row_id": row_id, "chat": chat_id, "new_chat_id": new_chat_id}
    return [(MIGRATE_QUEUE, params)]


def after_failure(
    verdict: Verdict, row: OutboxMessage, lease: datetime, now: datetime, pause: float
) -> list[Write]:
    """What to record for a failed send: a 429 or an unreachable Telegram reschedules it
    after the `pause` every send takes (not counted as an attempt: it says nothing about
    this message); a blocked chat or a migrated group is recorded as such; a retryable
    error waits its backoff, up to MAX_ATTEMPTS; the rest fail."""
    if verdict.action in (Action.PAUSE, Action.UNAVAILABLE):
        at = now + timedelta(seconds=pause)
        return rescheduled(row.id, lease, attempts=row.attempts, at=at, error=verdict.reason)
    if verdict.action is Action.BLOCKED:
        log.info("chat %s blocked the bot", row.chat_id)
        return blocked(row.id, row.chat_id, now, verdict.reason)
    if verdict.action is Action.MIGRATE and verdict.migrate_to_chat_id is not None:
        return migrated(row.id, row.chat_id, verdict.migrate_to_chat_id)
    attempts = row.attempts + 1
    if verdict.action is Action.RETRY and attempts < MAX_ATTEMPTS:
        at = now + backoff(attempts)
        return rescheduled(row.id, lease, attempts=attempts, at=at, error=verdict.reason)
    reason = (
        verdict.reason
        if verdict.action is Action.FAIL
        else f"gave up after {attempts} attempts: {verdict.reason}"
    )
    log.info("outbox row %s to chat %s failed: %s", row.id, row.chat_id, reason)
    return failed(row.id, attempts=attempts, error=reason)


class OutcomeWriter:
    """Outcomes group-committed (bot.transactions.group_commit), and the owed ones kept until
    saved."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        batch_full: int,
        requests_in_flight: Callable[[], int],
    ) -> None:
        # The batch goes at once when every send in flight waits for it, or when no
        # request is out that could join it (at Telegram's rates, nearly always): the
        # sooner a send is recorded, the fewer a crash leaves sent but unrecorded.
        self._commit = GroupCommit(
            session_factory,
            linger=ACK_LINGER,
            ready=lambda queued: queued >= batch_full or requests_in_flight() == 0,
        )
        self._session_factory = session_factory
        self._owed: list[Write] = []

    @property
    def owed(self) -> int:
        """Outcomes a failed commit left unsaved."""
        return len(self._owed)

    async def record(self, writes: list[Write]) -> bool:
        """Save outcomes with the next group commit and wait for it; False if it failed
        (they are owed now, and saved by settle())."""
        try:
            await self._commit.run(lambda session: _write(session, writes))
        except _SAVE_FAULTS:
            self._owed.extend(writes)
            return False
        return True

    def owe(self, writes: list[Write]) -> None:
        """Outcomes to save before anything else, without waiting (the database is down)."""
        self._owed.extend(writes)

    async def settle(self) -> None:
        """Save the owed outcomes now; raises the database's error if it still fails."""
        if not self._owed:
            return
        batch, self._owed = self._owed, []
        try:
            async with self._session_factory() as session, session.begin():
                await _write(session, batch)
        except BaseException:
            self._owed = batch + self._owed
            raise

    async def settle_before_exit(self) -> None:
        """A graceful stop during an outage: the owed records still get their chance."""
        deadline = time.monotonic() + SETTLE_ON_STOP_SECONDS
        while self.owed and time.monotonic() < deadline:
            try:
                await self.settle()
            except DATABASE_FAULTS:
                await asyncio.sleep(0.5)
        if self.owed:
            log.error(
                "stopped with %d delivery outcomes unsaved (the database is down); those "
                "rows will be sent again after their lease",
                self.owed,
            )

    def commit_now_if_none_can_join(self) -> None:
        self._commit.nudge()


async def _write(session: AsyncSession, writes: list[Write]) -> None:
    await execute(await session.connection(), writes)
    if any(statement is BLOCK_USER for statement, _ in writes):
        commit_events.mark(session, commit_events.USERS)


async def execute(connection: AsyncConnection, writes: list[Write]) -> None:
    """Run `writes` in order on `connection`; consecutive ones of a kind as one executemany."""
    # Grouped by identity: a SQLAlchemy statement's == builds SQL, it does not compare.
    for _, run in itertools.groupby(writes, key=lambda write: id(write[0])):
        group = list(run)
        await connection.execute(group[0][0], [params for _, params in group])
