"""The Stars payments booked (star_payments): the queries the Stars service asks in its
transactions, and the refusals of /refund. Pure reads and the one access write a refund
makes (through bot/accounts/entitlement_writes.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import access, entitlement_writes, users
from bot.accounts.access import entitlement_grants_access
from bot.core.errors import DomainError
from db.models import Entitlement, EntitlementSource, StarPayment, User


class NoStarsSubscriptionError(DomainError):
    """The user has no Stars subscription running (nothing to stop, resume or refund)."""


class NothingToRefundError(NoStarsSubscriptionError):
    """No payment's period is running: the Stars access ended (`ended`), and an older
    payment is refunded only when an admin names its charge id."""


async def end_access(session: AsyncSession, payment: StarPayment, now: datetime) -> bool:
    """End the Stars access now when the refunded payment is the latest of the subscription
    giving it and its period is not over; an older payment's refund ends nothing."""
    later = await session.scalar(  # a later period of the subscription is paid: still on
        select(StarPayment.id)
        .where(
            StarPayment.subscription_ref == payment.subscription_ref,
            StarPayment.refunded_at.is_(None),
            StarPayment.duplicate_of.is_(None),
            StarPayment.paid_until > payment.paid_until,
        )
        .limit(1)
    )
    if payment.paid_until <= now or later is not None:
        return False
    ended = await entitlement_writes.update_where(
        session,
        Entitlement.user_id == payment.user_id,
        Entitlement.source == EntitlementSource.STARS,
        Entitlement.source_ref == payment.subscription_ref,
        Entitlement.expires_at > now,
        status="canceled",
        expires_at=now,
        cancel_at_period_end=True,
    )
    return ended == 1


async def lock_user(session: AsyncSession, user_id: int) -> None:
    """The user's row, there and locked (PostgreSQL) for the transaction: one payment or
    pre-checkout of a user at a time. SQLite has one writer anyway."""
    connection = await session.connection()
    await users.ensure_user_id(connection, user_id)
    if connection.dialect.name != "sqlite":
        await session.execute(select(User.id).where(User.id == user_id).with_for_update())


async def refunded(session: AsyncSession, subscription_ref: str) -> bool:
    """Whether the payment for the latest period of a subscription was refunded: then the
    subscription is over for good (/refund stops its renewal), whatever Telegram does."""
    latest = await session.scalar(
        select(StarPayment.refunded_at)
        .where(
            StarPayment.subscription_ref == subscription_ref,
            StarPayment.duplicate_of.is_(None),
        )
        .order_by(StarPayment.paid_until.desc(), StarPayment.id.desc())
        .limit(1)
    )
    return latest is not None


async def owed(session: AsyncSession, charge_id: str) -> bool:
    """Whether a charge is a second subscription still to refund (a replayed update, or
    a refund that failed before, tries again)."""
    found = await session.scalar(
        select(StarPayment.id).where(
            StarPayment.charge_id == charge_id,
            StarPayment.duplicate_of.is_not(None),
            StarPayment.refunded_at.is_(None),
        )
    )
    return found is not None


async def renewable(session: AsyncSession, user_id: int, now: datetime, *, but: str) -> list[str]:
    """The user's other subscriptions (first charge ids) whose period has not ended."""
    refs = await session.scalars(
        select(StarPayment.subscription_ref)
        .where(
            StarPayment.user_id == user_id,
            StarPayment.paid_until > now,
            StarPayment.subscription_ref != but,
        )
        .distinct()
    )
    return sorted(refs)


async def refundable(
    session: AsyncSession, user_id: int, now: datetime, charge_id: str | None
) -> StarPayment:
    """The payment /refund acts on: the one named, or the latest of the subscription giving
    access now. None running: NothingToRefundError with when the Stars access ended."""
    query = select(StarPayment).where(
        StarPayment.user_id == user_id, StarPayment.refunded_at.is_(None)
    )
    if charge_id is not None:
        payment = await session.scalar(query.where(StarPayment.charge_id == charge_id))
        if payment is None:
            raise NoStarsSubscriptionError("refund.no_charge", user=user_id, charge=charge_id)
        return payment
    row = await access.stars_entitlement(session, user_id)
    if row is None or row.expires_at is None:
        raise NoStarsSubscriptionError("refund.nothing", user=user_id)
    payment = (
        await session.scalar(
            query.where(
                StarPayment.subscription_ref == row.source_ref,
                StarPayment.duplicate_of.is_(None),
                StarPayment.paid_until > now,
            )
            .order_by(StarPayment.paid_until.desc(), StarPayment.id.desc())
            .limit(1)
        )
        if entitlement_grants_access(row, now)
        else None
    )
    if payment is None:
        raise NothingToRefundError("refund.ended", user=user_id, ended=row.expires_at)
    return payment


async def kept_payments(session: AsyncSession, user_id: int) -> int:
    """How many of the user's Stars payments were kept (not refunded, not a second one)."""
    kept = await session.scalar(
        select(func.count()).where(
            StarPayment.user_id == user_id,
            StarPayment.refunded_at.is_(None),
            StarPayment.duplicate_of.is_(None),
        )
    )
    return int(kept or 0)
