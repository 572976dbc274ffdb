"""The Stars ledger: invoices, payments into the entitlements, renewal on and off, refunds.

Every write goes through the caller's unit of work; every Bot API call happens outside a
transaction (bot/transactions/unit_of_work.py), so a method that needs both takes the unit
and opens it itself around the database part only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import LabeledPrice
from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import access, consents, entitlement_writes, referrals
from bot.accounts.access import entitlement_grants_access
from bot.audit import log as audit
from bot.audit.log import Actor
from bot.core.errors import DomainError
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.notices.params import AccessStarted, Until
from bot.stars import ledger, rules
from bot.stars.ledger import NoStarsSubscriptionError
from bot.stars.payload import Offer, PayloadSigner
from bot.transactions.unit_of_work import UnitOfWork
from db.engine import insert_ignoring_conflicts
from db.models import Entitlement, EntitlementSource, StarCheckout, StarPayment

log = logging.getLogger(__name__)
_PAYMENTS = cast(Table, StarPayment.__table__)
_INSERT_PAYMENT = {
    name: statement.returning(_PAYMENTS.c.id)
    for name, statement in insert_ignoring_conflicts(_PAYMENTS, _PAYMENTS.c.charge_id).items()
}
# Telegram's answer when the charge was refunded before (by us, or by Telegram support).
ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"
# The refund reason booked for a second subscription refunded at once.
DUPLICATE = "second subscription"
# ... and for a renewal Telegram still charged after the running period was refunded.
RENEWAL_AFTER_REFUND = "renewal of a refunded subscription"


class StarsOffError(DomainError):
    """STARS_PRICE is not set: there is no Stars rail."""


@dataclass(frozen=True)
class Invoice:
    """What the chat or the Mini App shows for the Stars rail."""

    title: str
    description: str


@dataclass(frozen=True)
class Recorded:
    new: bool  # False: this charge was recorded before (a replayed update)
    paid_until: datetime | None = None
    duplicate: bool = False  # a second subscription still to refund (undo_duplicate)


class StarsService:
    def __init__(
        self,
        bot_token: str,
        price: int | None,
        *,
        referral_bonus_days: int | None = None,
        offered: bool = True,
    ) -> None:
        self._signer = PayloadSigner(bot_token)
        self.price = price
        self._referral_bonus = referral_bonus_days
        # PAYMENT_RAILS without stars while STARS_PRICE stays set: renewals of running
        # subscriptions are still booked, but no new payment is taken.
        self._offered = offered

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
        self, session: AsyncSession, checkout: rules.Checkout, now: datetime, disclaimer: str
    ) -> str | None:
        """None to take the payment, or why not (a catalogue id), well inside Telegram's
        10 s. A yes is remembered (star_checkouts) until the payment arrives, so a second
        invoice of the same user is refused meanwhile: two would be two subscriptions.

        The payer must have accepted the `disclaimer` version current now: a link made
        before (stored, or before the text changed) takes no Stars without it."""
        price_now = self.price if self._offered else None
        refusal = rules.refusal(checkout, price_now, has_access=False)
        if refusal is not None:
            return refusal
        user_id = checkout.payer_id
        if not await consents.accepted(session, user_id, disclaimer):
            return rules.Refusal.CONSENT
        await ledger.lock_user(session, user_id)  # two pre-checkouts of one user, one at a time
        held = await session.get(StarCheckout, user_id)
        refusal = rules.refusal(
            checkout,
            self.price,
            has_access=await access.subscribed(session, user_id, now),
            paying=held is not None and rules.holding(held.approved_at, now),
        )
        if refusal is None:
            if held is None:
                session.add(StarCheckout(user_id=user_id, approved_at=now))
            else:
                held.approved_at = now
            await session.flush()
        return refusal

    async def record_payment(
        self, session: AsyncSession, payment: rules.Payment, now: datetime
    ) -> Recorded:
        """Book a payment once per charge id, with its notice in the same transaction; a
        charge seen before changes nothing. A second subscription beside a running one is
        booked as owed back (`Recorded.duplicate`: the caller refunds it after commit)."""
        await ledger.lock_user(session, payment.user_id)
        row = await access.entitlement_of(
            session, payment.user_id, EntitlementSource.STARS, lock=True
        )
        before = (
            rules.StarsState(
                row.source_ref or "",
                row.expires_at,
                row.cancel_at_period_end,
                refunded=await ledger.refunded(session, row.source_ref or ""),
            )
            if row is not None and row.expires_at is not None
            else None
        )
        ended = row is None or not entitlement_grants_access(row, now)
        booking = rules.booking(before, payment, ended, now)
        after = rules.after_payment(before, payment, booking)
        if payment.recurring is not True:  # the payment an approved pre-checkout awaited
            await session.execute(
                delete(StarCheckout).where(StarCheckout.user_id == payment.user_id)
            )
        owed = booking in (rules.Booking.DUPLICATE, rules.Booking.REFUND)
        if not await self._insert(session, payment, booking, before, now):
            return Recorded(new=False, duplicate=await ledger.owed(session, payment.charge_id))
        if owed or booking == rules.Booking.PAST:
            # Over already, or to be refunded: it starts nothing and tells nobody yet.
            return Recorded(new=True, duplicate=owed)
        if row is None:
            row = Entitlement(user_id=payment.user_id, source=EntitlementSource.STARS)
        row.status, row.source_ref = "active", after.subscription_ref
        row.expires_at, row.cancel_at_period_end = after.expires_at, after.cancel_at_period_end
        row.state_version = int(now.timestamp())
        await entitlement_writes.save(session, row)
        started = booking == rules.Booking.START
        # A referrer's bonus for a first payment only: never for a renewal Telegram charged,
        # even one that restarts access after the bot missed the end of the period.
        if started and payment.recurring is not True and self._referral_bonus:
            await referrals.reward(session, payment.user_id, now, self._referral_bonus)
        until = after.expires_at.isoformat()
        if started:
            began: AccessStarted = {"source": "stars", "until": until, "trial": False}
            await outbox.enqueue(
                session, chat_id=payment.user_id, kind=NoticeKind.ACCESS_STARTED, params=began
            )
        else:
            renewed: Until = {"until": until}
            await outbox.enqueue(
                session, chat_id=payment.user_id, kind=NoticeKind.STARS_RENEWED, params=renewed
            )
        return Recorded(new=True, paid_until=after.expires_at)

    async def _insert(
        self,
        session: AsyncSession,
        payment: rules.Payment,
        booking: rules.Booking,
        before: rules.StarsState | None,
        now: datetime,
    ) -> bool:
        """The ledger row, unless the charge is there already (False)."""
        running = before.subscription_ref if before is not None else payment.charge_id
        # A renewal (given back or not) belongs to its subscription; a payment that joins
        # none is a subscription of its own.
        joins = booking in (rules.Booking.RENEW, rules.Booking.REFUND)
        owed_to = {rules.Booking.DUPLICATE: running, rules.Booking.REFUND: running}
        connection = await session.connection()
        inserted = await connection.execute(
            _INSERT_PAYMENT[connection.dialect.name],
            {
                "charge_id": payment.charge_id,
                "user_id": payment.user_id,
                "amount": payment.amount,
                "subscription_ref": running if joins else payment.charge_id,
                "paid_until": payment.paid_until,
                "recurring": bool(payment.recurring),
                "paid_at": payment.paid_at or now,
                "duplicate_of": owed_to.get(booking),
            },
        )
        return inserted.scalar() is not None

    async def undo_duplicate(
        self, bot: Bot, uow: UnitOfWork, user_id: int, charge_id: str, now: datetime
    ) -> bool:
        """Give back a payment owed back (a second subscription, or a renewal of a refunded
        one): stop its subscription's renewal (editUserStarSubscription, by its first charge
        id) whatever the refund does, then refund it (refundStarPayment) and tell the user.
        False when the refund failed: it stays owed (star_payments.duplicate_of, refunded_at
        NULL), and the next reconciliation (from the ledger) or an admin naming it refunds it."""
        async with uow() as session:
            owed = (
                await session.execute(
                    select(StarPayment.subscription_ref, StarPayment.duplicate_of).where(
                        StarPayment.charge_id == charge_id
                    )
                )
            ).first()
        subscription, owed_to = owed if owed is not None else (charge_id, None)
        reason = RENEWAL_AFTER_REFUND if subscription == owed_to else DUPLICATE
        try:
            await bot.edit_user_star_subscription(
                user_id=user_id, telegram_payment_charge_id=subscription, is_canceled=True
            )
        except TelegramAPIError as error:  # ended or refunded at Telegram already, or down
            log.warning("stars %s: renewal not stopped: %s", charge_id[:64], error.message)
        try:
            await bot.refund_star_payment(user_id=user_id, telegram_payment_charge_id=charge_id)
        except TelegramAPIError as error:  # a refusal, or Telegram out of reach
            if not (isinstance(error, TelegramBadRequest) and ALREADY_REFUNDED in error.message):
                log.error(
                    "stars %s: the payment owed back to user %s was not refunded (%s); "
                    "the next reconciliation tries again",
                    charge_id[:64],
                    user_id,
                    type(error).__name__,
                )
                return False
        async with uow() as session:
            await self.book_refund(session, user_id, charge_id, now=now, reason=reason)
        return True

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
        the paid period either way. Stopping stops every subscription of the user that
        could still renew (a second one whose refund failed, say), not only the running one."""
        async with uow() as session:
            row = await self.subscription(session, user_id, now)
            if row is None or not row.source_ref:
                raise NoStarsSubscriptionError("stars.no_subscription")
            charge_id = row.source_ref
            others = [] if renew else await ledger.renewable(session, user_id, now, but=charge_id)
        await bot.edit_user_star_subscription(
            user_id=user_id, telegram_payment_charge_id=charge_id, is_canceled=not renew
        )
        for other in others:
            try:
                await bot.edit_user_star_subscription(
                    user_id=user_id, telegram_payment_charge_id=other, is_canceled=True
                )
            except TelegramAPIError as error:  # ended or refunded at Telegram already
                log.info("stars %s: renewal not stopped: %s", other[:64], error.message)
        async with uow() as session:
            stored = await access.stars_entitlement(session, user_id)
            if stored is None:  # refunded meanwhile: Telegram's side is changed, ours gone
                raise NoStarsSubscriptionError("stars.no_subscription")
            stored.cancel_at_period_end = not renew
            await entitlement_writes.save(session, stored)
        return stored

    async def refund(
        self,
        bot: Bot,
        uow: UnitOfWork,
        user_id: int,
        reason: str,
        now: datetime,
        *,
        charge_id: str | None = None,
        actor: Actor | None = None,
    ) -> Refunded:
        """Refund the payment whose period is running (refundStarPayment), or the one
        `charge_id` names, and book it (the user told; access ends when it was the running
        one). Telegram's "already refunded" counts as done."""
        async with uow() as session:
            payment = await ledger.refundable(session, user_id, now, charge_id)
            charge_id, amount = payment.charge_id, payment.amount
            subscription = payment.subscription_ref
        already = False
        try:
            await bot.refund_star_payment(user_id=user_id, telegram_payment_charge_id=charge_id)
        except TelegramBadRequest as error:
            if ALREADY_REFUNDED not in error.message:
                raise
            already = True
        async with uow() as session:
            ended = await self.book_refund(session, user_id, charge_id, reason=reason, now=now)
            if actor is not None:
                after = {"charge_id": charge_id, "amount": amount, "already": already}
                await audit.record(
                    session, actor, audit.Action.REFUND, now, subject_id=user_id, after=after
                )
        if ended:
            # The money for the running period is back: the subscription must not charge
            # again in 30 days. Should this stop not land, the renewal is given back when it
            # comes (Booking.REFUND), so the refunded user never pays again unasked.
            try:
                await bot.edit_user_star_subscription(
                    user_id=user_id, telegram_payment_charge_id=subscription, is_canceled=True
                )
            except TelegramAPIError as error:
                log.warning("stars %s: renewal not stopped: %s", subscription[:64], error.message)
        return Refunded(charge_id, amount, already, ended=ended)

    async def book_refund(
        self,
        session: AsyncSession,
        user_id: int,
        charge_id: str,
        *,
        now: datetime,
        reason: str = "",
    ) -> bool:
        """Book a refund once: the payment marked, the user told (by /refund, at once for a
        second subscription, or by reconciliation finding one made elsewhere). The Stars
        access ends now only when the refunded payment paid for the running period (True);
        a referrer's bonus for the user's payment is taken back when none is left."""
        payment = await session.scalar(
            select(StarPayment)
            .where(StarPayment.charge_id == charge_id, StarPayment.refunded_at.is_(None))
            .with_for_update()
        )
        if payment is None:
            return False  # booked by someone else meanwhile (a second admin, reconciliation)
        payment.refunded_at, payment.refund_reason = now, reason or None
        ended = payment.duplicate_of is None and await ledger.end_access(session, payment, now)
        await session.flush()
        if self._referral_bonus and not await ledger.kept_payments(session, user_id):
            await referrals.take_back(session, user_id, self._referral_bonus)
        params: dict[str, object] = {"amount": payment.amount, "reason": reason, "ended": ended}
        kind = NoticeKind.STARS_REFUNDED
        if payment.duplicate_of == payment.subscription_ref:
            # A renewal of a refunded subscription: given back, and no access (there was none).
            params = {"amount": payment.amount, "reason": "", "ended": True}
        elif payment.duplicate_of is not None:
            kind, params = NoticeKind.STARS_DUPLICATE_REFUNDED, {"amount": payment.amount}
        await outbox.enqueue(session, chat_id=user_id, kind=kind, params=params)
        return ended


@dataclass(frozen=True)
class Refunded:
    charge_id: str
    amount: int
    already: bool  # Telegram said the charge had been refunded before
    ended: bool = True  # the running period's payment: the Stars access ended with it
