"""A batch of Stripe events decided together, in order, exactly as if each were applied
alone after the one before it. Pure: bot/billing/stripe_events.py reads what the batch
needs in a few statements (what to read: lookups(), then reads()), asks decide(), and
writes what it returns with one statement per table.

Each event does what it does alone (bot/billing/entitlements.py decides every entitlement
state, so an older event never overwrites a newer one), and sees what the events before it
in the batch changed: a customer's link to a user, a user's entitlement. An event that
needs something the reads did not cover (an earlier event of the batch moved a customer
or a subscription where nobody looked) ends the decisions there: the caller writes what
was decided, reads again for the rest and decides them next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.accounts.entitlement_writes import EntitlementState
from bot.billing import entitlements, history
from bot.billing.stripe_shapes import (
    INVOICE_FAILED_TYPE,
    CheckoutSession,
    Invoice,
    StripeEvent,
    Subscription,
)
from bot.notices.kinds import NoticeKind

log = logging.getLogger(__name__)

PlanName = Callable[[str | None], str | None]
Notice = tuple[int, NoticeKind, dict[str, Any]]  # chat id, kind, params: an outbox row


@dataclass(frozen=True, slots=True)
class Unit:
    """One verified event, with the subscription a completed Checkout names, fetched from
    Stripe before the transaction."""

    event: StripeEvent
    fetched: Subscription | None = None


@dataclass(frozen=True, slots=True)
class Lookups:
    """Read first, without locks, as an event alone reads them before it locks its user:
    who each customer pays for; whose entitlement each failed invoice's subscription is."""

    customers: frozenset[str]
    subscriptions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Found:
    """The lookups' answers: those not found are not in the maps."""

    lookups: Lookups
    user_of_customer: Mapping[str, int]
    user_of_subscription: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Reads:
    """Read next, in this order: the users locked (created if need be) in ascending order,
    so two batches never take two users in opposite orders; the customer links of those
    users and of `customers`; the Stripe entitlements of those users and of
    `subscriptions`, locked."""

    users: tuple[int, ...]
    customers: frozenset[str]
    subscriptions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Held:
    """A user's Stripe entitlement: its row id (None until written) and its state."""

    id: int | None
    user_id: int
    state: EntitlementState


@dataclass(frozen=True, slots=True)
class Loaded:
    found: Found
    reads: Reads
    links: Mapping[str, int]  # customer -> user, the rows read
    entitlements: Sequence[Held]


@dataclass(frozen=True, slots=True)
class LinkWrite:
    """A write of stripe_customers, in the order decided: `user_id` None drops the
    customer's row; otherwise the user's row now names the customer (an upsert)."""

    user_id: int | None
    customer_id: str


@dataclass
class Decided:
    """What the first len(outcomes) units of the batch do."""

    outcomes: list[str] = field(default_factory=list)  # "applied" or "ignored"
    link_writes: list[LinkWrite] = field(default_factory=list)
    # Each user's Stripe entitlement as the batch leaves it: one write per user.
    entitlements: dict[int, EntitlementState] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    # Users whose subscription is paid for the first time, in order: a referrer's bonus.
    first_payments: list[int] = field(default_factory=list)
    history: list[history.Entry] = field(default_factory=list)  # what was applied, in order


def _failed_invoice(unit: Unit) -> Invoice | None:
    obj = unit.event.object
    return obj if isinstance(obj, Invoice) and unit.event.type == INVOICE_FAILED_TYPE else None


def lookups(units: Sequence[Unit]) -> Lookups:
    customers: set[str] = set()
    subscriptions: set[str] = set()
    for unit in units:
        obj = unit.event.object
        invoice = _failed_invoice(unit)
        if invoice is not None and invoice.subscription_id is not None:
            subscriptions.add(invoice.subscription_id)
        resolved = obj if isinstance(obj, Subscription) else invoice
        if resolved is not None and resolved.telegram_user_id is None and resolved.customer:
            customers.add(resolved.customer)
    return Lookups(frozenset(customers), frozenset(subscriptions))


def _claim(unit: Unit, found: Found) -> tuple[int, str | None] | None:
    """The user (and customer) an event makes sure of, as the database stands."""
    obj = unit.event.object
    if isinstance(obj, CheckoutSession):
        user_id = obj.telegram_user_id if obj.mode == "subscription" else None
        return (user_id, obj.customer) if user_id is not None else None
    invoice = _failed_invoice(unit)
    if invoice is not None and invoice.subscription_id in found.user_of_subscription:
        return None  # its user is known through its subscription: nothing claimed
    if isinstance(obj, Subscription) or invoice is not None:
        assert isinstance(obj, Subscription | Invoice)
        user_id = obj.telegram_user_id
        if user_id is None and obj.customer:
            user_id = found.user_of_customer.get(obj.customer)
        return (user_id, obj.customer) if user_id is not None else None
    return None


