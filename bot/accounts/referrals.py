"""Referrals: a user's deep link (`/start ref_<id>`), who came through whose, and the bonus
(REFERRAL_BONUS_DAYS of access, an entitlement of its own) when the referred user first
pays: once per referred user, never for oneself, never for a trial or a grant, never around
a cycle (nobody becomes the referral of someone they brought, however far back), and taken
back when that payment is refunded."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import entitlement_writes
from bot.core.ids import parse_user_id
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from db.models import Entitlement, EntitlementSource, Referral, User

PREFIX = "ref_"
# How far up a referrer's chain the cycle check looks; a longer chain is refused too.
MAX_CHAIN = 64
# A user who has paid before is nobody's new customer.
_PAID_SOURCES = (EntitlementSource.STRIPE, EntitlementSource.STARS)
# PostgreSQL: the transaction-scoped advisory lock that takes referrals one at a time (any
# fixed 64-bit number no other lock in this database uses; bot/delivery/turn.py has its own).
LOCK_KEY = 0x5D_0DE2


def payload(user_id: int) -> str:
    """The /start payload of a user's referral link."""
    return f"{PREFIX}{user_id}"


def referrer_in(start_payload: str) -> int | None:
    """The referrer a `/start` payload names (`ref_<id>`), if it is one."""
    if not start_payload.startswith(PREFIX):
        return None
    return parse_user_id(start_payload.removeprefix(PREFIX))


async def record(session: AsyncSession, referred_id: int, referrer_id: int) -> bool:
    """Remember who brought `referred_id`: False (and nothing written) for oneself, an
    unknown referrer, someone already referred, or someone who has paid before."""
    if referrer_id == referred_id or await session.get(User, referrer_id) is None:
        return False
    # Checked and written one referral at a time: two at once (A through B's link, B
    # through A's, or the two ends of a longer chain) would each find no cycle and both be
    # written. On SQLite the one writer already takes them in turn. Held to the commit.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    if await session.get(Referral, referred_id) is not None:
        return False
    paid = await session.scalar(
        select(func.count()).where(
            Entitlement.user_id == referred_id, Entitlement.source.in_(_PAID_SOURCES)
        )
    )
    if paid or await _upstream(session, referrer_id, referred_id):
        return False
    session.add(Referral(referred_id=referred_id, referrer_id=referrer_id))
    await session.flush()
    return True


async def _upstream(session: AsyncSession, referrer_id: int, referred_id: int) -> bool:
    """Whether `referred_id` brought `referrer_id`, directly or through others: then the
    referral would close a cycle (A brings B, B brings A) and pay both ways."""
    seen, current = {referrer_id}, referrer_id
    for _ in range(MAX_CHAIN):
        above = await session.scalar(
            select(Referral.referrer_id).where(Referral.referred_id == current)
        )
        if above is None:
            return False
        if above == referred_id or above in seen:
            return True
        seen.add(above)
        current = above
    return True  # a chain this long is not a real one


async def reward(
    session: AsyncSession, referred_id: int, now: datetime, bonus_days: int | None
) -> int | None:
    """On the referred user's first payment: the referrer's bonus days, once; the referrer
    is told. The referrer's id, or None when there is nothing to reward."""
    if not bonus_days:
        return None
    referral = await session.get(Referral, referred_id, with_for_update=True)
    if referral is None or referral.rewarded_at is not None:
        return None
    referral.rewarded_at = now
    row = await _bonus_entitlement(session, referral.referrer_id)
    if row is None:
        row = Entitlement(
            user_id=referral.referrer_id, source=EntitlementSource.REFERRAL, expires_at=now
        )
    start = max(now, row.expires_at) if row.expires_at and row.status == "active" else now
    row.status, row.expires_at = "active", start + timedelta(days=bonus_days)
    row.source_ref = f"referred:{referred_id}"
    await entitlement_writes.save(session, row)
    params = {"days": bonus_days, "until": row.expires_at.isoformat()}
    await outbox.enqueue(
        session, chat_id=referral.referrer_id, kind=NoticeKind.REFERRAL_BONUS, params=params
    )
    return referral.referrer_id


async def take_back(session: AsyncSession, referred_id: int, bonus_days: int) -> int | None:
    """The referred user's payment was refunded and they keep none (no other Stars payment,
    no Stripe subscription): the referrer's bonus for them is taken back, the referrer is
    told, and a later payment can earn it again. The referrer's id, or None."""
    referral = await session.get(Referral, referred_id, with_for_update=True)
    if referral is None or referral.rewarded_at is None:
        return None
    stripe = await session.scalar(
        select(func.count()).where(
            Entitlement.user_id == referred_id, Entitlement.source == EntitlementSource.STRIPE
        )
    )
    if stripe:
        return None
    referral.rewarded_at = None
    row = await _bonus_entitlement(session, referral.referrer_id)
    if row is not None and row.expires_at is not None:
        row.expires_at -= timedelta(days=bonus_days)
        await entitlement_writes.save(session, row)
    else:
        await session.flush()
    until = row.expires_at.isoformat() if row is not None and row.expires_at else None
    await outbox.enqueue(
        session,
        chat_id=referral.referrer_id,
        kind=NoticeKind.REFERRAL_BONUS_TAKEN_BACK,
        params={"days": bonus_days, "until": until},
    )
    return referral.referrer_id


async def mine(session: AsyncSession, referrer_id: int) -> tuple[int, int]:
    """(users this referrer brought, of whom paid) for /referral."""
    rows = list(
        await session.scalars(
            select(Referral.rewarded_at).where(Referral.referrer_id == referrer_id)
        )
    )
    return len(rows), sum(1 for at in rows if at is not None)


async def counts(session: AsyncSession) -> tuple[int, int]:
    """(referred users, of whom rewarded) for /stats."""
    total = await session.scalar(select(func.count()).select_from(Referral)) or 0
    rewarded = (
        await session.scalar(select(func.count()).where(Referral.rewarded_at.is_not(None))) or 0
    )
    return int(total), int(rewarded)


async def _bonus_entitlement(session: AsyncSession, referrer_id: int) -> Entitlement | None:
    """The referrer's entitlement of referral days, if they have one."""
    row: Entitlement | None = await session.scalar(
        select(Entitlement).where(
            Entitlement.user_id == referrer_id,
            Entitlement.source == EntitlementSource.REFERRAL,
        )
    )
    return row
