"""Premium chats at work: the bot's rights, personal links, join requests, the membership
record, removals and the audit. Bot API calls happen outside any transaction
(bot/transactions/unit_of_work.py); removals take the delivery worker's rate budget (its
SendPacer)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramAPIError
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts import users
from bot.accounts.access import recipients, with_access
from bot.delivery.pacing import SendPacer
from bot.lifecycle.brake import REMOVALS, MassBrake
from bot.lifecycle.sweeps import Message, queue_once
from bot.notices.kinds import NoticeKind
from bot.premium import rules
from db.engine import upsert
from db.models import LifecycleNotice, PremiumMember, PremiumPeriod

log = logging.getLogger(__name__)
_CHUNK = 500  # ids per IN (...) list
LINK_LIFETIME = timedelta(days=7)
INVITES_PER_RUN = 100  # each costs a createChatInviteLink per chat


@dataclass
class AuditReport:
    checked: int = 0
    removed: list[tuple[int, int]] = field(default_factory=list)  # (chat, user)
    failed: int = 0
    held: int = 0  # removals the brake held (bot/lifecycle/brake.py): none carried out


class PremiumChats:
    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        chat_ids: list[int],
        allowlist: list[int],
        pacer: SendPacer | None = None,
    ) -> None:
        self._bot = bot
        self._sessions = session_factory
        self.chat_ids = list(chat_ids)
        self._allowlist = frozenset(allowlist)
        self._pacer = pacer
        # The scheduler's brake, attached by the composition root (bot/app/): while it
        # knows the wall clock is ahead, everyone's access looks over, so nobody is removed
        # or declined here (the braked audit decides later).
        self.brake: MassBrake | None = None
        self.problems: dict[int, str] = {}  # chat -> what the bot lacks there (/readyz)

    @property
    def enabled(self) -> bool:
        return bool(self.chat_ids)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    async def check_rights(self) -> dict[int, str]:
        """At start-up: one line per chat where the bot cannot invite or remove."""
        problems: dict[int, str] = {}
        for chat_id in self.chat_ids:
            try:
                member = await self._bot.get_chat_member(chat_id, self._bot.id)
                missing = rules.missing_rights(member.model_dump())
            except TelegramAPIError as error:
                missing = [f"chat unreachable ({type(error).__name__})"]
            except AiogramError as error:
                # An answer the library cannot parse (a member status newer than it, say):
                # the rights are unknown, which is no reason to stop the process.
                name = type(error).__name__
                missing = [f"rights unknown, Telegram's answer not understood ({name})"]
            if missing:
                problems[chat_id] = "missing: " + ", ".join(missing)
                log.warning("premium chat %s: the bot lacks %s", chat_id, ", ".join(missing))
        self.problems = problems
        return problems

    async def links(self, user_id: int, now: datetime) -> list[str]:
        """Fresh personal join-request links, one per chat (those that fail are left out)."""
        urls = []
        for chat_id in self.chat_ids:
            try:
                link = await self._bot.create_chat_invite_link(
                    chat_id,
                    name=f"user {user_id}"[:32],
                    expire_date=now + LINK_LIFETIME,
                    creates_join_request=True,
                )
            except TelegramAPIError as error:
                log.warning("premium chat %s: no invite link (%s)", chat_id, type(error).__name__)
                continue
            urls.append(link.invite_link)
        return urls

    async def _record(self, chat_id: int, user_id: int, status: str, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(PremiumMember, (chat_id, user_id), with_for_update=True)
            if row is None:
                session.add(
                    PremiumMember(chat_id=chat_id, user_id=user_id, status=status, removals=0)
                )
            else:
                row.status, row.updated_at = status, now

    async def _may_stay(self, user_id: int, now: datetime) -> bool:
        if user_id in self._allowlist:
            return True
        async with self._sessions() as session:
            return user_id in await with_access(session, [user_id], now)

    async def on_join_request(self, chat_id: int, user_id: int, now: datetime) -> bool | None:
        """Approve a request from someone with access, decline anyone else (and say how to
        subscribe); None for a chat that is not a premium one. While the wall clock is known
        to be ahead nobody is declined: approved and recorded, left to the braked audit."""
        if chat_id not in self.chat_ids:
            return None
        allowed = await self._may_stay(user_id, now)
        held = not allowed and self._clock_ahead("join request approved, not declined")
        try:
            if allowed or held:
                await self._bot.approve_chat_join_request(chat_id, user_id)
            else:
                await self._bot.decline_chat_join_request(chat_id, user_id)
        except TelegramAPIError as error:
            # Answered already (a redelivered update), withdrawn, or the bot lost its
            # rights: nothing left to decide here.
            log.warning(
                "premium chat %s: join request not answered (%s)", chat_id, type(error).__name__
            )
            return allowed
        if held:  # in the record at once, so the audit sees them whatever updates follow
            await self._record(chat_id, user_id, "member", now)
            return True
        if not allowed:
            key = f"premium-declined:{chat_id}:{user_id}:{now.date().isoformat()}"
            await self._tell(Message(key, user_id, NoticeKind.PREMIUM_DECLINED, {}))
        return allowed

    async def _tell(self, message: Message) -> None:
        """Queue a message once; its user may never have started the bot (they came to the
        chat another way), and lifecycle notices name a users row."""
        async with self._sessions() as session, session.begin():
            await users.ensure_user_id(await session.connection(), message.user_id)
            await queue_once(session, [message])

    async def on_member(
        self,
        chat_id: int,
        user_id: int,
        telegram_status: str,
        now: datetime,
        *,
        is_member: bool | None = None,
    ) -> bool:
        """Keep the record; someone who got in without access (another's link, added by
        hand) is removed at once, unless the wall clock is known to be ahead (then the
        braked audit decides). True when they were. `is_member`: a restricted user's."""
        if chat_id not in self.chat_ids or user_id == self._bot.id:
            return False
        status = rules.recorded_status(telegram_status, is_member=is_member)
        await self._record(chat_id, user_id, status, now)
        if status != "member" or await self._may_stay(user_id, now):
            return False
        if self._clock_ahead("member kept, not removed"):
            return False
        return await self.remove(chat_id, user_id)

    def _clock_ahead(self, what: str) -> bool:
        """Whether the brake knows the wall clock is ahead (logged with `what` was done)."""
        if self.brake is None or not self.brake.clock_ahead:
            return False
        log.warning("premium chats: the wall clock is ahead; %s", what)
        return True

    async def remove(self, chat_id: int, user_id: int) -> bool:
        """Ban, then unban (only if banned), so they can come back after paying again; the
        record and the user's message follow. A failure is logged and left for next time."""
        if self._pacer is not None:
            await self._pacer.acquire()
        try:
            await self._bot.ban_chat_member(chat_id, user_id)
            await self._bot.unban_chat_member(chat_id, user_id, only_if_banned=True)
        except TelegramAPIError as error:
            log.warning(
                "premium chat %s: could not remove a user (%s)", chat_id, type(error).__name__
            )
            return False
        async with self._sessions() as session, session.begin():
            await users.ensure_user_id(await session.connection(), user_id)
            row = await session.get(PremiumMember, (chat_id, user_id), with_for_update=True)
            if row is None:
                row = PremiumMember(chat_id=chat_id, user_id=user_id, status="removed", removals=0)
                session.add(row)
            key = rules.removal_key(chat_id, user_id, row.removals)
            row.status, row.removals = "removed", row.removals + 1
            await session.flush()
            await queue_once(session, [Message(key, user_id, NoticeKind.PREMIUM_REMOVED, {})])
        return True

    async def audit(
        self, now: datetime, *, dry_run: bool, brake: MassBrake | None = None
    ) -> AuditReport:
        """Every recorded member without access is removed (or, dry, only listed); one
        failure never stops the rest. With a `brake`, removing more than its share of the
        members at once is held instead (report.held), and the admins are told."""
        report = AuditReport()
        async with self._sessions() as session:
            members = list(
                await session.execute(
                    select(PremiumMember.chat_id, PremiumMember.user_id)
                    .where(
                        PremiumMember.chat_id.in_(self.chat_ids), PremiumMember.status == "member"
                    )
                    .order_by(PremiumMember.chat_id, PremiumMember.user_id)
                )
            )
            allowed = await with_access(session, {m.user_id for m in members}, now)
        report.checked = len(members)
        leaving = [
            (chat_id, user_id)
            for chat_id, user_id in members
            if rules.must_leave(
                status="member",
                has_access=user_id in allowed,
                allowlisted=user_id in self._allowlist,
            )
        ]
        if not dry_run and brake is not None:
            async with self._sessions() as session, session.begin():
                go = await brake.allows(session, REMOVALS, len(leaving), len(members), now)
            if not go:
                report.held = len(leaving)
                return report
        for chat_id, user_id in leaving:
            if dry_run or await self.remove(chat_id, user_id):
                report.removed.append((chat_id, user_id))
            else:
                report.failed += 1
        return report

    async def invites(self, now: datetime, *, close_periods: bool = True) -> str:
        """Send each user whose access started (and who is not in every chat yet) their
        links, once per access period (rules.invite_key): a period ends when this job sees
        the user without access, whether or not they ever joined. `close_periods` False:
        none ends now (a wall clock jumped ahead makes everyone's access look over)."""
        async with self._sessions() as session, session.begin():
            if close_periods:
                await _close_periods(session, now)
            users = await recipients(session, now)
            due = await self._uninvited(session, users)
        sent = 0
        for user_id, period in due[:INVITES_PER_RUN]:
            urls = await self.links(user_id, now)
            if not urls:
                continue
            message = Message(
                rules.invite_key(user_id, period),
                user_id,
                NoticeKind.PREMIUM_INVITE,
                {"links": urls},
            )
            async with self._sessions() as session, session.begin():
                sent += await queue_once(session, [message])
                await _mark_invited(session, [(user_id, period)])
        return f"{sent} sent their premium chat links"

    async def _uninvited(self, session: AsyncSession, users: list[int]) -> list[tuple[int, int]]:
        """(user, access period) of users with access not yet in every chat, whose invite
        for this period has not been sent: at most INVITES_PER_RUN."""
        if not users:
            return []
        records = await session.execute(
            select(PremiumMember.user_id, PremiumMember.status, PremiumMember.removals).where(
                PremiumMember.chat_id.in_(self.chat_ids)
            )
        )
        inside: dict[int, int] = {}
        removals: dict[int, int] = {}
        for user_id, status, removed in records:
            removals[user_id] = max(removals.get(user_id, 0), removed)
            inside[user_id] = inside.get(user_id, 0) + (status in ("member", "admin"))
        wanted = [u for u in users if inside.get(u, 0) < len(self.chat_ids)]
        due: list[tuple[int, int]] = []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            periods = await _periods(session, chunk)
            current = {
                u: rules.invite_period(periods.get(u), removals.get(u, 0))
                for u in chunk
                if not rules.invited(periods.get(u))
            }
            keys = {rules.invite_key(u, period): u for u, period in current.items()}
            sent = set(
                await session.scalars(
                    select(LifecycleNotice.event).where(LifecycleNotice.event.in_(keys))
                )
            )
            # Sent before the period was recorded (an older version): recorded now.
            await _mark_invited(session, [(keys[key], current[keys[key]]) for key in sent])
            due += [(user, current[user]) for key, user in keys.items() if key not in sent]
            if len(due) >= INVITES_PER_RUN:
                break
        return due[:INVITES_PER_RUN]


