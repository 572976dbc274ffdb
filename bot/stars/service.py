"""The Stars ledger: invoices, payments into the entitlements, renewal on and off, refunds.

Every write goes through the caller's unit of work; every Bot API call happens outside a
transaction (bot/unit_of_work.py), so a method that needs both takes the unit and opens it
itself around the database part only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LabeledPrice
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import access, commit_events, referrals, users
from bot.access import entitlement_grants_access
from bot.delivery import outbox
from bot.errors import DomainError
from bot.stars import rules
from bot.stars.payload import Offer, PayloadSigner
from bot.unit_of_work import UnitOfWork
from db.engine import insert_ignoring_conflicts
from db.models import Entitlement, EntitlementSource, StarPayment, User

log = logging.getLogger(__name__)
_PAYMENTS = cast(Table, StarPayment.__table__)
_INSERT_PAYMENT = {
    name: statement.returning(_PAYMENTS.c.id)
    for name, statement in insert_ignoring_conflicts(_PAYMENTS, _PAYMENTS.c.charge_id).items()
}
# Telegram's answer when the charge was refunded before (by us, or by Telegram support).
ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"


class StarsOffError(DomainError):
    """STARS_PRICE is not set: there is no Stars rail."""


class NoStarsSubscriptionError(DomainError):
    """The user has no Stars subscription running (nothing to stop, resume or refund)."""


@dataclass(frozen=True)
class Invoice:
    """What the chat or the Mini App shows for the Stars rail."""

    title: str
    description: str


@dataclass(frozen=True)
class Recorded:
    new: bool  # False: this charge was recorded before (a replayed update)
    paid_until: datetime | None = None


class StarsService:
    def __init__(
        self, bot_token: str, price: int | None, *, referral_bonus_days: int | None = None
    ) -> None:
        self._signer = PayloadSigner(bot_token)
        self.price = price
        self._referral_bonus = referral_bonus_days

    @property
    def enabled(self) -> bool:
        return self.price is not None

    def _price(self) -> int:
        if self.price is None:
            raise StarsOffError
        return self.price

    async def invoice_link(self, bot: Bot, user_id: int, invoice: Invoice) -> str:
        """A subscription invoice (30 days, renewing) only `user_id` can pay; no database."""
        price = self._price()
        return await bot.create_invoice_link(
            title=invoice.title,
            description=invoice.description,
            payload=self._signer.sign(Offer(user_id, price)),
            currency=rules.CURRENCY,
            prices=[LabeledPrice(label=invoice.title, amount=price)],
            subscription_period=rules.SUBSCRIPTION_PERIOD,
        )

    def verify(self, payload: str) -> Offer | None:
        return self._signer.verify(payload)

    async def pre_checkout(
        self, session: AsyncSession, checkout: rules.Checkout, now: datetime
    ) -> str | None:
        """None to take the payment, or why not (a catalogue id): one read, well inside
        Telegram's 10 s."""
        if self.price is None or checkout.offer is None:
            return rules.refusal(checkout, self.price, has_access=False)
        subscribed = await access.subscribed(session, checkout.payer_id, now)
        return rules.refusal(checkout, self.price, has_access=subscribed)

    async def record_payment(
        self, session: AsyncSession, payment: rules.Payment, now: datetime
    ) -> Recorded:
        """Book a payment into the Stars entitlement once per charge id, with its notice
        in the same transaction; a charge seen before changes nothing."""
        connection = await session.connection()
        await users.ensure_user_id(connection, payment.user_id)
        if connection.dialect.name != "sqlite":  # one payment of a user at a time
            await session.execute(
                select(User.id).where(User.id == payment.user_id).with_for_update()
            )
        row = await access.entitlement_of(
            session, payment.user_id, EntitlementSource.STARS, lock=True
        )
        before = (
            rules.StarsState(row.source_ref or "", row.expires_at, row.cancel_at_period_end)
            if row is not None and row.expires_at is not None
            else None
        )
        ended = row is None or not entitlement_grants_access(row, now)
        after = rules.after_payment(before, payment, ended)
        inserted = await connection.execute(
            _INSERT_PAYMENT[connection.dialect.name],
            {
                "charge_id": payment.charge_id,
                "user_id": payment.user_id,
                "amount": payment.amount,
                "subscription_ref": after.subscription_ref,
                "paid_until": payment.paid_until,
                "recurring": payment.recurring,
                "paid_at": now,
            },
        )
        if inserted.scalar() is None:
            return Recorded(new=False)
        if row is None:
            row = Entitlement(user_id=payment.user_id, source=EntitlementSource.STARS)
            session.add(row)
        row.status, row.source_ref = "active", after.subscription_ref
        row.expires_at, row.cancel_at_period_end = after.expires_at, after.cancel_at_period_end
        row.state_version = int(now.timestamp())
        commit_events.mark(session, commit_events.ENTITLEMENTS)
        await session.flush()
        if ended and self._referral_bonus:  # a first payment: a referrer's bonus
            await referrals.reward(session, payment.user_id, now, self._referral_bonus)
        kind = "access_started" if ended else "stars_renewed"
        params = {"source": "stars", "until": after.expires_at.isoformat(), "trial": False}
        await outbox.enqueue(session, chat_id=payment.user_id, kind=kind, params=params)
        return Recorded(new=True, paid_until=after.expires_at)

    async def subscription(
        self, session: AsyncSession, user_id: int, now: datetime
    ) -> Entitlement | None:
        """The user's Stars entitlement while it gives access."""
        row = await access.stars_entitlement(session, user_id)
        return row if row is not None and entitlement_grants_access(row, now) else None

    async def set_renewal(
        self, bot: Bot, uow: UnitOfWork, user_id: int, *, renew: bool, now: datetime
    ) -> Entitlement:
        """Stop or resume the renewal (editUserStarSubscription); access runs to the end of
        the paid period either way."""
        async with uow() as session:
            row = await self.subscription(session, user_id, now)
            if row is None or not row.source_ref:
                raise NoStarsSubscriptionError("stars.no_subscription")
            charge_id = row.source_ref
        await bot.edit_user_star_subscription(
            user_id=user_id, telegram_payment_charge_id=charge_id, is_canceled=not renew
        )
        async with uow() as session:
            stored = await access.stars_entitlement(session, user_id)
            if stored is None:  # refunded meanwhile: Telegram's side is changed, ours gone
                raise NoStarsSubscriptionError("stars.no_subscription")
            stored.cancel_at_period_end = not renew
            commit_events.mark(session, commit_events.ENTITLEMENTS)
        return stored

    async def refund(
        self, bot: Bot, uow: UnitOfWork, user_id: int, reason: str, now: datetime
    ) -> Refunded:
        """Refund the user's latest Stars payment (refundStarPayment) and end that access
        now, telling the user. Telegram's "already refunded" counts as done."""
        async with uow() as session:
            payment = await session.scalar(
                select(StarPayment)
                .where(StarPayment.user_id == user_id, StarPayment.refunded_at.is_(None))
                .order_by(StarPayment.paid_at.desc(), StarPayment.id.desc())
                .limit(1)
            )
            if payment is None:
                raise NoStarsSubscriptionError("refund.nothing", user=user_id)
            charge_id, amount = payment.charge_id, payment.amount
        already = False
        try:
            await bot.refund_star_payment(user_id=user_id, telegram_payment_charge_id=charge_id)
        except TelegramBadRequest as error:
            if ALREADY_REFUNDED not in error.message:
                raise
            already = True
        refunded = Refunded(charge_id, amount, already)
        async with uow() as session:
            await self.book_refund(session, user_id, charge_id, amount, reason=reason, now=now)
        return refunded

    async def book_refund(
        self,
        session: AsyncSession,
        user_id: int,
        charge_id: str,
        amount: int,
        *,
        now: datetime,
        reason: str = "",
    ) -> None:
        """Book a refund once: the payment marked, the Stars access ended now, the user told
        (by /refund, or by reconciliation finding one made elsewhere)."""
        marked = await session.execute(
            update(StarPayment)
            .where(StarPayment.charge_id == charge_id, StarPayment.refunded_at.is_(None))
            .values(refunded_at=now, refund_reason=reason or None)
        )
        if marked.rowcount != 1:  # type: ignore[attr-defined]
            return  # booked by someone else meanwhile (a second admin, reconciliation)
        await session.execute(
            update(Entitlement)
            .where(Entitlement.user_id == user_id, Entitlement.source == EntitlementSource.STARS)
            .values(status="canceled", expires_at=now, cancel_at_period_end=True)
        )
        commit_events.mark(session, commit_events.ENTITLEMENTS)
        params = {"amount": amount, "reason": reason}
        await outbox.enqueue(session, chat_id=user_id, kind="stars_refunded", params=params)


@dataclass(frozen=True)
class Refunded:
    charge_id: str
    amount: int
    already: bool  # Telegram said the charge had been refunded before
