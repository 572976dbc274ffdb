"""What a Stars pre-checkout and a Stars payment decide, without a database or the network.

Telegram asks the bot to confirm each payment (pre_checkout_query, answered within 10 s)
before it takes the Stars; renewals are charged without asking and arrive as payments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.safe_input import first_unsafe_char
from bot.stars.payload import Offer

CURRENCY = "XTR"
SUBSCRIPTION_PERIOD = 2_592_000  # 30 days: the only period Telegram allows
PERIOD = timedelta(seconds=SUBSCRIPTION_PERIOD)


class Refusal:
    """Why a pre-checkout is refused: catalogue ids of what the user reads."""

    NOT_OURS = "stars.refused.not_ours"
    SOMEONE_ELSE = "stars.refused.someone_else"
    STALE_PRICE = "stars.refused.stale_price"
    ALREADY_SUBSCRIBED = "stars.refused.already_subscribed"
    OFF = "stars.refused.off"


@dataclass(frozen=True)
class Checkout:
    """A pre_checkout_query as the rule reads it."""

    payer_id: int
    currency: str
    total_amount: int
    offer: Offer | None  # the verified payload; None when it is not ours


def refusal(checkout: Checkout, price_now: int | None, has_access: bool) -> str | None:
    """None to let the payment through; otherwise the reason to show the user."""
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
    return None


@dataclass(frozen=True)
class Payment:
    """A successful_payment in Stars, or one found by reconciliation."""

    charge_id: str
    user_id: int
    amount: int
    paid_until: datetime
    recurring: bool  # a renewal charged by Telegram, not the first payment


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


def after_payment(before: StarsState | None, payment: Payment, ended: bool) -> StarsState:
    """The Stars entitlement after a payment: the paid-through date only ever extended,
    renewal on (Telegram charges only a subscription that renews). A payment once the last
    subscription has ended starts a new one, named by its own charge id; otherwise the
    subscription keeps its first charge id (what editUserStarSubscription names)."""
    if before is None or ended:
        return StarsState(payment.charge_id, payment.paid_until, False)
    return StarsState(before.subscription_ref, max(before.expires_at, payment.paid_until), False)