def reads(units: Sequence[Unit], found: Found) -> Reads:
    users: set[int] = set()
    customers: set[str] = set()
    subscriptions = {
        unit.event.object.subscription_id
        for unit in units
        if isinstance(unit.event.object, Invoice) and unit.event.object.subscription_id
    }
    for unit in units:
        claim = _claim(unit, found)
        if claim is not None:
            users.add(claim[0])
            if claim[1]:
                customers.add(claim[1])
    return Reads(tuple(sorted(users)), frozenset(customers), frozenset(subscriptions))


def notice_params(change: entitlements.Change, plan_name: PlanName) -> dict[str, object]:
    """What an access notice says (data, not words: the renderer words a missing plan)."""
    params: dict[str, object] = {"plan": plan_name(change.after.price_id)}
    if change.notice is entitlements.Notice.ACCESS_STARTED:
        expires = change.after.expires_at
        params["until"] = expires.isoformat() if expires else None
        params["trial"] = change.after.status == "trialing"
    return params


def failed_payment_params(invoice: Invoice) -> dict[str, object]:
    retry = invoice.next_payment_attempt
    return {
        "amount": invoice.amount_due,
        "currency": invoice.currency,
        "next_attempt": datetime.fromtimestamp(retry, UTC).isoformat() if retry else None,
    }


class _NotRead(Exception):
    """The event needs what the reads did not cover; raised before it changed anything."""


def decide(
    units: Sequence[Unit],
    loaded: Loaded,
    now: datetime,
    grace: timedelta,
    plan_name: PlanName,
) -> Decided:
    """The units in order, as far as the reads cover them (always the first: the reads
    were made for it as the database stands)."""
    batch = _Batch(loaded, now, grace, plan_name)
    for unit in units:
        try:
            applied = batch.apply(unit)
        except _NotRead:
            break
        batch.decided.outcomes.append("applied" if applied else "ignored")
    return batch.decided


