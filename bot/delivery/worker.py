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
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from aiogram import Bot
from aiogram.exceptions import AiogramError
from aiogram.types import InlineKeyboardMarkup, Message, ReplyParameters
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts import access, preferences
from bot.core import languages, metrics
from bot.core.clock import Clock, SystemClock
from bot.core.languages import ENGLISH
from bot.delivery import claims, learnt_rate
from bot.delivery import outcomes as writes
from bot.delivery.adaptive import START as START_RATE
from bot.delivery.adaptive import AdaptiveRate
from bot.delivery.claims import Claim
from bot.delivery.pacing import ChatPace, SendPacer, UnavailableBackoff, backoff
from bot.delivery.plan import PER_CHAT_INTERVAL, PREMIUM_KINDS, Send, plan_batch
from bot.delivery.turn import CHECK_EVERY, STANDBY_POLL, OnlySender, SendingTurn
from bot.delivery.verdicts import Action, Verdict, classify
from bot.notices.outbox import OutboxWakeup
from db.faults import DATABASE_FAULTS, describe_fault
from db.models import OutboxMessage, Priority

log = logging.getLogger(__name__)

# An outbox row's words and buttons in a language; the composition root passes the chat's
# renderer.
Render = Callable[[OutboxMessage, str], tuple[str, InlineKeyboardMarkup | None]]


class Progress(Protocol):
    """Reports broadcasts' progress to their admins (bot.chat.progress_reports)."""

    async def maybe_report(self) -> None: ...


MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)
# A send may start only while the lease outlasts its timeout by this much.
LEASE_MARGIN = timedelta(seconds=5)
RECLAIM_QUIET = timedelta(seconds=10)
BATCH = 500
CONCURRENCY = 16  # sends in flight
CLAIM_WINDOW_SECONDS = 2.0
IDLE_POLL_SECONDS = 1.0
PAID_BROADCAST_RATE = 1000.0
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


def _pacer(rate: float | Literal["auto"], paid_broadcast: bool, clock: Clock) -> SendPacer:
    """The rate budget: learnt from Telegram's answers (`auto`), or fixed; paid broadcasts
    may go at Telegram's paid rate."""
    if paid_broadcast:
        fixed = START_RATE if rate == "auto" else rate
        return SendPacer(max(fixed, PAID_BROADCAST_RATE), clock.monotonic, clock.sleep)
    if rate == "auto":
        return SendPacer(START_RATE, clock.monotonic, clock.sleep, adaptive=AdaptiveRate())
    return SendPacer(rate, clock.monotonic, clock.sleep)


