"""The delivery worker: sends outbox rows to Telegram within the rate budget, with retries."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
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
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.outbox import OutboxSignal
from db.models import OutboxMessage, OutboxStatus, User

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)
BATCH = 100
IDLE_POLL_SECONDS = 1.0


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 ... seconds, capped at 10 minutes."""
    return timedelta(seconds=min(2**attempts, 600))


class RateLimiter:
    """Spaces sends evenly at `rate` per second; `pause_until` honours a 429's retry_after."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, self._clock() + seconds)

    async def acquire(self) -> None:
        now = self._clock()
        if self._next > now:
            await self._sleep(self._next - now)
            now = self._clock()
        self._next = max(self._next, now) + self._interval


class DeliveryWorker:
    """Claims due outbox rows under a lease, sends them, and records the outcome.

    A row is claimed (lease_until set) and committed before it is sent, so a crash leaves
    it claimable again once the lease runs out: nothing is lost.
    """

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        rate: float,
        signal: OutboxSignal | None = None,
        send_timeout: int = 15,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._bot = bot
        self._session_factory = session_factory
        self._limiter = RateLimiter(rate)
        self._signal = signal or OutboxSignal()
        self._now = now
        self._send_timeout = send_timeout
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Deliver until stop() is called."""
        log.info("delivery worker started")
        while not self._stopping.is_set():
            try:
                sent = await self.drain_once()
            except Exception:
                # The worker must outlive a database hiccup; the rows stay in the outbox.
                log.exception("delivery pass failed; retrying shortly")
                sent = 0
            if sent == 0:
                await self._signal.wait(IDLE_POLL_SECONDS)
        log.info("delivery worker stopped")

    def stop(self) -> None:
        self._stopping.set()
        self._signal.notify()

    async def drain_once(self) -> int:
        """Claim one batch of due rows and try each; returns how many were attempted."""
        rows = await self._claim()
        for row in rows:
            if self._stopping.is_set():
                break
            await self._limiter.acquire()
            await self._deliver(row)
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
                    .order_by(OutboxMessage.id)
                    .limit(BATCH)
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
                select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
            )
            return list(rows)

    async def _deliver(self, row: OutboxMessage) -> None:
        markup = (
            InlineKeyboardMarkup.model_validate(row.reply_markup) if row.reply_markup else None
        )
        try:
            message = await self._bot.send_message(
                chat_id=row.chat_id,
                text=row.text,
                reply_markup=markup,
                request_timeout=self._send_timeout,
            )
        except TelegramRetryAfter as error:
            # Telegram asks every sender to pause; the row goes back to the queue untouched.
            self._limiter.pause(error.retry_after)
            await self._reschedule(
                row, timedelta(seconds=error.retry_after), count=False, error="429 retry_after"
            )
        except TelegramForbiddenError as error:
            await self._fail(row, f"403 {error.message}", blocked=True)
        except TelegramMigrateToChat as error:
            await self._migrate(row, error.migrate_to_chat_id)
        except TelegramBadRequest as error:
            await self._fail(row, f"400 {error.message}")
        except (TelegramServerError, TelegramNetworkError) as error:
            # A timeout may still have delivered; Telegram offers no way to know. Retrying is
            # the lesser evil for billing notices, which must not go missing.
            await self._reschedule(
                row, backoff(row.attempts + 1), count=True, error=type(error).__name__
            )
        else:
            await self._mark_sent(row, message.message_id)

    async def _mark_sent(self, row: OutboxMessage, message_id: int) -> None:
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status=OutboxStatus.SENT,
                    telegram_message_id=message_id,
                    sent_at=self._now(),
                    attempts=OutboxMessage.attempts + 1,
                    lease_until=None,
                    last_error=None,
                )
            )

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

    async def _fail(self, row: OutboxMessage, error: str, *, blocked: bool = False) -> None:
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
            if blocked:
                await session.execute(
                    update(User).where(User.id == row.chat_id).values(blocked_at=self._now())
                )

    async def _migrate(self, row: OutboxMessage, new_chat_id: int) -> None:
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(chat_id=new_chat_id, lease_until=None, last_error="migrated")
            )
