"""A user's rights over their data (docs/consents.md): /mydata's export (loaded here,
built by bot/admin/data_export.py) and /deletedata's erasure, each in the audit log.

Erasure keeps what payment records must keep, with nothing that names the person: the
entitlements and Stars payments (tax and accounting retention; a Stars refund needs the
Telegram id and charge id), the Stripe customer id (Stripe holds the invoices), the
disclaimer acceptances (the proof they were warned before paying), premium chat
memberships still current (the bot must be able to remove them when access ends) and the
audit log (append-only). It never touches Stripe or Telegram: a subscription that still
renews is refused, and the user stops it first (/manage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import consents
from bot.accounts.access import SUBSCRIPTION_SOURCES, entitlement_grants_access
from bot.admin import data_export
from bot.audit import log as audit
from bot.core.errors import DomainError
from db.models import (
    AuditEntry,
    Entitlement,
    OutboxMessage,
    OutboxStatus,
    PaymentLink,
    PremiumMember,
    PremiumPeriod,
    Referral,
    StarPayment,
    StripeCustomer,
    User,
)

# One export a minute per user: each is a file sent to them.
EXPORT_PAUSE = timedelta(minutes=1)


class SubscriptionRenewsError(DomainError):
    """A paid subscription that renews: erasing now would leave a charge running for a
    person the bot no longer knows. Stop the renewal first (/manage)."""


class ExportTooSoonError(DomainError):
    """An export was made for this user less than EXPORT_PAUSE ago."""


@dataclass(frozen=True, slots=True)
class Erased:
    """What one erasure removed, as counts (the audit entry carries these, not the data)."""

    profile: bool
    referrals: int
    payment_links: int
    premium: int
    messages: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "referrals": self.referrals,
            "payment_links": self.payment_links,
            "premium": self.premium,
            "messages": self.messages,
        }


def _row(obj: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


_PROFILE = (
    "username",
    "first_name",
    "language_code",
    "language",
    "blocked_at",
    "notify_signals",
    "notify_updates",
    "created_at",
    "updated_at",
)
_ENTITLEMENT = (
    "source",
    "status",
    "price_id",
    "expires_at",
    "cancel_at_period_end",
    "grace_until",
    "created_at",
    "updated_at",
)
_STARS = (
    "charge_id",
    "amount",
    "subscription_ref",
    "paid_until",
    "recurring",
    "paid_at",
    "refunded_at",
    "refund_reason",
)
_AUDIT = ("at", "actor", "action", "target", "before", "after")


async def load(session: AsyncSession, user_id: int) -> data_export.Loaded:
    """Everything held about the user, as records (the lists at most MAX_ITEMS + 1 long)."""
    cap = data_export.MAX_ITEMS + 1
    user = await session.get(User, user_id)
    rows = await session.scalars(select(Entitlement).where(Entitlement.user_id == user_id))
    stars = await session.scalars(
        select(StarPayment)
        .where(StarPayment.user_id == user_id)
        .order_by(StarPayment.id.desc())
        .limit(cap)
    )
    referral = await session.get(Referral, user_id)
    referred = await session.scalars(
        select(Referral).where(Referral.referrer_id == user_id).limit(cap)
    )
    chats = await session.scalars(select(PremiumMember).where(PremiumMember.user_id == user_id))
    entries = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_id == user_id)
        .order_by(AuditEntry.id.desc())
        .limit(cap)
    )
    pending = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.chat_id == user_id, OutboxMessage.status == OutboxStatus.PENDING)
    )
    return data_export.Loaded(
        user_id=user_id,
        profile=_row(user, _PROFILE) if user is not None else None,
        entitlements=[_row(row, _ENTITLEMENT) for row in rows],
        stripe_customer=await session.scalar(
            select(StripeCustomer.customer_id).where(StripeCustomer.user_id == user_id)
        ),
        star_payments=[_row(row, _STARS) for row in reversed(list(stars))],
        consents=[
            {"kind": c.kind, "version": c.version, "accepted_at": c.accepted_at}
            for c in await consents.of_user(session, user_id)
        ],
        # The other person's id is theirs, not this user's: when and whether, no more.
        referred_by=(
            {"at": referral.created_at, "rewarded_at": referral.rewarded_at} if referral else None
        ),
        referred=[{"at": r.created_at, "rewarded_at": r.rewarded_at} for r in referred],
        premium_chats=[_row(m, ("chat_id", "status", "updated_at")) for m in chats],
        audit=[_row(e, _AUDIT) for e in reversed(list(entries))],
        pending_messages=pending or 0,
    )


async def export(session: AsyncSession, user_id: int, now: datetime) -> bytes:
    """The user's data as a JSON file's bytes, and the export in the audit log."""
    last = await audit.latest(
        session, limit=1, action=audit.Action.DATA_EXPORT.value, subject_id=user_id
    )
    if last and now - last[0].at < EXPORT_PAUSE:
        raise ExportTooSoonError
    data = data_export.encode(await load(session, user_id), now)
    await audit.record(
        session,
        audit.Actor.user(user_id),
        audit.Action.DATA_EXPORT,
        now,
        subject_id=user_id,
        after={"bytes": len(data)},
    )
    return data


async def renews(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """Whether a paid subscription (Stripe or Stars) of the user's will charge again."""
    rows = await session.scalars(
        select(Entitlement).where(
            Entitlement.user_id == user_id, Entitlement.source.in_(SUBSCRIPTION_SOURCES)
        )
    )
    return any(entitlement_grants_access(r, now) and not r.cancel_at_period_end for r in rows)


async def erase(session: AsyncSession, user_id: int, now: datetime) -> Erased:
    """Erase the user's personal data (the module's docstring says what stays and why);
    refused while a subscription renews. Recorded in the audit log as counts only."""
    if await renews(session, user_id, now):
        raise SubscriptionRenewsError
    profile = await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(
            username=None,
            first_name="",
            language_code=None,
            language=None,
            blocked_at=None,
            notify_signals="on",
            notify_updates="on",
            updated_at=now,
        )
    )
    referrals = await session.execute(
        delete(Referral).where(
            or_(Referral.referred_id == user_id, Referral.referrer_id == user_id)
        )
    )
    links = await session.execute(delete(PaymentLink).where(PaymentLink.user_id == user_id))
    periods = await session.execute(delete(PremiumPeriod).where(PremiumPeriod.user_id == user_id))
    left = await session.execute(
        delete(PremiumMember).where(
            PremiumMember.user_id == user_id, PremiumMember.status.in_(("left", "removed"))
        )
    )
    messages = await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.chat_id == user_id, OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    erased = Erased(
        profile=bool(_count(profile)),
        referrals=_count(referrals),
        payment_links=_count(links),
        premium=_count(periods) + _count(left),
        messages=_count(messages),
    )
    await audit.record(
        session,
        audit.Actor.user(user_id),
        audit.Action.DATA_ERASE,
        now,
        subject_id=user_id,
        after=erased.as_dict(),
    )
    return erased


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
