"""The delivery worker: sends outbox rows to Telegram within the rate budget, with retries.

Every message the product sends goes through here. Rows are claimed under a lease and the
claim is committed before anything is sent, so a crash leaves them claimable again once the
lease runs out: nothing is lost. A row is marked sent, with Telegram's message id, straight
after Telegram answers; only a crash in that gap (or a timeout that did deliver) can send a
message twice, and the row's single message id records what the engine knows it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup, Message, ReplyParameters
from sqlalchemy import ColumnElement, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import access
from bot.services.outbox import OutboxSignal
from bot.services.progress import ProgressReporter
from db.models import OutboxMessage, OutboxStatus, Priority, User

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)
BATCH = 500
CONCURRENCY = 16  # sends in flight
CLAIM_WINDOW_SECONDS = 2.0
IDLE_POLL_SECONDS = 1.0
PER_CHAT_INTERVAL = 1.0  # Telegram: about one message per second to the same chat
PAID_BROADCAST_RATE = 1000.0
# Kinds only subscribers with access may receive; checked again at send time.
PREMIUM_KINDS = frozenset({"signal", "signal_update"})
ORIGINAL_WAIT = timedelta(seconds=2)
# How long a finished send waits for others to share its "sent" commit (see _mark_sent).
ACK_LINGER = 0.005


# One executemany UPDATE for the sends of a group commit (Core: the ORM's bulk UPDATE by
# primary key takes literal values only, and attempts is incremented in SQL as before).
_OUTBOX = OutboxMessage.__table__
_MARK_SENT = (
    update(_OUTBOX)  # type: ignore[arg-type]
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(
        status=OutboxStatus.SENT,
        telegram_message_id=bindparam("message_id"),
        sent_at=bindparam("sent_at"),
        attempts=_OUTBOX.c.attempts + 1,
        lease_until=None,
        last_error=None,
    )
)


def _this_and_queued(row: OutboxMessage) -> ColumnElement[bool]:
    """The row being sent and everything still queued for the same chat."""
    return and_(
        OutboxMessage.chat_id == row.chat_id,
        or_(OutboxMessage.id == row.id, OutboxMessage.status == OutboxStatus.PENDING),
    )


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 ... seconds, capped at 10 minutes."""
    return timedelta(seconds=min(2**attempts, 600))


