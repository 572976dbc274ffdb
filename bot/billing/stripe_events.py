"""Applying verified Stripe webhook events to users' entitlements, exactly once and in order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import stripe
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.accounts import entitlement_writes, referrals
from bot.billing import entitlements, event_sets, history, stripe_store
from bot.billing.plans import PlanCatalog
from bot.billing.stripe_shapes import (
    CheckoutSession,
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


def _event_id(event: StripeEvent) -> str:
    return event.id


@dataclass(frozen=True, slots=True)
class _Queued:
    """One event waiting in the group commit (a SetWork): applied alone when called, or
    with the rest of its batch through `together`."""

    unit: event_sets.Unit
    together: Callable[[AsyncSession, Sequence[_Queued]], Awaitable[list[Outcome]]]

    async def __call__(self, session: AsyncSession) -> Outcome:
        (outcome,) = await self.together(session, [self])
        return outcome


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
        self._together = self._apply_together  # one object: what GroupCommit compares

    async def close(self) -> None:
        """Give back what the group commit keeps (a connection, on PostgreSQL)."""
        if self._group_commit is not None:
            await self._group_commit.close()

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
        work = _Queued(event_sets.Unit(event, fetched), self._together)
        if self._group_commit is not None:
            outcome: Outcome = await self._group_commit.run(work)
        else:
            async with self._session_factory() as session, session.begin():
                outcome = await work(session)
        log.info("stripe event %s (%s) %s", outcome.event_id, outcome.event_type, outcome.status)
        return outcome

    async def _apply_together(
        self, session: AsyncSession, works: Sequence[_Queued]
    ) -> list[Outcome]:
        """A group commit's batch of events, in one call (GroupCommit's SetWork)."""
        return await self.apply_units(session, [work.unit for work in works])

    async def apply_units(
        self, session: AsyncSession, units: Sequence[event_sets.Unit]
    ) -> list[Outcome]:
        """Record and apply these events, in order, in the caller's transaction, as if each
        were applied alone after the one before it: the batch's reads and writes are one
        statement per table (bot/billing/event_sets.py decides what each event does)."""
        conn = await session.connection()
        firsts: dict[str, int] = {}
        for index, unit in enumerate(units):
            firsts.setdefault(unit.event.id, index)  # a second copy is a duplicate
        # In the order of their ids: two batches sharing two events (replays in flight)
        # wait for each other's in one order, never in opposite orders.
        recorded = await stripe_store.record_events(
            conn, sorted((units[index].event for index in firsts.values()), key=_event_id)
        )
        statuses = ["duplicate"] * len(units)
        todo = [index for index in firsts.values() if units[index].event.id in recorded]
        now = self._now()
        while todo:
            pending = [units[index] for index in todo]
            loaded = await self._read(conn, pending)
            decided = event_sets.decide(pending, loaded, now, self._grace, self.plan_name)
            if not decided.outcomes:  # the reads are made for the first: never happens
                raise RuntimeError("a batch's reads did not cover its first event")
            await self._write(session, conn, decided, now)
            for index, status in zip(todo, decided.outcomes, strict=False):
                statuses[index] = status
            todo = todo[len(decided.outcomes) :]
        return [Outcome(u.event.id, u.event.type, s) for u, s in zip(units, statuses, strict=True)]

    async def _read(
        self, conn: AsyncConnection, units: Sequence[event_sets.Unit]
    ) -> event_sets.Loaded:
        """What the units need, in the order one event alone reads it: the lookups, then
        the users locked, their customer links, their entitlements (locked)."""
        found = await stripe_store.look_up(conn, event_sets.lookups(units))
        reads = event_sets.reads(units, found)
        await stripe_store.lock_users(conn, reads.users)
        links = await stripe_store.links_of(conn, reads.users, reads.customers)
        stored = await stripe_store.entitlements_for_update(conn, reads.users, reads.subscriptions)
        held = [event_sets.Held(row.id, row.user_id, row.state) for row in stored]
        return event_sets.Loaded(found, reads, links, held)

    async def _write(
        self,
        session: AsyncSession,
        conn: AsyncConnection,
        decided: event_sets.Decided,
        now: datetime,
    ) -> None:
        """A statement per table: customer links, entitlements, notices; then the
        referrers' bonuses (rare: a referred user's first payment)."""
        await stripe_store.write_links(conn, decided.link_writes)
        await entitlement_writes.save_states(session, decided.entitlements)
        await history.append(conn, decided.history)
        await outbox.enqueue_many(session, decided.notices)
        if self._referral_bonus:
            for user_id in decided.first_payments:
                await referrals.reward(session, user_id, now, self._referral_bonus)

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
        before = stored.state if stored is not None else None
        version = change.after.state_version
        entry = history.state_entry(user_id, before, change.after, version)
        await history.append(conn, [entry] if entry is not None else [])
        # The first time a subscription is paid for (active, not a trial): a referrer's bonus.
        became_active = stored is None or stored.state.status != "active"
        if change.after.status == "active" and became_active and self._referral_bonus:
            await referrals.reward(session, user_id, self._now(), self._referral_bonus)
        if change.notice is None:
            return
        params = event_sets.notice_params(change, self.plan_name)
        await outbox.enqueue(
            session, chat_id=user_id, kind=NoticeKind(change.notice), params=params
        )

    def plan_name(self, price_id: str | None) -> str | None:
        """The plan's Stripe name (data, not words: the renderer words a missing one)."""
        return self._catalog.cached_name(price_id) if self._catalog else None
