"""Telegram's paid lane for the delivery worker: which sends of a batch take it now, its
pace, what it spends, and when it closes for the day.

A bulk row of a broadcast that may go paid (Priority.FAST: PAID_BROADCAST covers its kind,
and the admin did not choose the free rate) is sent with allow_paid_broadcast, at up to
1,000 a second on a pacer of its own, while everything else keeps the free rate
(DELIVERY_RATE) and each chat its one message a second. Each paid send is booked in the
transaction that records it (its row marked paid: bot.notices.paid counts them), so the
book and the messages agree after any crash; the sender counts its own as it goes, and
counts again from the rows when it starts, on a new UTC day and after standing by.

The lane closes for the rest of the UTC day, and the admins are told once (a
PAID_LANE_CLOSED notice, queued with the closure's record), when:

- PAID_BROADCAST_DAILY_STARS would be exceeded by the next paid send (`budget`);
- the bot's Stars balance (getMyStarBalance: asked when a paid broadcast starts, then every
  BALANCE_EVERY seconds while it goes, and counted down by each send) is spent (`balance`);
- Telegram refuses a paid send (`refused`): a 400 whose description names the balance, Stars
  or paid broadcasts. The Bot API documents no such error; the fake answers as MTProto's
  BALANCE_TOO_LOW reads. The refused message was not delivered: it is given back, due at
  once, and goes at the free rate like the rest, so nothing is lost and nothing is twice.

Rows in flight when the lane closes finish on it; the rest of the broadcast goes free.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramBadRequest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock
from bot.delivery.pacing import SendPacer
from bot.delivery.plan import Send
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.notices.paid import PAID_RATE, TENTHS_PER_MESSAGE, covers, sends_on
from db.models import OutboxMessage, PaidDay, Priority

log = logging.getLogger(__name__)

BALANCE_EVERY = 60.0  # seconds between balance checks while the paid lane is in use
# The paid lane's pace: 98 % of Telegram's 1,000 a second, as the free rate starts at 98 %
# of its 30: sends set out evenly but arrive jittered, and a full second draws a 429.
PACE = 0.98 * PAID_RATE
CLAIM = 500  # paid rows claimed at most at once: half a second at 1,000 a second
# Telegram's words when it refuses a paid send for want of Stars (module docstring).
_REFUSAL = re.compile(r"balance|\bstars?\b|\bpaid\b", re.IGNORECASE)
_NANOS = 100_000_000  # nanostars in a tenth of a Star


@dataclass(frozen=True, slots=True)
class LaneConfig:
    """PAID_BROADCAST, PAID_BROADCAST_DAILY_STARS and who is told when the lane closes."""

    mode: str = "off"
    daily_stars: int | None = None
    admin_ids: tuple[int, ...] = ()

    @property
    def daily_sends(self) -> int | None:
        if self.daily_stars is None:
            return None
        return self.daily_stars * 10 // TENTHS_PER_MESSAGE


class PaidLane:
    """The paid lane's state for one sender (the process with the sending turn)."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        config: LaneConfig,
        clock: Clock,
    ) -> None:
        self._bot = bot
        self._sessions = sessions
        self._config = config
        self._clock = clock
        self.pacer = SendPacer(PACE, clock.monotonic, clock.sleep)
        self._day: date | None = None
        self._booked = 0  # paid sends booked today, as counted, plus those made since
        self._counted = False  # whether _booked was counted from the rows today
        self._reserved = 0  # paid sends of the batch under way, not yet answered
        self.closed: str | None = None  # why the lane is closed today (None: open)
        self._told: str | None = None  # a closure not yet recorded (nor the admins told)
        self._balance: int | None = None  # tenths of a Star left, as read less what went
        self._balance_at: float | None = None  # when it was read (the clock's monotonic)
        self._broadcasts: set[int] = set()  # paid broadcasts whose start was checked

    @property
    def on(self) -> bool:
        return self._config.mode != "off"

    @property
    def open(self) -> bool:
        return self.on and self.closed is None

    @property
    def refusing(self) -> bool:
        """Telegram refused a paid send: the batch's other paid sends stop too (those the
        budget closed the lane after were within it)."""
        return self.closed == "refused"

    def eligible(self, row: OutboxMessage) -> bool:
        return row.priority == Priority.FAST and covers(self._config.mode, row.kind)

    def left(self) -> int | None:
        """Paid sends the budget and the balance still allow (None: no bound known)."""
        bounds = [self._balance // TENTHS_PER_MESSAGE] if self._balance is not None else []
        if self._config.daily_sends is not None:
            bounds.append(self._config.daily_sends - self._booked)
        return max(0, min(bounds) - self._reserved) if bounds else None

    def claimable(self) -> int:
        """How many paid rows the next claim may take beside the free ones."""
        if not self.open:
            return 0
        left = self.left()
        return CLAIM if left is None else min(CLAIM, left)

    # -- between batches -------------------------------------------------------------------

    async def refresh(self) -> None:
        """Before a claim: whether the lane is closed today (a new UTC day opens it again;
        a closure not yet recorded is recorded first), and today's paid sends counted from
        the rows when this sender may not have made them all."""
        if not self.on:
            return
        await self.record_closure()
        today = self._clock.now().date()
        if today != self._day:
            self._day, self._broadcasts, self._counted = today, set(), False
        async with self._sessions() as session:
            self.closed = await session.scalar(select(PaidDay.closed).where(PaidDay.day == today))
            if not self._counted:
                self._booked, self._counted = await sends_on(session, today), True

    def forget(self) -> None:
        """Another process sent for a while: count today's paid sends again."""
        self._counted = False

    async def check_balance(self, rows: Sequence[OutboxMessage]) -> None:
        """Ask Telegram for the bot's Stars when a paid broadcast starts in `rows`, or the
        last answer is BALANCE_EVERY old; a failed question keeps what was known."""
        if not self.open:
            return
        started = {r.broadcast_id for r in rows if self.eligible(r)} - self._broadcasts
        now = self._clock.monotonic()
        stale = self._balance_at is None or now - self._balance_at >= BALANCE_EVERY
        if not started and not (stale and any(self.eligible(r) for r in rows)):
            return
        try:
            amount = await self._bot.get_my_star_balance(request_timeout=10)
        except AiogramError as error:
            log.warning("the bot's Stars balance is unknown (%s)", type(error).__name__)
            return
        self._broadcasts |= {b for b in started if b is not None}
        self._balance = amount.amount * 10 + (amount.nanostar_amount or 0) // _NANOS
        self._balance_at = now

    async def _ensure_day(self) -> None:
        """The lane's day has its row before its closure is recorded."""
        try:
            async with self._sessions() as session, session.begin():
                if await session.get(PaidDay, self.day) is None:
                    session.add(PaidDay(day=self.day))
        except IntegrityError:
            return  # another sender made it a moment ago

    # -- one batch -------------------------------------------------------------------------

    def split(self, sends: list[Send]) -> tuple[list[Send], list[Send]]:
        """The batch's sends that take the paid lane now, and the rest. Eligible sends past
        what the budget or the balance allows go free, and close the lane."""
        paid: list[Send] = []
        free: list[Send] = []
        for send in sends:
            if not (self.open and self.eligible(send.row)):
                free.append(send)
                continue
            left = self.left()
            if left is not None and left <= 0:
                self.close("budget" if self._over_budget() else "balance")
                free.append(send)
                continue
            self._reserved += 1
            paid.append(send)
        return paid, free

    def _over_budget(self) -> bool:
        daily = self._config.daily_sends
        return daily is not None and self._booked + self._reserved >= daily

    def answered(self, *, sent: bool) -> None:
        """A paid send came back: sent (booked with its record), or not."""
        self._reserved -= 1
        if sent:
            self._booked += 1
            if self._balance is not None:
                self._balance -= TENTHS_PER_MESSAGE

    def unsent(self, count: int) -> None:
        """Paid sends of the batch given back without being tried."""
        self._reserved -= count

    def refused(self, error: BaseException) -> bool:
        """Whether Telegram refused a paid send for want of Stars; the lane closes then."""
        if not isinstance(error, TelegramBadRequest) or not _REFUSAL.search(error.message):
            return False
        self.close("refused")
        self._balance = 0
        return True

    def close(self, reason: str) -> None:
        if self.closed is None:
            log.warning("the paid lane is closed for today (%s): the rest goes free", reason)
            self.closed = self._told = reason

    @property
    def day(self) -> date:
        """The UTC day the lane's budget and closure are of: the one read before the claim
        (a batch that runs past midnight counts against the day it was claimed in)."""
        return self._day or self._clock.now().date()

    # -- the closure's record --------------------------------------------------------------

    async def record_closure(self) -> None:
        """Record why the lane closed and tell the admins, once a day whichever process
        closes it (a database fault leaves it to the next try)."""
        if self._told is None:
            return
        reason, now = self._told, self._clock.now()
        await self._ensure_day()
        async with self._sessions() as session, session.begin():
            closed = await session.execute(
                update(PaidDay)
                .where(PaidDay.day == self.day, PaidDay.closed.is_(None))
                .values(closed=reason, closed_at=now)
            )
            if closed.rowcount == 1:  # type: ignore[attr-defined]
                params = self._closure_params(reason)
                await outbox.enqueue_many(
                    session,
                    ((admin, NoticeKind.PAID_LANE_CLOSED, params) for admin in self._admins()),
                )
        self._told = None

    def _admins(self) -> tuple[int, ...]:
        return self._config.admin_ids

    def _closure_params(self, reason: str) -> dict[str, object]:
        return {
            "reason": reason,
            "sends": self._booked,
            "tenths": self._booked * TENTHS_PER_MESSAGE,
            "budget": self._config.daily_stars,
        }
