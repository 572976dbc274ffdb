"""A role change in the audit log: the role lists live in the settings, so a process that
starts with lists other than the last recorded ones records the change (who: `settings`,
before and after), once however many processes start with them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.accounts.roles import role_ids
from bot.audit import log as audit
from bot.audit.log import Action, Actor
from bot.core.settings import Settings

# PostgreSQL: the transaction-scoped advisory lock that takes the processes starting at
# once one at a time, so only the first records (any fixed 64-bit number no other lock in
# this database uses; bot/signals/posting_limit.py and others have their own).
ROLES_LOCK_KEY = 0x5D_0DE4
TARGET = "roles"


def listed(settings: Settings) -> dict[str, str]:
    """Each role's ids as comma-separated text, sorted (the audit entry keeps them so)."""
    return {
        role.value: ",".join(str(user_id) for user_id in sorted(ids))
        for role, ids in role_ids(settings).items()
    }


async def record_roles(session: AsyncSession, settings: Settings, now: datetime) -> bool:
    """Record the configured role lists when they differ from the last recorded (in the
    caller's transaction); whether an entry was written. Nothing recorded and nobody in
    any list is no change."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROLES_LOCK_KEY})
    last = await audit.latest(session, limit=1, action=Action.ROLE_CHANGE.value)
    before = last[0].after if last else None
    after = listed(settings)
    if before == after or (before is None and not any(after.values())):
        return False
    await audit.record(
        session, Actor.tool("settings"), Action.ROLE_CHANGE, now,
        target=TARGET, before=before, after=after,
    )  # fmt: skip
    return True


async def record_at_start(engine: AsyncEngine, settings: Settings, now: datetime) -> bool:
    """`record_roles` in a transaction of its own, as `python -m bot` starts."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        return await record_roles(session, settings, now)
