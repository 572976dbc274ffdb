"""The delivery worker: sends outbox rows to Telegram within the rate budget, with retries.

Every message the product sends goes through here. What it promises:

- Nothing is lost. Rows are claimed under a lease committed before anything is sent; a
  crash leaves them claimable again once the lease runs out.
- Nothing is sent twice, except the sends in flight at a hard kill (Telegram has no
  idempotency key). A send is recorded, with Telegram's message id, the moment Telegram
  answers (bot.delivery.outcomes), and each send waits for its record. When a record
  cannot be saved (the database went away) the worker sends nothing more, keeps what it
  owes and saves it first when the database is back.
- A worker never sends a row whose lease it may no longer hold: before each send it checks
  that the lease outlasts the send's timeout; rows it cannot send in time (a stop, a 429
  pause, Telegram unreachable, a database fault) are given back, not kept.
- Every outcome of a send is classified (bot.delivery.verdicts) and acted on.
- A worker that has just seen the database come back waits RECLAIM_QUIET before taking
  over rows other workers claimed and did not finish: a worker holding unsaved records of
  sends it made gets to save them first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import AiogramError
from aiogram.types import Message, ReplyParameters
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import metrics
from bot.core.clock import Clock, SystemClock
from bot.delivery import claims, learnt_rate, preparing
from bot.delivery import outcomes as writes
from bot.delivery.claims import Claim
from bot.delivery.config import WorkerConfig
from bot.delivery.pacing import ChatPace, SendPacer, UnavailableBackoff
from bot.delivery.plan import GROUP_INTERVAL, Send
from bot.delivery.preparing import Render
from bot.delivery.turn import CHECK_EVERY, STANDBY_POLL, OnlySender, SendingTurn
from bot.delivery.verdicts import Action, Verdict, classify
from bot.notices.outbox import OutboxWakeup
from db.faults import DATABASE_FAULTS, describe_fault
from db.models import OutboxMessage, Priority

log = logging.getLogger(__name__)


class Progress(Protocol):
    """Reports broadcasts' progress to their admins (bot.chat.progress_reports)."""

    async def maybe_report(self) -> None: ...


IDLE_POLL_SECONDS = 1.0
DB_RETRY_FIRST = 0.5
DB_RETRY_MAX = 10.0
SETTLE_ON_STOP_SECONDS = 10.0


# What /metrics calls a failed send, by what the worker does about it.
_SEND_OUTCOMES = {
    Action.PAUSE: "throttled",
    Action.UNAVAILABLE: "unavailable",
    Action.RETRY: "retry",
    Action.BLOCKED: "blocked",
    Action.FAIL: "failed",
    Action.MIGRATE: "migrated",
}