_PERIODS = cast(Table, PremiumPeriod.__table__)
_UPSERT_PERIOD = upsert(_PERIODS, _PERIODS.c.user_id, update=["period", "invited"])


async def _periods(session: AsyncSession, user_ids: list[int]) -> dict[int, tuple[int, bool]]:
    """(period, invited) of each of `user_ids` that has a record."""
    rows = await session.execute(
        select(PremiumPeriod.user_id, PremiumPeriod.period, PremiumPeriod.invited).where(
            PremiumPeriod.user_id.in_(user_ids)
        )
    )
    return {row.user_id: (row.period, row.invited) for row in rows}


async def _mark_invited(session: AsyncSession, invited: list[tuple[int, int]]) -> None:
    """Record that each (user, period)'s invite went out."""
    if not invited:
        return
    connection = await session.connection()
    await connection.execute(
        _UPSERT_PERIOD[connection.dialect.name],
        [{"user_id": u, "period": p, "invited": True} for u, p in invited],
    )


async def _close_periods(session: AsyncSession, now: datetime) -> None:
    """End the period of every invited user who has no access now: their next access is
    a new period, with its own invite."""
    invited = list(
        await session.scalars(select(PremiumPeriod.user_id).where(PremiumPeriod.invited.is_(True)))
    )
    ended = sorted(set(invited) - await with_access(session, invited, now))
    for start in range(0, len(ended), _CHUNK):
        await session.execute(
            update(PremiumPeriod)
            .where(
                PremiumPeriod.user_id.in_(ended[start : start + _CHUNK]),
                PremiumPeriod.invited.is_(True),
            )
            .values(period=PremiumPeriod.period + 1, invited=False)
        )