class RateLimiter:
    """Spaces sends evenly at `rate` per second; `pause` honours a 429's retry_after."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, self._clock() + seconds)

    async def acquire(self) -> None:
        # Reserve a slot first, then sleep until it: concurrent callers queue in order.
        now = self._clock()
        slot = max(self._next, now)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)


@dataclass(slots=True)
class _Send:
    row: OutboxMessage
    reply_to: int | None


class DeliveryWorker:
    """Claims due outbox rows under a lease, sends them, and records the outcome."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        rate: float,
        paid_broadcast: bool = False,
        signal: OutboxSignal | None = None,
        send_timeout: int = 15,
        concurrency: int = CONCURRENCY,
        batch: int = BATCH,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress_interval: float = 2.0,
        reports_progress: bool = True,
    ) -> None:
        self._bot = bot
        # One process edits the admins' progress messages (the web process's worker):
        # several editing the same message could leave an older count showing last.
        self._reports_progress = reports_progress
        self._session_factory = session_factory
        self._paid = paid_broadcast
        self._limiter = RateLimiter(max(rate, PAID_BROADCAST_RATE) if paid_broadcast else rate)
        self._signal = signal or OutboxSignal()
        self._send_timeout = send_timeout
        self._slots = asyncio.Semaphore(concurrency)
        # Claim about CLAIM_WINDOW's worth of sends at the rate. A claim must be sent well
        # within its lease, or another worker could take the same rows back; and a claim is
        # one transaction on the database's (on SQLite: the only) connection, which the
        # webhooks wait for: 500 rows held it ~70 ms, the webhook bench's whole p99 tail.
        self._batch = max(1, min(batch, int(self._limiter.rate * CLAIM_WINDOW_SECONDS)))
        self._now = now
        self._stopping = asyncio.Event()
        # When each chat was last sent to, oldest first; only the last second matters, so
        # it holds about `rate` chats, not every subscriber (20,000 entries were ~2 MB).
        self._last_sent: OrderedDict[int, float] = OrderedDict()
        # Group commit of "sent" marks: see _mark_sent.
        self._concurrency = concurrency
        self._acks: list[dict[str, object]] = []
        self._acks_committed: asyncio.Future[None] | None = None
        self._acks_full = asyncio.Event()
        self._requests = 0  # sendMessage calls awaiting Telegram's answer
        self._ack_commits: set[asyncio.Task[None]] = set()  # the loop keeps weak refs only
        self.progress = ProgressReporter(bot, session_factory, interval=progress_interval, now=now)

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        return self._session_factory

    async def run(self) -> None:
        """Deliver until stop() is called; in-flight sends finish before it returns."""
        log.info("delivery worker started")
        while not self._stopping.is_set():
            try:
                attempted = await self.drain_once()
                if self._reports_progress:
                    await self.progress.maybe_report()
            except Exception:
                # The worker must outlive a database hiccup; the rows stay in the outbox.
                log.exception("delivery pass failed; retrying shortly")
                attempted = 0
            if attempted == 0:
                await self._signal.wait(IDLE_POLL_SECONDS)
        log.info("delivery worker stopped")

    def stop(self) -> None:
        self._stopping.set()
        self._signal.notify()

    async def drain_once(self) -> int:
        """Claim one batch of due rows and try each; returns how many were claimed."""
        rows = await self._claim()
        if not rows:
            return 0
        sends = await self._prepare(rows)
        tasks: list[asyncio.Task[None]] = []
        for send in sends:
            if self._stopping.is_set():
                break  # unsent rows keep their lease and are picked up after it
            await self._slots.acquire()
            await self._limiter.acquire()
            task = asyncio.create_task(self._deliver(send))
            task.add_done_callback(lambda _t: self._slots.release())
            tasks.append(task)
        if tasks:
            await asyncio.gather(*tasks)
        return len(rows)

    async def _claim(self) -> list[OutboxMessage]:
        now = self._now()
        async with self._session_factory() as session, session.begin():
            ids = list(
                await session.scalars(
                    select(OutboxMessage.id)
                    .where(
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.next_attempt_at <= now,
                        or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
                    )
                    .order_by(OutboxMessage.priority, OutboxMessage.id)
                    .limit(self._batch)
                    # Several workers on PostgreSQL each take different rows.
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return []
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(lease_until=now + LEASE)
            )
            rows = await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .order_by(OutboxMessage.priority, OutboxMessage.id)
            )
            return list(rows)

    async def _prepare(self, rows: list[OutboxMessage]) -> list[_Send]:
        """Decide, for a claimed batch, what is sent now, what waits and what is skipped."""
        now = self._now()
        clock = time.monotonic()
        premium = [row.chat_id for row in rows if row.kind in PREMIUM_KINDS]
        sends: list[_Send] = []
        later: dict[int, tuple[datetime, str]] = {}
        skipped: dict[int, str] = {}
        async with self._session_factory() as session, session.begin():
            allowed = await access.with_access(session, premium, now) if premium else set()
            originals = await self._originals(session, rows)
            batch_chats: set[int] = set()
            for row in rows:
                if row.kind in PREMIUM_KINDS and row.chat_id not in allowed:
                    skipped[row.id] = "no access at send time"
                    continue
                reply_to = None
                if row.reply_to_outbox_id is not None:
                    status, message_id = originals.get(row.reply_to_outbox_id, (None, None))
                    if status == OutboxStatus.PENDING:
                        later[row.id] = (now + ORIGINAL_WAIT, "waiting for the original")
                        continue
                    if status != OutboxStatus.SENT or message_id is None:
                        skipped[row.id] = "the original message was not delivered"
                        continue
                    reply_to = message_id
                last = self._last_sent.get(row.chat_id)
                if row.chat_id in batch_chats or (
                    last is not None and clock - last < PER_CHAT_INTERVAL
                ):
                    # One message per second per chat; the next one waits its turn.
                    later[row.id] = (now + timedelta(seconds=PER_CHAT_INTERVAL), "per-chat limit")
                    continue
                batch_chats.add(row.chat_id)
                sends.append(_Send(row, reply_to))
            for row_id, reason in skipped.items():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id)
                    .values(status=OutboxStatus.SKIPPED, lease_until=None, last_error=reason)
                )
            for row_id, (when, reason) in later.items():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id)
                    .values(next_attempt_at=when, lease_until=None, last_error=reason)
                )
        self._forget_sends_before(clock - PER_CHAT_INTERVAL)
        return sends

    def _forget_sends_before(self, moment: float) -> None:
        while self._last_sent:
            chat, at = next(iter(self._last_sent.items()))
            if at >= moment:
                return
            del self._last_sent[chat]

    async def _originals(
        self, session: AsyncSession, rows: list[OutboxMessage]
    ) -> dict[int, tuple[str, int | None]]:
        ids = [row.reply_to_outbox_id for row in rows if row.reply_to_outbox_id is not None]
        if not ids:
            return {}
        result = await session.execute(
            select(
                OutboxMessage.id, OutboxMessage.status, OutboxMessage.telegram_message_id
            ).where(OutboxMessage.id.in_(ids))
        )
        return {row.id: (row.status, row.telegram_message_id) for row in result}

    async def _deliver(self, send: _Send) -> None:
        row = send.row
        markup = (
            InlineKeyboardMarkup.model_validate(row.reply_markup) if row.reply_markup else None
        )
        self._last_sent[row.chat_id] = time.monotonic()
        self._last_sent.move_to_end(row.chat_id)
        self._requests += 1
        try:
            message = await self._send(send, markup)
        except TelegramRetryAfter as error:
            # Telegram asks every sender to pause; the row goes back to the queue untouched.
            log.warning("429 from Telegram: pausing all sends for %ss", error.retry_after)
            self._limiter.pause(error.retry_after)
            await self._reschedule(
                row, timedelta(seconds=error.retry_after), count=False, error="429 retry_after"
            )
        except TelegramForbiddenError as error:
            await self._blocked(row, f"403 {error.message}")
        except TelegramMigrateToChat as error:
            await self._migrate(row, error.migrate_to_chat_id)
        except TelegramBadRequest as error:
            await self._fail(row, f"400 {error.message}")
        except (TelegramServerError, TelegramNetworkError) as error:
            # A timeout may still have delivered; Telegram offers no way to know. Retrying is
            # the lesser evil: a missing stop-loss alert costs more than a repeated one.
            await self._reschedule(
                row, backoff(row.attempts + 1), count=True, error=type(error).__name__
            )
        else:
            await self._mark_sent(row, message.message_id)

    async def _send(self, send: _Send, markup: InlineKeyboardMarkup | None) -> Message:
        row = send.row
        try:
            return await self._bot.send_message(
                chat_id=row.chat_id,
                text=row.text,
                reply_markup=markup,
                reply_parameters=(
                    ReplyParameters(message_id=send.reply_to, allow_sending_without_reply=True)
                    if send.reply_to is not None
                    else None
                ),
                allow_paid_broadcast=True
                if self._paid and row.priority == Priority.BULK
                else None,
                request_timeout=self._send_timeout,
            )
        finally:
            self._requests -= 1
            self._commit_marks_if_none_can_join()

    async def _mark_sent(self, row: OutboxMessage, message_id: int) -> None:
        """Record the send; returns once it is committed.

        Group commit: the marks of sends that finish within ACK_LINGER of each other are
        written in one transaction. One transaction per mark cost about 0.5-1 ms of CPU on
        SQLite and capped delivery well under 1,000/s. Every send still waits for its own
        mark, holding its concurrency slot, so a crash leaves at most `concurrency` sends
        unrecorded; the batch goes at once when every slot is waiting, or when no request
        is still out to join it (at Telegram's rates, nearly always: no linger at all).
        """
        self._acks.append({"row_id": row.id, "message_id": message_id, "sent_at": self._now()})
        committed = self._acks_committed
        if committed is None:
            committed = self._acks_committed = asyncio.get_running_loop().create_future()
            self._acks_full.clear()
            task = asyncio.create_task(self._commit_acks(committed))
            self._ack_commits.add(task)
            task.add_done_callback(self._ack_commits.discard)
        self._commit_marks_if_none_can_join()
        # shield: a cancelled waiter must not cancel the commit the others wait for.
        await asyncio.shield(committed)

    def _commit_marks_if_none_can_join(self) -> None:
        """End the linger when every send in flight waits for this commit, or no request is
        left out that could join it (at Telegram's rates, the usual case). The sooner a send
        is recorded, the fewer a crash leaves sent but unrecorded, to be sent again."""
        if self._acks and (len(self._acks) >= self._concurrency or self._requests == 0):
            self._acks_full.set()

    async def _commit_acks(self, committed: asyncio.Future[None]) -> None:
        """Wait ACK_LINGER (or until every slot waits), then commit the marks gathered."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._acks_full.wait(), ACK_LINGER)
        batch, self._acks, self._acks_committed = self._acks, [], None
        try:
            async with self._session_factory() as session, session.begin():
                connection = await session.connection()
                await connection.execute(_MARK_SENT, batch)
        except asyncio.CancelledError:
            committed.cancel()
            raise
        except Exception as error:
            committed.set_exception(error)  # every send in the batch fails with it
        else:
            committed.set_result(None)

    async def _reschedule(
        self, row: OutboxMessage, delay: timedelta, *, count: bool, error: str
    ) -> None:
        attempts = row.attempts + (1 if count else 0)
        if attempts >= MAX_ATTEMPTS:
            await self._fail(row, f"gave up after {attempts} attempts: {error}")
            return
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    attempts=attempts,
                    next_attempt_at=self._now() + delay,
                    lease_until=None,
                    last_error=error,
                )
            )

    async def _fail(self, row: OutboxMessage, error: str) -> None:
        log.info("outbox row %s to chat %s failed: %s", row.id, row.chat_id, error)
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status=OutboxStatus.FAILED,
                    attempts=row.attempts + 1,
                    lease_until=None,
                    last_error=error,
                )
            )

    async def _blocked(self, row: OutboxMessage, error: str) -> None:
        """The user blocked the bot: stop sending to them until they /start again."""
        log.info("chat %s blocked the bot", row.chat_id)
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(User).where(User.id == row.chat_id).values(blocked_at=self._now())
            )
            await session.execute(
                update(OutboxMessage)
                .where(_this_and_queued(row))
                .values(status=OutboxStatus.BLOCKED, lease_until=None, last_error=error)
            )

    async def _migrate(self, row: OutboxMessage, new_chat_id: int) -> None:
        """A group became a supergroup: follow it, for this row and the ones queued."""
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(_this_and_queued(row))
                .values(chat_id=new_chat_id, lease_until=None, last_error="migrated")
            )