class _Batch:
    """The database as the events decided so far leave it, over what was read. Every
    check that can raise _NotRead comes before an event's first change."""

    def __init__(
        self, loaded: Loaded, now: datetime, grace: timedelta, plan_name: PlanName
    ) -> None:
        self._loaded = loaded
        self._locked = frozenset(loaded.reads.users)
        self._links = dict(loaded.links)  # customer -> user
        self._customer_of = {user: customer for customer, user in loaded.links.items()}
        self._moved: set[str] = set()  # customers whose link this batch wrote
        # Subscriptions whose entitlement this batch wrote (or took away from a row).
        self._moved_subscriptions: set[str] = set()
        self._held = {held.user_id: held for held in loaded.entitlements}
        self._now, self._grace, self._plan_name = now, grace, plan_name
        self.decided = Decided()

    def apply(self, unit: Unit) -> bool:
        """One event; False when it concerns nobody we know (or is of a type we do not
        handle): the answer then says "ignored"."""
        obj, version = unit.event.object, unit.event.created
        if isinstance(obj, CheckoutSession):
            return self._checkout_completed(obj, unit.fetched, version)
        if isinstance(obj, Subscription):
            return self._subscription_changed(obj, version)
        if isinstance(obj, Invoice) and unit.event.type == INVOICE_FAILED_TYPE:
            return self._invoice_failed(obj, version)
        if isinstance(obj, Invoice):
            return self._invoice_paid(obj, version)
        return False  # recorded all the same, so a replay is a duplicate

    # --- what an event reads -------------------------------------------------------------

    def _user_of_customer(self, customer_id: str) -> int | None:
        """Looked up before the locks (or moved by this batch since), as an event alone
        looks it up: the users locked were chosen by that answer."""
        if customer_id in self._moved:
            return self._links.get(customer_id)
        if customer_id not in self._loaded.found.lookups.customers:
            raise _NotRead
        return self._loaded.found.user_of_customer.get(customer_id)

    def _resolve(self, user_id: int | None, customer_id: str | None) -> int | None:
        """stripe_events.StripeEventProcessor.resolve_user, over the batch."""
        if user_id is None and customer_id:
            user_id = self._user_of_customer(customer_id)
        if user_id is not None:
            self._claim(user_id, customer_id)
        return user_id

    def _entitlement_of_subscription(self, subscription_id: str) -> Held | None:
        """Read locked, after the users (with what this batch wrote over it)."""
        if subscription_id not in self._loaded.reads.subscriptions:
            raise _NotRead
        rows = [h for h in self._held.values() if h.state.source_ref == subscription_id]
        return min(rows, key=lambda h: (h.id is None, h.id or 0), default=None)

    def _user_of_subscription(self, subscription_id: str) -> int | None:
        """A failed invoice's user: looked up before the locks, as an event alone looks
        it up (whether its user is claimed was chosen by that answer), unless this batch
        wrote an entitlement of that subscription since."""
        if subscription_id in self._moved_subscriptions:
            held = self._entitlement_of_subscription(subscription_id)
            return held.user_id if held is not None else None
        if subscription_id not in self._loaded.found.lookups.subscriptions:
            raise _NotRead
        return self._loaded.found.user_of_subscription.get(subscription_id)

    # --- what an event changes -----------------------------------------------------------

    def _claim(self, user_id: int, customer_id: str | None) -> None:
        """stripe_store.claim_user, over the batch: the user exists (locked) and, when
        known, pays through `customer_id`."""
        if user_id not in self._locked:
            raise _NotRead
        if customer_id is None:
            return
        if customer_id not in self._loaded.reads.customers and customer_id not in self._moved:
            raise _NotRead
        owner = self._links.get(customer_id)
        if owner == user_id:
            return
        if owner is not None:  # the customer paid for another Telegram id before
            self.decided.link_writes.append(LinkWrite(None, customer_id))
            del self._customer_of[owner]
        previous = self._customer_of.get(user_id)
        if previous is not None:
            del self._links[previous]
            self._moved.add(previous)
        self.decided.link_writes.append(LinkWrite(user_id, customer_id))
        self._links[customer_id] = user_id
        self._customer_of[user_id] = customer_id
        self._moved.add(customer_id)

    def _save(
        self, user_id: int, held: Held | None, change: entitlements.Change, version: int
    ) -> None:
        before = held.state if held is not None else None
        self._history(history.state_entry(user_id, before, change.after, version))
        if held is not None and held.state.source_ref:
            self._moved_subscriptions.add(held.state.source_ref)
        if change.after.source_ref:
            self._moved_subscriptions.add(change.after.source_ref)
        self._held[user_id] = Held(held.id if held else None, user_id, change.after)
        self.decided.entitlements[user_id] = change.after
        became_active = held is None or held.state.status != "active"
        if change.after.status == "active" and became_active:
            self.decided.first_payments.append(user_id)
        if change.notice is not None:
            params = notice_params(change, self._plan_name)
            self.decided.notices.append((user_id, NoticeKind(change.notice), params))

    # --- the events ----------------------------------------------------------------------

    def _checkout_completed(
        self, checkout: CheckoutSession, fetched: Subscription | None, version: int
    ) -> bool:
        if checkout.mode != "subscription":
            return False
        user_id = checkout.telegram_user_id
        if user_id is None:
            log.warning("checkout session %s has no Telegram user id; ignored", checkout.id)
            return False
        self._claim(user_id, checkout.customer)
        if fetched is not None:
            self._apply_subscription(user_id, fetched, version)
        return True

    def _subscription_changed(self, subscription: Subscription, version: int) -> bool:
        user_id = self._resolve(subscription.telegram_user_id, subscription.customer)
        if user_id is None:
            log.warning("subscription %s belongs to no known user; ignored", subscription.id)
            return False
        self._apply_subscription(user_id, subscription, version)
        return True

    def _apply_subscription(self, user_id: int, subscription: Subscription, version: int) -> None:
        held = self._held.get(user_id)  # read for every locked user, so for this one
        before = held.state if held is not None else None
        change = entitlements.on_subscription(
            before, subscription, version, self._now, self._grace
        )
        if change is None:
            log.info("stale event for %s (version %s)", subscription.id, version)
            return
        self._save(user_id, held, change, version)

    def _invoice_paid(self, invoice: Invoice, version: int) -> bool:
        if invoice.subscription_id is None:
            return False
        held = self._entitlement_of_subscription(invoice.subscription_id)
        if held is None:
            return False
        change = entitlements.on_invoice_paid(held.state, invoice, version, self._now)
        self._history(history.paid_entry(held.user_id, held.state, invoice, version))
        if change is not None:
            self._save(held.user_id, held, change, version)
        return True

    def _invoice_failed(self, invoice: Invoice, version: int) -> bool:
        user_id = None
        if invoice.subscription_id is not None:
            user_id = self._user_of_subscription(invoice.subscription_id)
        if user_id is None:
            user_id = self._resolve(invoice.telegram_user_id, invoice.customer)
        if user_id is None:
            log.warning("failed invoice %s belongs to no known user", invoice.id)
            return False
        params = failed_payment_params(invoice)
        self.decided.notices.append((user_id, NoticeKind.PAYMENT_FAILED, params))
        self._history(history.failed_entry(user_id, invoice, version))
        return True

    def _history(self, entry: history.Entry | None) -> None:
        if entry is not None:
            self.decided.history.append(entry)
