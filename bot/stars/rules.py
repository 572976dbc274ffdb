"""What a Stars pre-checkout and a Stars payment decide, without a database or the network.

Telegram asks the bot to confirm each payment (pre_checkout_query, answered within 10 s)
before it takes the Stars; renewals are charged without asking and arrive as payments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.safe_input import first_unsafe_char
from bot.stars.payload import Offer

CURRENCY = "XTR"
SUBSCRIPTION_PERIOD = 2_592_000  # 30 days: the only period Telegram allows
PERIOD = timedelta(seconds=SUBSCRIPTION_PERIOD)
# How long an approved pre-checkout holds off another one of the same user. Telegram takes
# the Stars within seconds of the bot's yes; three minutes covers a slow network and a
# retried update, and a payment that failed at Telegram blocks a new try only that long.
HOLD = timedelta(minutes=3)
# Telegram charges a renewal when the period ends. A payment found by reconciliation (which
# does not say whether it renews) counts as a renewal when it came this close to the end;
# a first payment made earlier, while the period was running, is a second subscription.
RENEWAL_SLACK = timedelta(days=1)


class Refusal:
    """Why a pre-checkout is refused: catalogue ids of what the user reads."""

    NOT_OURS = "stars.refused.not_ours"
    SOMEONE_ELSE = "stars.refused.someone_else"
    STALE_PRICE = "stars.refused.stale_price"
    ALREADY_SUBSCRIBED = "stars.refused.already_subscribed"
    PAYING = "stars.refused.paying"
    OFF = "stars.refused.off"
    CONSENT = "consent.required"  # the risk disclaimer's current version not accepted


@dataclass(frozen=True)
class Checkout:
    """A pre_checkout_query as the rule reads it."""

    payer_id: int
    currency: str
    total_amount: int
    offer: Offer | None  # the verified payload; None when it is not ours


def holding(approved_at: datetime | None, now: datetime) -> bool:
    """Whether a pre-checkout approved at `approved_at` (and not paid yet) still holds off
    another one: within HOLD of it, either way (a clock moved back holds no longer)."""
    return approved_at is not None and abs(now - approved_at) < HOLD


def refusal(
    checkout: Checkout, price_now: int | None, has_access: bool, *, paying: bool = False
) -> str | None:
    """None to let the payment through; otherwise the reason to show the user. `paying`:
    another invoice of theirs was approved moments ago and its payment has not arrived."""
    if price_now is None:
        return Refusal.OFF
    offer = checkout.offer
    if offer is None or checkout.currency != CURRENCY:
        return Refusal.NOT_OURS
    if offer.user_id != checkout.payer_id:
        return Refusal.SOMEONE_ELSE
    if offer.price != price_now or checkout.total_amount != price_now:
        return Refusal.STALE_PRICE
    if has_access:
        return Refusal.ALREADY_SUBSCRIBED
    return Refusal.PAYING if paying else None


@dataclass(frozen=True)
class Payment:
    """A successful_payment in Stars, or one found by reconciliation."""

    charge_id: str
    user_id: int
    amount: int
    paid_until: datetime
    # A renewal charged by Telegram (True), a subscription's first payment (False), or not
    # known (None: getStarTransactions does not say).
    recurring: bool | None
    paid_at: datetime | None = None  # when Telegram took the Stars; None: as it is booked
    # Reconciliation read its refund in the same list: booked in the ledger only, so the
    # user is not told "access started" (nor the referrer paid) only to have it taken back.
    refund_listed: bool = False


MAX_CHARGE_ID = 255  # star_payments.charge_id
MAX_AMOUNT = 1_000_000  # far above any price Telegram allows (10,000 for a subscription)


def unbookable(payment: Payment) -> str | None:
    """Why a payment cannot be booked (values no real payment has), or None."""
    charge = payment.charge_id
    if not charge or len(charge) > MAX_CHARGE_ID or first_unsafe_char(charge) is not None:
        return "the charge id is empty, too long or has control characters"
    if not 1 <= payment.amount <= MAX_AMOUNT:
        return f"the amount {payment.amount} is out of range"
    return None


@dataclass(frozen=True)
class StarsState:
    """The Stars entitlement's columns a payment sets."""

    subscription_ref: str  # the first payment's charge id
    expires_at: datetime
    cancel_at_period_end: bool
    # The payment for its latest period was refunded (/refund, or found refunded): the
    # subscription is over for good, and a renewal of it is given back (Booking.REFUND).
    refunded: bool = False


def after_payment(before: StarsState | None, payment: Payment, booking: Booking) -> StarsState:
    """The Stars entitlement after a payment booked as `booking`: the paid-through date only
    ever extended, renewal on (Telegram charges only a subscription that renews). A renewal
    keeps the subscription's first charge id (what editUserStarSubscription names), however
    late it comes; anything else is a subscription of its own, named by its charge id."""
    if before is None or booking != Booking.RENEW:
        return StarsState(payment.charge_id, payment.paid_until, False)
    return StarsState(before.subscription_ref, max(before.expires_at, payment.paid_until), False)


class Booking(StrEnum):
    """What a new payment does to the user's Stars access (`booking`)."""

    START = "start"  # a subscription starts: access, its notice, a referrer's bonus
    RENEW = "renew"  # the subscription's next period (even when it had ended meanwhile)
    PAST = "past"  # found by reconciliation over already, or refunded: the ledger only
    DUPLICATE = "duplicate"  # a second subscription beside a running one: refund, stop it
    # A renewal of a subscription whose running period was refunded (its stop did not
    # land): the user asked for their money back, so it is refunded at once and stopped.
    REFUND = "refund"


def booking(before: StarsState | None, payment: Payment, ended: bool, now: datetime) -> Booking:
    """How a payment not booked before is booked.

    A live payment (`recurring` known) is never judged by the local clock alone: a clock
    ahead must not turn a real payment into one that gives nothing, so only reconciliation
    (`recurring` None, dated by Telegram) books a period that is over as PAST. A renewal
    renews the user's subscription even when the access ended meanwhile (the bot was down)
    unless its running period was refunded. A first payment while a subscription of the
    user is running is a second subscription (two invoices paid at once), refunded and
    stopped at once."""
    if payment.recurring is None:
        return _found(before, payment, ended, now)
    if payment.recurring:
        if before is None:  # its first payment not booked yet: access, and nothing else
            return Booking.START
        return Booking.REFUND if before.refunded else Booking.RENEW
    return Booking.START if before is None or ended else Booking.DUPLICATE


def _found(before: StarsState | None, payment: Payment, ended: bool, now: datetime) -> Booking:
    """A payment found by reconciliation, which does not say whether it renews: by when
    Telegram charged it (a renewal is charged when the period ends)."""
    if payment.refund_listed or payment.paid_until <= now:
        return Booking.PAST
    if before is None or before.refunded:  # a refunded subscription renews no more
        return Booking.START if before is None or ended else Booking.DUPLICATE
    paid_at = payment.paid_at or now
    if ended and abs(paid_at - before.expires_at) > RENEWAL_SLACK:
        return Booking.START  # not charged when the last period ended: a new subscription
    return Booking.RENEW if paid_at >= before.expires_at - RENEWAL_SLACK else Booking.DUPLICATE
