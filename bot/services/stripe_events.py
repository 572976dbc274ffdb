"""Applying verified Stripe webhook events to users' entitlements, exactly once and in order."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import stripe
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.services import changes, notices, outbox, stripe_store
from bot.services.access import entitlement_grants_access
from bot.services.billing import METADATA_USER_KEY
from bot.services.errors import BillingUnavailableError
from bot.services.group_commit import GroupCommit
from bot.services.plans import PlanCatalog, format_amount

log = logging.getLogger(__name__)

# A subscription in one of these states is over for good; a same-second event must not
# bring it back.
TERMINAL_STATUSES = frozenset({"canceled", "incomplete_expired"})


class InvalidWebhookError(Exception):
    """Bad signature or payload: answered with 400 and nothing changes."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the webhook did, for the HTTP answer and the logs."""

    event_id: str
    event_type: str
    status: str  # "applied", "duplicate", "ignored"


Now = Callable[[], datetime]
Fetcher = Callable[[str], Awaitable[dict[str, Any]]]


def _utc(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def period_end(subscription: dict[str, Any]) -> datetime | None:
    """current_period_end from either API shape.

    Before 2025-03-31 it sits on the subscription; since "basil" on each item.
    """
    top = subscription.get("current_period_end")
    if top:
        return _utc(int(top))
    ends = [
        int(item["current_period_end"])
        for item in (subscription.get("items") or {}).get("data", [])
        if item.get("current_period_end")
    ]
    return _utc(max(ends)) if ends else None


def price_id_of(subscription: dict[str, Any]) -> str | None:
    for item in (subscription.get("items") or {}).get("data", []):
        price = item.get("price")
        if isinstance(price, dict) and price.get("id"):
            return str(price["id"])
        if isinstance(price, str):
            return price
    return None


def invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    """The invoice's subscription in either API shape (top level, or under parent since basil)."""
    legacy = invoice.get("subscription")
    if isinstance(legacy, dict):
        legacy = legacy.get("id")
    if legacy:
        return str(legacy)
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    modern = details.get("subscription")
    if isinstance(modern, dict):
        modern = modern.get("id")
    return str(modern) if modern else None


def invoice_period_end(invoice: dict[str, Any]) -> datetime | None:
    ends = [
        int(line["period"]["end"])
        for line in (invoice.get("lines") or {}).get("data", [])
        if (line.get("period") or {}).get("end")
    ]
    return _utc(max(ends)) if ends else None


def _object_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _telegram_id(value: Any) -> int | None:
    try:
        user_id = int(str(value))
    except (TypeError, ValueError):
        return None
    return user_id if user_id > 0 else None


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
    ) -> None:
        self._session_factory = session_factory
        # On SQLite (one writer) events waiting together share a transaction.
        self._group_commit = group_commit
        self._secret = webhook_secret
        self._client = client
        self._catalog = catalog
        self._now = now

    @property
    def enabled(self) -> bool:
        return self._secret is not None

    def verify(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event as a plain dict, or InvalidWebhookError."""
        if self._secret is None:
            raise InvalidWebhookError("STRIPE_WEBHOOK_SECRET is not set")
        if not signature:
            raise InvalidWebhookError("missing Stripe-Signature header")
        try:
            # The library's check (HMAC, 300 s tolerance) without construct_event's
            # StripeObject tree, which we only turned back into a dict: ~0.6 ms per event.
            text = payload.decode("utf-8")
            stripe.WebhookSignature.verify_header(
                text, signature, self._secret, tolerance=stripe.Webhook.DEFAULT_TOLERANCE
            )
            data = json.loads(text)
        except stripe.SignatureVerificationError as error:
            raise InvalidWebhookError("signature verification failed") from error
        except ValueError as error:  # also covers UnicodeDecodeError and JSONDecodeError
            raise InvalidWebhookError("payload is not valid JSON") from error
        if not isinstance(data, dict):
            raise InvalidWebhookError("payload is not a Stripe event")
        if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
            raise InvalidWebhookError("payload is not a Stripe event")
        if not isinstance((data.get("data") or {}).get("object"), dict):
            raise InvalidWebhookError("event has no data.object")
        return data

    async def handle(self, payload: bytes, signature: str | None) -> Outcome:
        event = self.verify(payload, signature)
        return await self.apply(event)

    async def apply(self, event: dict[str, Any]) -> Outcome:
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
        self, session: AsyncSession, event: dict[str, Any], fetched: dict[str, Any] | None
    ) -> Outcome:
        """Record and apply one event in the caller's transaction."""
        event_id, event_type = event["id"], event["type"]
        conn = await session.connection()
        created = int(event.get("created") or 0)
        if not await stripe_store.record_event(conn, event_id, event_type, created):
            return Outcome(event_id, event_type, "duplicate")
        await self._route(session, conn, event, fetched)
        return Outcome(
            event_id, event_type, "applied" if event_type in HANDLED_TYPES else "ignored"
        )

    async def _prefetch(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """checkout.session.completed names the subscription but not its state: fetch it."""
        if event["type"] != "checkout.session.completed":
            return None
        obj = event["data"]["object"]
        sub_id = _object_id(obj.get("subscription"))
        if obj.get("mode") != "subscription" or sub_id is None or self._client is None:
            return None
        try:
            # The library's raw request (auth, retries, errors) without the StripeObject
            # tree that retrieve_async builds and we would turn straight back into a dict:
            # that conversion was most of a checkout event's cost.
            response = await self._client.raw_request_async(
                "get", f"/v1/subscriptions/{quote(sub_id, safe='')}"
            )
        except stripe.InvalidRequestError:
            # Deleted or from another account: retrying will not help; the subscription
            # events (which carry their own state) still apply.
            log.warning("subscription %s of a completed checkout not found", sub_id)
            return None
        result: dict[str, Any] = response.data
        return result

    async def _warm_catalog(self) -> None:
        """Load plan names for notices before the transaction, so none waits on Stripe."""
        if self._catalog is not None:
            with contextlib.suppress(BillingUnavailableError):
                await self._catalog.plans()

    async def _route(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        event: dict[str, Any],
        fetched: dict[str, Any] | None,
    ) -> None:
        """Apply one event in the caller's transaction."""
        obj: dict[str, Any] = event["data"]["object"]
        version = int(event.get("created") or 0)
        match event["type"]:
            case "checkout.session.completed":
                await self._checkout_completed(session, conn, obj, fetched, version)
            case (
                "customer.subscription.created"
                | "customer.subscription.updated"
                | "customer.subscription.deleted"
            ):
                await self._subscription_changed(session, conn, obj, version)
            case "invoice.paid" | "invoice.payment_succeeded":
                await self._invoice_paid(session, conn, obj, version)
            case "invoice.payment_failed":
                await self._invoice_failed(session, conn, obj)
            case _:
                pass  # recorded above, so a replay is a duplicate; otherwise ignored

    async def _resolve_user(
        self, conn: AsyncConnection, obj: dict[str, Any], user_id: int | None = None
    ) -> int | None:
        """The Telegram user an object belongs to: `user_id`, its metadata, else its Stripe
        customer; the user row is made to exist and linked to that customer."""
        if user_id is None:
            user_id = _telegram_id((obj.get("metadata") or {}).get(METADATA_USER_KEY))
        customer_id = _object_id(obj.get("customer"))
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
        obj: dict[str, Any],
        fetched: dict[str, Any] | None,
        version: int,
    ) -> None:
        if obj.get("mode") != "subscription":
            return
        user_id = _telegram_id(obj.get("client_reference_id"))
        if user_id is None:
            user_id = _telegram_id((obj.get("metadata") or {}).get(METADATA_USER_KEY))
        if user_id is None:
            log.warning("checkout session %s has no Telegram user id; ignored", obj.get("id"))
            return
        await self._resolve_user(conn, obj, user_id)
        if fetched is None:
            return
        await self._apply_subscription(session, conn, user_id, fetched, version)

    async def _subscription_changed(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        subscription: dict[str, Any],
        version: int,
    ) -> None:
        user_id = await self._resolve_user(conn, subscription)
        if user_id is None:
            log.warning(
                "subscription %s belongs to no known user; ignored", subscription.get("id")
            )
            return
        await self._apply_subscription(session, conn, user_id, subscription, version)

    async def _apply_subscription(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        user_id: int,
        subscription: dict[str, Any],
        version: int,
    ) -> None:
        now = self._now()
        sub_id = str(subscription["id"])
        status = str(subscription.get("status") or "incomplete")
        stored = await stripe_store.entitlement_of_user(conn, user_id)
        before = stored.state if stored is not None else None
        had_access = before is not None and entitlement_grants_access(before, now)

        if before is not None and before.source_ref != sub_id:
            # A second subscription for the same user: a lapsed one never replaces a live one.
            if had_access and status not in {"active", "trialing", "past_due"}:
                return
        elif before is not None and (
            version < before.state_version
            or (version == before.state_version and before.status in TERMINAL_STATUSES)
        ):
            log.info("stale event for %s (version %s < %s)", sub_id, version, before.state_version)
            return

        after = stripe_store.EntitlementState(
            source_ref=sub_id,
            status=status,
            price_id=price_id_of(subscription) or (before.price_id if before else None),
            expires_at=period_end(subscription) or (before.expires_at if before else None),
            cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
            state_version=version,
        )
        await stripe_store.save_entitlement(conn, user_id, stored, after)
        changes.mark(session, changes.ENTITLEMENTS)
        await self._notify_transition(session, user_id, after, had_access, now)

    async def _notify_transition(
        self,
        session: AsyncSession,
        user_id: int,
        entitlement: stripe_store.EntitlementState,
        had_access: bool,
        now: datetime,
    ) -> None:
        has_access_now = entitlement_grants_access(entitlement, now)
        if had_access == has_access_now:
            return
        plan_name = self._plan_name(entitlement.price_id)
        if has_access_now:
            text = notices.access_started(
                plan_name, entitlement.expires_at, trialing=entitlement.status == "trialing"
            )
            await outbox.enqueue(session, chat_id=user_id, kind="access_started", text=text)
        else:
            text, markup = notices.access_ended(plan_name)
            await outbox.enqueue(
                session, chat_id=user_id, kind="access_ended", text=text, reply_markup=markup
            )

    async def _invoice_paid(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        invoice: dict[str, Any],
        version: int,
    ) -> None:
        sub_id = invoice_subscription_id(invoice)
        if sub_id is None:
            return
        stored = await stripe_store.entitlement_of_subscription(conn, sub_id)
        if stored is None:
            return
        now = self._now()
        before = stored.state
        had_access = entitlement_grants_access(before, now)
        # Extending the paid-through date is monotonic, so it is safe in any order...
        expires_at = before.expires_at
        paid_until = invoice_period_end(invoice)
        if paid_until and (expires_at is None or paid_until > expires_at):
            expires_at = paid_until
        after = replace(before, expires_at=expires_at)
        # ...but a status change only comes from an event newer than what we hold.
        if version >= before.state_version and before.status in {
            "past_due",
            "unpaid",
            "incomplete",
        }:
            after = replace(after, status="active", state_version=version)
        if after == before:
            return
        await stripe_store.save_entitlement(conn, stored.user_id, stored, after)
        changes.mark(session, changes.ENTITLEMENTS)
        await self._notify_transition(session, stored.user_id, after, had_access, now)

    async def _invoice_failed(
        self, session: AsyncSession, conn: AsyncConnection, invoice: dict[str, Any]
    ) -> None:
        user_id = None
        sub_id = invoice_subscription_id(invoice)
        if sub_id is not None:
            user_id = await stripe_store.user_of_subscription(conn, sub_id)
        if user_id is None:
            user_id = await self._resolve_user(conn, invoice)
        if user_id is None:
            log.warning("failed invoice %s belongs to no known user", invoice.get("id"))
            return
        amount_due = invoice.get("amount_due")
        currency = invoice.get("currency")
        amount = (
            format_amount(int(amount_due), str(currency))
            if amount_due is not None and currency
            else None
        )
        text, markup = notices.payment_failed(amount)
        await outbox.enqueue(
            session, chat_id=user_id, kind="payment_failed", text=text, reply_markup=markup
        )

    def _plan_name(self, price_id: str | None) -> str:
        return self._catalog.cached_name(price_id) if self._catalog else "Subscription"


HANDLED_TYPES = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
    }
)
