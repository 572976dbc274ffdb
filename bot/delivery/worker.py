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
from bot.delivery.lanes import PaidLane
from bot.delivery.pacing import ChatPace, Pauses, SendPacer
from bot.delivery.plan import GROUP_INTERVAL, Send
from bot.delivery.preparing import Render
from bot.delivery.turn import CHECK_EVERY, STANDBY_POLL, OnlySender, SendingTurn
from bot.delivery.verdicts import OUTCOME_LABELS, Action, Verdict, classify
from bot.notices.outbox import OutboxWakeup
from db.faults import DATABASE_FAULTS, describe_fault
from db.models import OutboxMessage

log = logging.getLogger(__name__)


class Progress(Protocol):
    """Reports broadcasts' progress to their admins (bot.chat.progress_reports)."""

    async def maybe_report(self) -> None: ...


IDLE_POLL_SECONDS = 1.0
DB_RETRY_FIRST = 0.5
DB_RETRY_MAX = 10.0


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
        self._pacer = config.pacer(self._clock)  # the free rate (DELIVERY_RATE)
        # Telegram's paid lane beside it (PAID_BROADCAST): bot.delivery.lanes.
        self._lane = PaidLane(bot, session_factory, config.lanes, self._clock)
        # auto: begin from what was learnt before, keep what is learnt.
        self._rate_memory = learnt_rate.Memory(session_factory, self._pacer, self._now)
        self._pauses = Pauses(self._pacer, self._lane.pacer)  # 429s and Telegram away
        self._wakeup = wakeup or OutboxWakeup()
        self._send_timeout = config.effective_send_timeout
        self._slots = asyncio.Semaphore(config.concurrency)
        self._paid_slots = asyncio.Semaphore(config.paid_concurrency)
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
        await self._writer.settle_before_exit()
        await self._turn.give_up()
        log.info("delivery worker stopped")

    async def _stand_by(self) -> None:
        """Another process sends: save what this one still owes (it may have lost the turn
        mid-batch), and ask for the turn again shortly."""
        await self._writer.settle()
        self._rate_memory.recall_again()  # another sender may have learnt meanwhile
        self._lane.forget()  # ... and sent on the paid lane
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

    # -- one batch --------------------------------------------------------------------------

    async def drain_once(self) -> int:
        """Save what is owed, claim one batch of due rows and try each; returns how many
        rows were claimed. A database fault propagates (run() waits and tries again)."""
        await self._writer.settle()
        await self._rate_memory.recall_if_due()
        await self._lane.refresh()  # the day's book; a closure recorded, the admins told
        claim = await self._claim()
        if self._healthy_since is None:
            self._healthy_since = self._now()
        if claim is None:
            return 0
        try:
            await self._lane.check_balance(claim.rows)
            sends = await self._prepare(claim)
        except BaseException:
            self._writer.owe(claims.give_back(claim, claim.rows, self._now()))
            raise
        await self._send_batch(claim, sends)
        await self._lane.record_closure()
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
                fast=self._lane.claimable(),
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
        """Each lane's sends within its rate, both lanes at once; a lane stops at the first
        reason not to go on, and the rest is given back."""
        paid, free = self._lane.split(sends)
        lanes = await asyncio.gather(
            self._send_lane(claim, paid, self._lane.pacer, paid=True),
            self._send_lane(claim, free, self._pacer, paid=False),
        )
        now = self._now()
        back = [
            w
            for rows, s in lanes
            for w in claims.give_back(claim, rows, now + timedelta(seconds=s))
        ]
        if back:
            self._writer.owe(back)
            await self._writer.settle()

    async def _send_lane(
        self, claim: Claim, sends: list[Send], pacer: SendPacer, *, paid: bool
    ) -> tuple[list[OutboxMessage], float]:
        """One lane's sends; returns the rows not sent and when they are due again."""
        tasks: list[asyncio.Task[None]] = []
        slots = self._paid_slots if paid else self._slots
        for index, send in enumerate(sends):
            why = self._why_not_send(claim, pacer, paid)
            if why is None:
                await slots.acquire()
                await pacer.acquire()
                why = self._why_not_send(claim, pacer, paid)  # the wait may have been long
                if why is None and not await self._still_our_turn():
                    why = 0.0  # another process sends now: it may take these at once
                if why is not None:
                    slots.release()
            if why is not None:
                if paid:
                    self._lane.unsent(len(sends) - index)
                await asyncio.gather(*tasks)
                return [s.row for s in sends[index:]], why
            task = asyncio.create_task(self._deliver(send, claim, paid))
            task.add_done_callback(lambda _t: slots.release())
            tasks.append(task)
        await asyncio.gather(*tasks)
        return [], 0.0

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

    def _why_not_send(self, claim: Claim, pacer: SendPacer, paid: bool) -> float | None:
        """None to go on; else stop, giving the rest back to be due in that many seconds."""
        if self._stopping.is_set() or self.owed or (paid and self._lane.refusing):
            return 0.0  # stopping, the database failed, or Telegram refused a paid send
        paused = pacer.paused_for()
        if paused > 0:
            return paused  # a 429 or Telegram unreachable: nobody sends them before then
        if (
            claim.deadline - self._clock.monotonic()
            < self._send_timeout + self._config.lease_margin
        ):
            return 0.0  # the lease might run out during the send
        return None

    # -- one send ---------------------------------------------------------------------------

    async def _deliver(self, send: Send, claim: Claim, paid: bool) -> None:
        row = send.row
        started = self._chats.note(row.chat_id)
        self._requests += 1
        try:
            message = await self._send(send, paid)
        except Exception as error:
            if not isinstance(error, AiogramError):
                log.exception("sending outbox row %s failed unexpectedly", row.id)
            if paid:
                self._lane.answered(sent=False)
            if paid and self._lane.refused(error):  # not delivered: it goes free, at once
                outcome = writes.released(row.id, claim.lease_until, self._now())
            else:
                outcome = self._after_failure(classify(error), send, claim, started, paid)
        else:
            metrics.SENDS.labels("sent").inc()
            self._pauses.unavailable.reset()
            if paid:
                self._lane.answered(sent=True)
            else:
                self._pacer.sent(started)
            metrics.DELIVERY_RATE.set(self._pacer.rate)
            outcome = writes.sent(row.id, message.message_id, self._now(), paid=paid)
        if not await self._writer.record(outcome):
            self._healthy_since = None  # owed now; the batch stops at the next send

    def _after_failure(
        self, verdict: Verdict, send: Send, claim: Claim, started: float, paid: bool
    ) -> list[writes.Write]:
        metrics.SENDS.labels(OUTCOME_LABELS[verdict.action]).inc()
        paused = verdict.action in (Action.PAUSE, Action.UNAVAILABLE)
        pause = self._pauses.after(verdict, started, paid=paid) if paused else 0.0
        return writes.after_failure(verdict, send.row, claim.lease_until, self._now(), pause)

    async def _send(self, send: Send, paid: bool) -> Message:
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
                allow_paid_broadcast=True if paid else None,
                disable_notification=True if send.silent else None,
                request_timeout=self._send_timeout,
            )
        finally:
            self._requests -= 1
            self._writer.commit_now_if_none_can_join()