class DeliveryWorker:
    """Claims due outbox rows under a lease, sends them, and records the outcome."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        render: Render,
        config: WorkerConfig,
        *,
        wakeup: OutboxWakeup | None = None,
        clock: Clock | None = None,
        progress: Progress | None = None,
        turn: SendingTurn | None = None,
        chat_pace: ChatPace | None = None,
    ) -> None:
        self._bot = bot
        self._session_factory = session_factory
        self._render = render  # kind and params -> words and buttons (the chat's texts)
        self._config = config
        # One process at a time sends for the bot (bot.delivery.turn says why); asked
        # again every CHECK_EVERY seconds while a batch is being sent.
        self._turn = turn or OnlySender()
        self._turn_asked: float | None = None  # when run() last heard it is ours
        self._turn_lost = False  # found gone mid-batch: no progress edit after it
        # The admins' progress messages, edited between batches by the worker that has
        # the sending turn (bot.chat.progress_reports says why only one edits).
        self.progress = progress
        self._clock = clock or SystemClock()
        self._now = self._clock.now
        self._pacer = config.pacer(self._clock)
        # auto: begin from what was learnt before, keep what is learnt.
        self._rate_memory = learnt_rate.Memory(session_factory, self._pacer, self._now)
        self._unavailable = UnavailableBackoff()
        self._wakeup = wakeup or OutboxWakeup()
        self._send_timeout = config.effective_send_timeout
        self._slots = asyncio.Semaphore(config.concurrency)
        self._batch = config.claim_size(self._pacer.rate)
        self._healthy_since: datetime | None = self._now()
        self._stopping = asyncio.Event()
        # When each chat was last sent to, by this worker or a handler's reply.
        self._chats = chat_pace or ChatPace(self._clock.monotonic)
        self._requests = 0  # sendMessage calls awaiting Telegram's answer
        self._writer = writes.OutcomeWriter(
            session_factory,
            batch_full=config.concurrency,
            requests_in_flight=lambda: self._requests,
        )

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        return self._session_factory

    @property
    def owed(self) -> int:
        """Outcomes of sends made that the database has not saved yet."""
        return self._writer.owed

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until stop() is called; in-flight sends finish and are recorded first."""
        log.info("delivery worker started")
        delay = DB_RETRY_FIRST
        while not self._stopping.is_set():
            try:
                if not await self._turn.ours():
                    self._turn_asked = None
                    await self._stand_by()
                    continue
                self._turn_asked = self._clock.monotonic()
                self._turn_lost = False
                attempted = await self.pass_once()
                delay = DB_RETRY_FIRST
            except DATABASE_FAULTS as error:
                self._healthy_since = None
                log.warning(
                    "delivery paused: the database failed (%s); %d outcomes to save; "
                    "retrying in %.1f s",
                    describe_fault(error),
                    self.owed,
                    delay,
                )
                await self._sleep(delay)
                delay = min(delay * 2, DB_RETRY_MAX)
                continue
            except Exception:
                log.exception("delivery pass failed; retrying shortly")  # a bug: keep it all
                attempted = 0
            if attempted == 0:
                await self._wakeup.wait(IDLE_POLL_SECONDS)
        await self._settle_before_exit()
        await self._turn.give_up()
        log.info("delivery worker stopped")

    async def _stand_by(self) -> None:
        """Another process sends: save what this one still owes (it may have lost the turn
        mid-batch), and ask for the turn again shortly."""
        await self._writer.settle()
        self._rate_memory.recall_again()  # another sender may have learnt meanwhile
        await self._sleep(STANDBY_POLL)

    async def pass_once(self) -> int:
        """Wait out a pause, then one claim and its sends; returns how many were claimed."""
        paused = self._pacer.paused_for()
        if paused > 0:
            await self._sleep(paused)
        attempted = await self.drain_once()
        if self.progress is not None and not self._turn_lost:
            await self.progress.maybe_report()  # the turn's holder edits, no one else
        return attempted

    @property
    def pacer(self) -> SendPacer:
        """The rate budget; other senders in this process (premium chat removals) share it."""
        return self._pacer

    def stop(self) -> None:
        self._stopping.set()
        self._wakeup.notify()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once for stop()."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return

    async def _settle_before_exit(self) -> None:
        """A graceful stop during an outage: the owed records still get their chance."""
        deadline = time.monotonic() + SETTLE_ON_STOP_SECONDS
        while self.owed and time.monotonic() < deadline:
            try:
                await self._writer.settle()
            except DATABASE_FAULTS:
                await asyncio.sleep(DB_RETRY_FIRST)
        if self.owed:
            log.error(
                "stopped with %d delivery outcomes unsaved (the database is down); those "
                "rows will be sent again after their lease",
                self.owed,
            )

    # -- one batch --------------------------------------------------------------------------

    async def drain_once(self) -> int:
        """Save what is owed, claim one batch of due rows and try each; returns how many
        rows were claimed. A database fault propagates (run() waits and tries again)."""
        await self._writer.settle()
        await self._rate_memory.recall_if_due()
        claim = await self._claim()
        if self._healthy_since is None:
            self._healthy_since = self._now()
        if claim is None:
            return 0
        try:
            sends = await self._prepare(claim)
        except BaseException:
            self._writer.owe(self._give_back_writes(claim, claim.rows, 0.0))
            raise
        await self._send_batch(claim, sends)
        await self._rate_memory.remember()
        return len(claim.rows)

    async def _claim(self) -> Claim | None:
        now = self._now()
        # Rows another worker abandoned wait RECLAIM_QUIET after a recovery (the module's
        # docstring says why).
        reclaim = self._healthy_since is not None and (
            now - self._healthy_since >= self._config.reclaim_quiet
        )
        async with self._session_factory() as session, session.begin():
            return await claims.claim_due(
                session,
                now=now,
                lease=self._config.lease,
                limit=self._batch,
                reclaim=reclaim,
                monotonic=self._clock.monotonic(),
            )

    async def _prepare(self, claim: Claim) -> list[Send]:
        """Decide what is sent now, what waits and what is skipped; record the last two."""
        clock = self._clock.monotonic()
        async with self._session_factory() as session, session.begin():
            sends = await preparing.prepare(
                session,
                claim,
                render=self._render,
                last_sent=self._chats.last_sent,
                default_language=self._config.default_language,
                now=self._now(),
                clock=clock,
            )
        self._chats.forget_before(clock - GROUP_INTERVAL)  # the longest a chat waits
        return sends

    async def _send_batch(self, claim: Claim, sends: list[Send]) -> None:
        """Send within the rate; stop at the first reason not to, and give the rest back."""
        tasks: list[asyncio.Task[None]] = []
        unsent: list[Send] = []
        give_back_after = 0.0
        for index, send in enumerate(sends):
            why = self._why_not_send(claim)
            if why is None:
                await self._slots.acquire()
                await self._pacer.acquire()
                why = self._why_not_send(claim)  # the wait may have been long
                if why is None and not await self._still_our_turn():
                    why = 0.0  # another process sends now: it may take these at once
                if why is not None:
                    self._slots.release()
            if why is not None:
                unsent, give_back_after = sends[index:], why
                break
            task = asyncio.create_task(self._deliver(send, claim))
            task.add_done_callback(lambda _t: self._slots.release())
            tasks.append(task)
        if tasks:
            await asyncio.gather(*tasks)
        if unsent:
            self._writer.owe(
                self._give_back_writes(claim, [s.row for s in unsent], give_back_after)
            )
            await self._writer.settle()

    async def _still_our_turn(self) -> bool:
        """Whether this process still has the sending turn (asked at most every
        CHECK_EVERY seconds: a holder that lost its session stops within that). A batch
        sent by a direct drain_once(), outside run()'s turns, is not asked about."""
        now = self._clock.monotonic()
        if self._turn_asked is None or now - self._turn_asked < CHECK_EVERY:
            return True
        self._turn_asked = now
        if await self._turn.ours():
            return True
        self._turn_lost = True
        return False

    def _why_not_send(self, claim: Claim) -> float | None:
        """None to go on; else stop, giving the rest back to be due in that many seconds."""
        if self._stopping.is_set() or self.owed:
            return 0.0  # stopping, or the database failed: others may take them at once
        paused = self._pacer.paused_for()
        if paused > 0:
            return paused  # a 429 or Telegram unreachable: nobody sends them before then
        if (
            claim.deadline - self._clock.monotonic()
            < self._send_timeout + self._config.lease_margin
        ):
            return 0.0  # the lease might run out during the send
        return None

    def _give_back_writes(
        self, claim: Claim, rows: list[OutboxMessage], after: float
    ) -> list[writes.Write]:
        return claims.give_back(claim, rows, self._now() + timedelta(seconds=after))

    # -- one send ---------------------------------------------------------------------------

    async def _deliver(self, send: Send, claim: Claim) -> None:
        row = send.row
        started = self._chats.note(row.chat_id)
        self._requests += 1
        try:
            message = await self._send(send)
        except Exception as error:
            if not isinstance(error, AiogramError):
                log.exception("sending outbox row %s failed unexpectedly", row.id)
            verdict = classify(error)
            metrics.SENDS.labels(_SEND_OUTCOMES[verdict.action]).inc()
            paused = verdict.action in (Action.PAUSE, Action.UNAVAILABLE)
            pause = self._pause_all(verdict, started) if paused else 0.0
            outcome = writes.after_failure(verdict, row, claim.lease_until, self._now(), pause)
        else:
            metrics.SENDS.labels("sent").inc()
            self._unavailable.reset()
            self._pacer.sent(started)
            metrics.DELIVERY_RATE.set(self._pacer.rate)
            outcome = writes.sent(row.id, message.message_id, self._now())
        if not await self._writer.record(outcome):
            self._healthy_since = None  # owed now; the batch stops at the next send

    async def _send(self, send: Send) -> Message:
        row = send.row
        try:
            return await self._bot.send_message(
                chat_id=row.chat_id,
                text=send.text,
                reply_markup=send.markup,
                reply_parameters=(
                    ReplyParameters(message_id=send.reply_to, allow_sending_without_reply=True)
                    if send.reply_to is not None
                    else None
                ),
                allow_paid_broadcast=True
                if self._config.paid_broadcast and row.priority == Priority.BULK
                else None,
                disable_notification=True if send.silent else None,
                request_timeout=self._send_timeout,
            )
        finally:
            self._requests -= 1
            self._writer.commit_now_if_none_can_join()

    def _pause_all(self, verdict: Verdict, started: float) -> float:
        if verdict.action is Action.PAUSE:
            log.warning("429 from Telegram: pausing all sends for %ss", verdict.retry_after)
            self._pacer.throttled(verdict.retry_after, started)
            return verdict.retry_after
        current = self._pacer.paused_for()
        if current > 0:
            return current  # the other sends in flight when it went: one step, not sixteen
        pause = self._unavailable.next_pause()
        self._pacer.pause(pause)
        level = logging.ERROR if verdict.reason.startswith("401") else logging.WARNING
        log.log(
            level,
            "Telegram cannot be used (%s): pausing all sends for %.0f s",
            verdict.reason,
            pause,
        )
        return pause
