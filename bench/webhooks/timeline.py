"""One subscriber's life as Stripe reports it: the sign-up burst, maybe a scheduled cancel,
a renewal that may fail (and recover, or end), maybe the end.

`created` only orders events (the server never compares it with the clock), so a whole
life fits in the last few hours; the periods inside the objects are real month/year
lengths, so access starts and ends as it would live. Every choice is drawn from the plan's
seeded RNG, in a fixed order, so reruns send the same events."""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from bench.shared.basics import JSON, PRICE_MONTHLY
from bench.webhooks.stripe_objects import DAY, PRICE_YEARLY, Ids, checkout_session, price_object
from bench.webhooks.stripe_objects import invoice as make_invoice
from tests.support.fakes.stripe_api import make_event, make_subscription

METADATA_KEY = "telegram_user_id"  # what BillingService puts on Checkout and subscriptions
FIRST_USER_ID = 700_000_001


@dataclass
class Timeline:
    events: list[JSON] = field(default_factory=list)
    checkout_subscription: JSON | None = None


class _Life:
    """One subscriber while their events are emitted: who they are, their plan, the clock."""

    def __init__(self, rng: Random, new_id: Ids, index: int, signup: int) -> None:
        self.rng = rng
        self.new_id = new_id
        self.user_id = FIRST_USER_ID + index
        self.customer = f"cus_{new_id('', 14)}"
        self.sub_id = f"sub_1{new_id('', 23)}"
        yearly = rng.random() < 0.2
        self.price = price_object(PRICE_YEARLY if yearly else PRICE_MONTHLY)
        self.length = (365 if yearly else 30) * DAY
        self.metadata = {METADATA_KEY: str(self.user_id)}
        self.timeline = Timeline()
        self.clock = signup

    def later(self) -> None:
        """The next step of this life comes one to ten minutes later."""
        self.clock += self.rng.randint(60, 600)

    def subscription(
        self, status: str, period: tuple[int, int], *, cancel_at_period_end: bool = False
    ) -> JSON:
        return make_subscription(
            self.sub_id,
            customer=self.customer,
            price_id=self.price["id"],
            price=self.price,
            status=status,
            current_period_start=period[0],
            current_period_end=period[1],
            metadata=self.metadata,
            cancel_at_period_end=cancel_at_period_end,
        )

    def invoice(
        self, subscription: JSON, *, paid: bool, reason: str, period: tuple[int, int]
    ) -> JSON:
        return make_invoice(
            self.new_id,
            user_id=self.user_id,
            customer=self.customer,
            subscription=subscription,
            paid=paid,
            reason=reason,
            period=period,
            created=self.clock,
        )

    def emit(self, kind: str, obj: JSON, at: int, previous: JSON | None = None) -> None:
        self.timeline.events.append(
            make_event(
                kind,
                obj,
                event_id=self.new_id("evt_1", 23),
                created=at,
                previous_attributes=previous,
            )
        )


def user_timeline(
    rng: Random, new_id: Ids, index: int, signup: int, period_start: int
) -> Timeline:
    """The index-th subscriber's life, signing up at `signup`, the first period from
    `period_start`."""
    life = _Life(rng, new_id, index, signup)
    period = (period_start, period_start + life.length)
    first = _sign_up(life, period)
    cancel_scheduled = rng.random() < 0.2
    if cancel_scheduled:
        life.emit(
            "customer.subscription.updated",
            life.subscription("active", period, cancel_at_period_end=True),
            life.clock,
            {"cancel_at_period_end": False},
        )
        life.later()
    renewal = (period[1], period[1] + life.length)
    if rng.random() < 0.25:
        if not _failed_renewal(life, first, renewal):
            return life.timeline
    elif not cancel_scheduled:
        _renewal(life, first, renewal)
    life.later()
    if cancel_scheduled or rng.random() < 0.1:
        life.emit(
            "customer.subscription.deleted", life.subscription("canceled", period), life.clock
        )
    return life.timeline


def _sign_up(life: _Life, period: tuple[int, int]) -> JSON:
    """Created, maybe Checkout completed, the first invoice paid; returns the subscription."""
    first = life.subscription("trialing" if life.rng.random() < 0.1 else "active", period)
    life.emit("customer.subscription.created", first, life.clock)
    if life.rng.random() < 0.6:
        checkout = checkout_session(
            life.new_id,
            user_id=life.user_id,
            customer=life.customer,
            subscription=first,
            created=life.clock,
        )
        life.emit("checkout.session.completed", checkout, life.clock + 1)
        life.timeline.checkout_subscription = first
    paid = life.invoice(first, paid=True, reason="subscription_create", period=period)
    life.emit("invoice.paid", paid, life.clock + 2)
    life.later()
    return first


def _failed_renewal(life: _Life, first: JSON, renewal: tuple[int, int]) -> bool:
    """The renewal's payment fails, then half the time succeeds on a retry (True: the life
    goes on); otherwise Stripe gives up after its retries and cancels (False: it is over)."""
    failed = life.invoice(first, paid=False, reason="subscription_cycle", period=renewal)
    life.emit("invoice.payment_failed", failed, life.clock)
    life.emit(
        "customer.subscription.updated",
        life.subscription("past_due", renewal),
        life.clock + 1,
        {"status": "active"},
    )
    life.later()
    if life.rng.random() < 0.5:
        recovered = {**failed, "status": "paid", "amount_paid": failed["amount_due"]}
        recovered["amount_remaining"] = 0
        life.emit("invoice.paid", recovered, life.clock)
        life.emit(
            "customer.subscription.updated",
            life.subscription("active", renewal),
            life.clock + 1,
            {"status": "past_due"},
        )
        return True
    life.emit("customer.subscription.deleted", life.subscription("canceled", renewal), life.clock)
    return False


def _renewal(life: _Life, first: JSON, renewal: tuple[int, int]) -> None:
    """The renewal paid on the first try."""
    cycle = life.invoice(first, paid=True, reason="subscription_cycle", period=renewal)
    life.emit("invoice.paid", cycle, life.clock)
    life.emit(
        "customer.subscription.updated",
        life.subscription("active", renewal),
        life.clock + 1,
        {"latest_invoice": None},
    )
