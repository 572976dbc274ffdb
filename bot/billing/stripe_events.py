"""Applying verified Stripe webhook events to users' entitlements, exactly once and in order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import stripe
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.accounts import entitlement_writes, referrals
from bot.billing import entitlements, stripe_store
from bot.billing.plans import PlanCatalog
from bot.billing.stripe_shapes import (
    INVOICE_FAILED_TYPE,
    CheckoutSession,
    Invoice,
    MalformedEventError,
    StripeEvent,
    Subscription,
    parse_event,
    parse_subscription,
)
from bot.core.errors import BillingUnavailableError
from bot.core.safe_input import UnsafeInputError, loads_json
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.transactions.group_commit import GroupCommit

log = logging.getLogger(__name__)


class InvalidWebhookError(Exception):
    """Bad signature or payload: answered with 400 and nothing changes."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the webhook did, for the HTTP answer and the logs."""

    event_id: str
    event_type: str
    status: str  # "applied", "duplicate", "ignored"


Now = Callable[[], datetime]


class StripeEventProcessor:
    """Verifies a webhook body and applies the event in one transaction.

    Deduplicated on event.id, ordered by event.created per entitlement: events arrive late,
    twice and out of order, and an older one never overwrites newer state.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        webhook_secret: str | None,
        *,
        client: stripe.StripeClient | None,
        catalog: PlanCatalog | None,
        group_commit: GroupCommit | None = None,
        now: Now = lambda: datetime.now(UTC),
        grace: timedelta = entitlements.DEFAULT_GRACE,
        referral_bonus_days: int | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._referral_bonus = referral_bonus_days
        # On SQLite (one writer) events waiting together share a transaction.
        self._group_commit = group_commit
        self._secret = webhook_secret
        self._client = client
        self._catalog = catalog
        self._now = now
        self._grace = grace

    @property
    def enabled(self) -> bool:
        return self._secret is not None

    def verify(self, payload: bytes, signature: str | None) -> StripeEvent:
        """The verified event with its object checked, or InvalidWebhookError."""
        if self._secret is None:
            raise InvalidWebhookError("STRIPE_WEBHOOK_SECRET is not set")
        if not signature:
            raise InvalidWebhookError("missing Stripe-Signature header")
        if not signature.isascii():
            # Stripe's header is ASCII; the library's str compare raises TypeError on more.
            raise InvalidWebhookError("signature verification failed")
        try:
            # The library's check (HMAC, 300 s tolerance) without construct_event's
            # StripeObject tree, which we only turned back into a dict: ~0.6 ms per event.
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"),
                signature,
                self._secret,
                tolerance=stripe.Webhook.DEFAULT_TOLERANCE,
            )
        except stripe.SignatureVerificationError as error:
            raise InvalidWebhookError("signature verification failed") from error
        except ValueError as error:  # UnicodeDecodeError: a body Stripe cannot have signed
            raise InvalidWebhookError("payload is not valid JSON") from error
        try:
            return parse_event(loads_json(payload))
        except UnsafeInputError as error:
            raise InvalidWebhookError(f"payload is not valid JSON: {error}") from None
        except MalformedEventError as error:
            raise InvalidWebhookError(f"not a Stripe event we can read: {error}") from None

    async def apply(self, event: StripeEvent) -> Outcome:
        # Network calls happen before the transaction so no lock is held while Stripe answers.
        fetched = await self._prefetch(event)
        await self._warm_catalog()

        async def work(session: AsyncSession) -> Outcome:
            return await self._apply_in(session, event, fetched)

        if self._group_commit is not None:
            outcome = await self._group_commit.run(work)
        else:
            async with self._session_factory() as session, session.begin():
                outcome = await work(session)
        log.info("stripe event %s (%s) %s", outcome.event_id, outcome.event_type, outcome.status)
        return outcome

    async def _apply_in(
        self, session: AsyncSession, event: StripeEvent, fetched: Subscription | None
    ) -> Outcome:
        """Record and apply one event in the caller's transaction."""
        conn = await session.connection()
        if not await stripe_store.record_event(conn, event.id, event.type, event.created):
            return Outcome(event.id, event.type, "duplicate")
        applied = await self._route(session, conn, event, fetched)
        return Outcome(event.id, event.type, "applied" if applied else "ignored")

    async def _prefetch(self, event: StripeEvent) -> Subscription | None:
        """checkout.session.completed names the subscription but not its state: fetch it."""
        obj = event.object
        if not isinstance(obj, CheckoutSession) or obj.mode != "subscription":
            return None
        if obj.subscription is None or self._client is None:
            return None
        try:
            # The library's raw request (auth, retries, errors) without the StripeObject
            # tree that retrieve_async builds and we would turn straight back into a dict:
            # that conversion was most of a checkout event's cost.
            response = await self._client.raw_request_async(
                "get", f"/v1/subscriptions/{quote(obj.subscription, safe='')}"
            )
        except stripe.InvalidRequestError:
            # Deleted or from another account: retrying will not help; the subscription
            # events (which carry their own state) still apply.
            log.warning("subscription %s of a completed checkout not found", obj.subscription)
            return None
        subscription = parse_subscription(response.data)
        if subscription is None:
            log.warning("subscription %s of a completed checkout is unreadable", obj.subscription)
        return subscription

    async def _warm_catalog(self) -> None:
        """Load plan names for notices before the transaction, so none waits on Stripe."""
        if self._catalog is not None:
            with contextlib.suppress(BillingUnavailableError):
                await self._catalog.plans()

    async def _route(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        event: StripeEvent,
        fetched: Subscription | None,
    ) -> bool:
        """Apply one event in the caller's transaction; False when it concerns nobody we
        know (or is of a type we do not handle): the answer then says "ignored"."""
        obj, version = event.object, event.created
        if isinstance(obj, CheckoutSession):
            return await self._checkout_completed(session, conn, obj, fetched, version)
        if isinstance(obj, Subscription):
            return await self._subscription_changed(session, conn, obj, version)
        if isinstance(obj, Invoice) and event.type == INVOICE_FAILED_TYPE:
            return await self._invoice_failed(session, conn, obj)
        if isinstance(obj, Invoice):
            return await self._invoice_paid(session, conn, obj, version)
        return False  # recorded above all the same, so a replay is a duplicate

    async def resolve_user(
        self, conn: AsyncConnection, user_id: int | None, customer_id: str | None
    ) -> int | None:
        """The Telegram user an object belongs to: `user_id` (from its metadata), else its
        Stripe customer's; the user row is made to exist and linked to that customer."""
        if user_id is None and customer_id:
            user_id = await stripe_store.user_of_customer(conn, customer_id)
        if user_id is None:
            return None
        await stripe_store.claim_user(conn, user_id, customer_id)
        return user_id

    async def _checkout_completed(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        checkout: CheckoutSession,
        fetched: Subscription | None,
        version: int,
    ) -> bool:
        if checkout.mode != "subscription":
            return False
        user_id = checkout.telegram_user_id
        if user_id is None:
            log.warning("checkout session %s has no Telegram user id; ignored", checkout.id)
            return False
        await self.resolve_user(conn, user_id, checkout.customer)
        if fetched is not None:
            await self._apply_subscription(session, conn, user_id, fetched, version)
        return True

    async def _subscription_changed(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        subscription: Subscription,
        version: int,
    ) -> bool:
        user_id = await self.resolve_user(
            conn, subscription.telegram_user_id, subscription.customer
        )
        if user_id is None:
            log.warning("subscription %s belongs to no known user; ignored", subscription.id)
            return False
        await self._apply_subscription(session, conn, user_id, subscription, version)
        return True

    async def _apply_subscription(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        user_id: int,
        subscription: Subscription,
        version: int,
    ) -> None:
        stored = await stripe_store.entitlement_of_user(conn, user_id)
        before = stored.state if stored is not None else None
        change = entitlements.on_subscription(
            before, subscription, version, self._now(), self._grace
        )
        if change is None:
            log.info("stale event for %s (version %s)", subscription.id, version)
            return
        await self.save_change(session, conn, user_id, stored, change)

    async def _invoice_paid(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        invoice: Invoice,
        version: int,
    ) -> bool:
        sub_id = invoice.subscription_id
        if sub_id is None:
            return False
        stored = await stripe_store.entitlement_of_subscription(conn, sub_id)
        if stored is None:
            return False
        change = entitlements.on_invoice_paid(stored.state, invoice, version, self._now())
        if change is not None:
            await self.save_change(session, conn, stored.user_id, stored, change)
        return True

    async def save_change(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        user_id: int,
        stored: stripe_store.StoredEntitlement | None,
        change: entitlements.Change,
    ) -> None:
        """Write the new state, and tell the user when their access started or ended."""
        stored_id = stored.id if stored is not None else None
        await entitlement_writes.save_state(session, user_id, stored_id, change.after)
        # The first time a subscription is paid for (active, not a trial): a referrer's bonus.
        became_active = stored is None or stored.state.status != "active"
        if change.after.status == "active" and became_active and self._referral_bonus:
            await referrals.reward(session, user_id, self._now(), self._referral_bonus)
        if change.notice is None:
            return
        params: dict[str, object] = {"plan": self.plan_name(change.after.price_id)}
        if change.notice is entitlements.Notice.ACCESS_STARTED:
            expires = change.after.expires_at
            params["until"] = expires.isoformat() if expires else None
            params["trial"] = change.after.status == "trialing"
        await outbox.enqueue(
            session, chat_id=user_id, kind=NoticeKind(change.notice), params=params
        )

    async def _invoice_failed(
        self, session: AsyncSession, conn: AsyncConnection, invoice: Invoice
    ) -> bool:
        user_id = None
        if invoice.subscription_id is not None:
            user_id = await stripe_store.user_of_subscription(conn, invoice.subscription_id)
        if user_id is None:
            user_id = await self.resolve_user(conn, invoice.telegram_user_id, invoice.customer)
        if user_id is None:
            log.warning("failed invoice %s belongs to no known user", invoice.id)
            return False
        retry = invoice.next_payment_attempt
        params = {
            "amount": invoice.amount_due,
            "currency": invoice.currency,
            "next_attempt": datetime.fromtimestamp(retry, UTC).isoformat() if retry else None,
        }
        await outbox.enqueue(
            session, chat_id=user_id, kind=NoticeKind.PAYMENT_FAILED, params=params
        )
        return True

    def plan_name(self, price_id: str | None) -> str | None:
        """The plan's Stripe name (data, not words: the renderer words a missing one)."""
        return self._catalog.cached_name(price_id) if self._catalog else None
