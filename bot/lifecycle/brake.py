"""The brake on mass actions: a job about to remove or tell more than MASS_ACTION_SHARE of
the people it watches at once holds instead, tells the admins once, and waits.

A wall clock moved forward by weeks makes every paid period look over: the premium chat
removals would ban paying members and the expiry job would tell subscribers their access
ended. Nothing in one run can tell such a jump from a real mass end, so a person decides:
an admin's button under the report, or `python -m bot audit-chats` (which carries out the
removals itself). The hold is a row in held_actions; its insert is what makes the report
go out once, and a run that is no longer a mass one (the clock came back) forgets it.

A process that sees its wall clock jump ahead (the scheduler compares it with the
monotonic clock) holds even a single removal or expiry until the clock is back, or an
admin confirms, which accepts the clock as it is: one paying member must not be banned
by a jump either.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import CLOCK_SLACK
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from db.engine import insert_ignoring_conflicts
from db.models import HeldAction

# The actions that can be held: the held_actions row's name and the report's words.
REMOVALS = "premium-removals"
EXPIRY = "expiry"
ACTIONS = (REMOVALS, EXPIRY)
# MASS_ACTION_SHARE's default: a fifth of the members (or subscribers) at once.
DEFAULT_SHARE = 0.2
_HELD = cast(Table, HeldAction.__table__)
_INSERT_HOLD = insert_ignoring_conflicts(_HELD, _HELD.c.name)


def is_mass(affected: int, population: int, share: float) -> bool:
    """Whether touching `affected` of `population` at once is more than `share` of them
    (share 1: never). One person is never a mass: in a chat of three, one member's
    ordinary end must not wait for an admin."""
    return affected > 1 and affected > share * population


class MassBrake:
    """Decides, in the caller's transaction, whether a job may carry out what it planned."""

    def __init__(self, *, share: float = DEFAULT_SHARE, admin_ids: Sequence[int] = ()) -> None:
        self.share = share
        self._admin_ids = list(admin_ids)
        self.moved = 0.0  # seconds this process saw its wall clock jump ahead, net

    def clock_moved(self, seconds: float) -> None:
        """The scheduler saw the wall clock move (ahead: positive)."""
        self.moved += seconds

    @property
    def clock_ahead(self) -> bool:
        """Whether the wall clock is still ahead of where this process found it."""
        return self.moved > CLOCK_SLACK.total_seconds()

    async def allows(
        self, session: AsyncSession, action: str, affected: int, population: int, now: datetime
    ) -> bool:
        """True: go on (not a mass action, or one an admin confirmed: the confirmation is
        used up). False: held, and the admins told the first time."""
        mass = is_mass(affected, population, self.share) or (self.clock_ahead and affected > 0)
        hold = (
            await session.execute(select(HeldAction.confirmed_at).where(HeldAction.name == action))
        ).first()
        confirmed = hold is not None and hold.confirmed_at is not None
        if hold is not None and (confirmed or not mass):
            # Confirmed and carried out now, or the clock came back: a later mass action
            # is a new one, reported again.
            await session.execute(delete(HeldAction).where(HeldAction.name == action))
        if confirmed:
            self.moved = 0.0  # an admin looked: the clock is right as it is
        if not mass or confirmed:
            return True
        if hold is None:
            await self._hold(session, action, affected, population, now)
        return False

    async def _hold(
        self, session: AsyncSession, action: str, affected: int, population: int, now: datetime
    ) -> None:
        """The hold's row and, if this process inserted it, the admins' one report."""
        connection = await session.connection()
        row = {"name": action, "held_at": now, "affected": affected, "population": population}
        inserted = await connection.execute(
            _INSERT_HOLD[connection.dialect.name].returning(_HELD.c.name), row
        )
        if inserted.first() is None:  # another process held it first, and reported it
            return
        params = {
            "action": action,
            "affected": affected,
            "population": population,
            "share": self.share,
            "moved_hours": round(self.moved / 3600) if self.clock_ahead else None,
            # The report's button confirms this hold, not a later one the admin has not seen.
            "held_at": int(now.timestamp()),
        }
        for admin_id in self._admin_ids:
            await outbox.enqueue(
                session, chat_id=admin_id, kind=NoticeKind.MASS_HELD, params=params
            )


async def confirm(
    session: AsyncSession, action: str, now: datetime, *, held_at: int | None = None
) -> bool:
    """An admin (or audit-chats) confirms a held action: its job's next run carries it
    out. `held_at` (the report's button: the hold's time, whole seconds) confirms only the
    hold that report was about; a newer one, held after the clock came back and went
    wrong again, waits for its own report. False when nothing such is held."""
    which = HeldAction.name == action
    if held_at is not None:
        moment = datetime.fromtimestamp(held_at, UTC)
        which &= HeldAction.held_at >= moment
        which &= HeldAction.held_at < moment + timedelta(seconds=1)
    result = await session.execute(update(HeldAction).where(which).values(confirmed_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def forget(session: AsyncSession, action: str) -> None:
    """The action was carried out another way (audit-chats did the removals itself)."""
    await session.execute(delete(HeldAction).where(HeldAction.name == action))


async def held(session: AsyncSession) -> list[HeldAction]:
    """Every action held now, oldest first."""
    return list(await session.scalars(select(HeldAction).order_by(HeldAction.held_at)))