class DeliveryWorker:
    """Claims due outbox rows under a lease, sends them, and records the outcome."""

    _remembered: float | None  # the auto ceiling last kept in the database

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        rate: float | Literal["auto"],
        render: Render,
        default_language: str = ENGLISH,
        paid_broadcast: bool = False,
        wakeup: OutboxWakeup | None = None,
        send_timeout: int = 15,
        concurrency: int = CONCURRENCY,
        batch: int = BATCH,
        lease: timedelta = LEASE,
        clock: Clock | None = None,
        progress: Progress | None = None,
        turn: SendingTurn | None = None,
        chat_pace: ChatPace | None = None,
    ) -> None:
        self._bot = bot
        # One process at a time sends for the bot (bot.delivery.turn says why); asked
        # again every CHECK_EVERY seconds while a batch is being sent.
        self._turn = turn or OnlySender()
        self._turn_asked: float | None = None  # when run() last heard it is ours
        self._turn_lost = False  # found gone mid-batch: no progress edit after it
        # auto: begin from what was learnt before, keep what is learnt (_recall_rate).
        self._recall_due, self._remembered = True, None
        self._render = render  # kind and params -> words and buttons (the chat's texts)
        # Each row reads in its recipient's language as of the send, not of the queueing.
        self._default_language = default_language
        # The admins' progress messages, edited between batches by the worker that has
        # the sending turn (bot.chat.progress_reports says why only one edits).
        self.progress = progress
        self._session_factory = session_factory
        self._paid = paid_broadcast
        self._clock = clock or SystemClock()
        self._now = self._clock.now
        self._pacer = _pacer(rate, paid_broadcast, self._clock)
        self._unavailable = UnavailableBackoff()
        self._wakeup = wakeup or OutboxWakeup()
        # A send must fit in the lease with room to spare (see _why_not_send); a short
        # lease (the benchmark's crash variant) gets a short timeout.
        self._send_timeout = max(1, min(send_timeout, int(lease.total_seconds() / 2)))
        self._lease_margin = min(LEASE_MARGIN, lease / 10).total_seconds()
        self._slots = asyncio.Semaphore(concurrency)
        # Claim about CLAIM_WINDOW's worth of sends at the rate. A claim is one transaction
        # on the database's (on SQLite: the only) connection, which the webhooks wait for:
        # 500 rows held it ~70 ms, the webhook bench's whole p99 tail.
        self._batch = max(1, min(batch, int(self._pacer.rate * CLAIM_WINDOW_SECONDS)))
        self._lease = lease
        self._reclaim_quiet = min(RECLAIM_QUIET, lease / 2)
        self._healthy_since: datetime | None = self._now()
        self._stopping = asyncio.Event()
        # When each chat was last sent to, by this worker or a handler's reply.
        self._chats = chat_pace or ChatPace(self._clock.monotonic)
        self._requests = 0  # sendMessage calls awaiting Telegram's answer
        self._writer = writes.OutcomeWriter(
            session_factory, batch_full=concurrency, requests_in_flight=lambda: self._requests
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
        self._recall_due = True
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
        if self._recall_due:
            await self._recall_rate()
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
        await self._remember_rate()
        return len(claim.rows)

    async def _recall_rate(self) -> None:
        """Begin from the rate learnt before, by this process or another (auto only)."""
        self._recall_due = False
        if not self._pacer.learns:
            return
        ceiling = await learnt_rate.recall(self._session_factory, self._now())
        if ceiling is not None and ceiling != self._pacer.learnt:
            self._pacer.resume(ceiling)
            log.info(
                "delivery: Telegram allowed %.1f messages a second before; starting at %.1f",
                ceiling,
                self._pacer.rate,
            )
        self._remembered = self._pacer.learnt

    async def _remember_rate(self) -> None:
        """Keep a newly learnt ceiling for the next sender (one write per lesson)."""
        learnt = self._pacer.learnt
        if learnt is None or learnt == self._remembered:
            return
        await learnt_rate.remember(self._session_factory, learnt, self._now())
        self._remembered = learnt

    async def _claim(self) -> Claim | None:
        now = self._now()
        # Rows another worker abandoned wait RECLAIM_QUIET after a recovery (the module's
        # docstring says why).
        reclaim = self._healthy_since is not None and (
            now - self._healthy_since >= self._reclaim_quiet
        )
        async with self._session_factory() as session, session.begin():
            return await claims.claim_due(
                session,
                now=now,
                lease=self._lease,
                limit=self._batch,
                reclaim=reclaim,
                monotonic=self._clock.monotonic(),
            )

    async def _prepare(self, claim: Claim) -> list[Send]:
        """Decide what is sent now, what waits and what is skipped; record the last two."""
        now, clock = self._now(), self._clock.monotonic()
        premium = [row.chat_id for row in claim.rows if row.kind in PREMIUM_KINDS]
        async with self._session_factory() as session, session.begin():
            allowed = await access.with_access(session, premium, now) if premium else set()
            chosen = await preferences.of_many(session, allowed)
            plan = plan_batch(
                claim.rows,
                allowed=allowed,
                originals=await claims.originals(session, claim.rows),
                last_sent=self._chats.last_sent,
                clock=clock,
                now=now,
                prefs={chat: (p.signals, p.updates) for chat, p in chosen.items()},
            )
            spoken = await languages.of_many(
                session, (send.row.chat_id for send in plan.sends), self._default_language
            )
            sends, unrenderable = self._rendered(plan.sends, spoken)
            recorded = [w for i, why in plan.skipped.items() for w in writes.skipped(i, why)]
            for row_id, (when, why) in plan.later.items():
                recorded += writes.deferred(row_id, claim.lease_until, when, why)
            for row, why in unrenderable:
                recorded += writes.failed(row.id, attempts=row.attempts + 1, error=why)
            if recorded:
                await writes.execute(await session.connection(), recorded)
        self._chats.forget_before(clock - PER_CHAT_INTERVAL)
        return sends

    def _rendered(
        self, sends: list[Send], spoken: dict[int, str]
    ) -> tuple[list[Send], list[tuple[OutboxMessage, str]]]:
        """Each send with its words in its recipient's language (`spoken`: those not on the
        default); rows that cannot be rendered fail with the reason."""
        ready: list[Send] = []
        failed: list[tuple[OutboxMessage, str]] = []
        for send in sends:
            language = spoken.get(send.row.chat_id, self._default_language)
            try:
                text, markup = self._render(send.row, language)
            except (KeyError, TypeError, ValueError) as error:
                log.error("outbox row %s (%s) cannot be rendered", send.row.id, send.row.kind)
                failed.append((send.row, f"cannot be rendered: {type(error).__name__}"))
                continue
            ready.append(replace(send, text=text, markup=markup))
        return ready, failed

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
        if claim.deadline - self._clock.monotonic() < self._send_timeout + self._lease_margin:
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
            outcome = self._outcome_of(verdict, row, claim, started)
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
                if self._paid and row.priority == Priority.BULK
                else None,
                disable_notification=True if send.silent else None,
                request_timeout=self._send_timeout,
            )
        finally:
            self._requests -= 1
            self._writer.commit_now_if_none_can_join()

    def _outcome_of(
        self, verdict: Verdict, row: OutboxMessage, claim: Claim, started: float
    ) -> list[writes.Write]:
        """What to record for a failed send (that set out at `started`); pauses every send
        where the verdict says so."""
        now = self._now()
        if verdict.action in (Action.PAUSE, Action.UNAVAILABLE):
            pause = self._pause_all(verdict, started)
            return writes.rescheduled(
                row.id,
                claim.lease_until,
                attempts=row.attempts,  # says nothing about this message: not counted
                at=now + timedelta(seconds=pause),
                error=verdict.reason,
            )
        if verdict.action is Action.BLOCKED:
            log.info("chat %s blocked the bot", row.chat_id)
            return writes.blocked(row.id, row.chat_id, now, verdict.reason)
        if verdict.action is Action.MIGRATE and verdict.migrate_to_chat_id is not None:
            return writes.migrated(row.id, row.chat_id, verdict.migrate_to_chat_id)
        attempts = row.attempts + 1
        if verdict.action is Action.RETRY and attempts < MAX_ATTEMPTS:
            at = now + backoff(attempts)
            return writes.rescheduled(
                row.id, claim.lease_until, attempts=attempts, at=at, error=verdict.reason
            )
        reason = (
            verdict.reason
            if verdict.action is Action.FAIL
            else f"gave up after {attempts} attempts: {verdict.reason}"
        )
        log.info("outbox row %s to chat %s failed: %s", row.id, row.chat_id, reason)
        return writes.failed(row.id, attempts=attempts, error=reason)

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
