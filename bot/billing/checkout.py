"""Stripe Checkout and customer-portal sessions for a Telegram user."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import users
from bot.accounts.access import entitlement_grants_access, stripe_entitlement, subscribed
from bot.billing.checkout_options import CheckoutOptions
from bot.billing.plans import Plan, PlanCatalog
from bot.billing.stripe_shapes import METADATA_USER_KEY
from bot.core.errors import (
    AlreadySubscribedError,
    BillingNotConfiguredError,
    BillingUnavailableError,
    NoCustomerError,
    RailNotOfferedError,
    UnknownPlanError,
)
from bot.core.languages import ENGLISH, stripe_locale
from bot.payments.links import Issued, PaymentLinks, Stored

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    plan: Plan
    url: str


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """Who a Checkout Session is for: the user, their Stripe customer if they have one,
    the bot Checkout returns to, and the language Checkout speaks."""

    user_id: int
    customer_id: str | None
    bot_username: str
    language: str = ENGLISH


class BillingService:
    """Creates Checkout and portal sessions; None client means Stripe is not configured."""

    def __init__(
        self,
        client: stripe.StripeClient | None,
        catalog: PlanCatalog | None,
        *,
        trial_days: int = 0,
        winback_code: str | None = None,
        offered: bool = True,
        options: CheckoutOptions | None = None,
    ) -> None:
        # offered: Stripe is one of PAYMENT_RAILS. A key may be set without it (to keep
        # serving the subscriptions of before); then no Checkout is made, for anyone.
        self.offered = offered
        self._client = client
        self._catalog = catalog
        self._trial_days = trial_days
        self._winback_code = winback_code
        self._winback_promotion: str | None = None  # the code's promo_... id, once found
        self._options = options or CheckoutOptions()

    @property
    def trial_days(self) -> int:
        return self._trial_days

    @property
    def enabled(self) -> bool:
        return self._client is not None and self._catalog is not None

    @property
    def plan_problems(self) -> dict[str, str]:
        """What Stripe refused at the last look at the plans (a price, or the key): /readyz."""
        return self._catalog.problems if self._catalog is not None else {}

    def _require(self) -> tuple[stripe.StripeClient, PlanCatalog]:
        if self._client is None or self._catalog is None:
            raise BillingNotConfiguredError
        return self._client, self._catalog

    def _require_offered(self) -> tuple[stripe.StripeClient, PlanCatalog]:
        required = self._require()
        if not self.offered:
            raise RailNotOfferedError("stripe")
        return required

    async def plans(self) -> list[Plan]:
        _, catalog = self._require()
        return await catalog.plans()

    async def plan_name(self, price_id: str | None) -> str | None:
        """The plan's Stripe name, or None when it is not known."""
        if self._catalog is None:
            return None
        return await self._catalog.name_of(price_id)

    async def prepare_checkout(
        self, session: AsyncSession, user_id: int, now: datetime
    ) -> str | None:
        """Check the user may start a Checkout; returns the Stripe customer to reuse.

        Database only: callers commit before going to Stripe, so no transaction waits on
        the network. Anyone a paid rail (Stripe or Stars) gives access is refused: a
        Checkout, even an open one made before they paid, would charge them twice.
        """
        self._require_offered()
        if await subscribed(session, user_id, now):
            raise AlreadySubscribedError
        return await users.customer_id_for(session, user_id)

    async def portal_customer(
        self, session: AsyncSession, user_id: int, now: datetime
    ) -> str | None:
        """The Stripe customer whose billing portal the user may open. With Stripe not
        offered, only while their Stripe subscription still runs: they can still stop
        paying, and nobody else is sent to Stripe."""
        self._require()
        if not self.offered:
            current = await stripe_entitlement(session, user_id)
            if current is None or not entitlement_grants_access(current, now):
                raise RailNotOfferedError("stripe")
        return await users.customer_id_for(session, user_id)

    async def checkout_links(
        self,
        links: PaymentLinks,
        request: CheckoutRequest,
        now: datetime,
        *,
        winback: bool = False,
    ) -> list[CheckoutLink]:
        """A Checkout Session per plan, for this user only, in their language: the one made
        before while Stripe says it is open, else a new one; `winback` applies
        WINBACK_PROMO_CODE (the user was offered it)."""
        client, catalog = self._require_offered()
        plans = await catalog.plans()
        promotion = await self._promotion(client) if winback else None
        return await self._links(client, links, request, plans, now=now, promotion=promotion)

    async def checkout_link(
        self, links: PaymentLinks, request: CheckoutRequest, price_id: str, now: datetime
    ) -> CheckoutLink:
        """The Checkout Session for one plan (the Mini App's Subscribe button)."""
        client, catalog = self._require_offered()
        plan = await catalog.find(price_id)
        if plan is None:
            raise UnknownPlanError(price_id)
        [link] = await self._links(client, links, request, [plan], now=now, promotion=None)
        return link

    async def _links(
        self,
        client: stripe.StripeClient,
        links: PaymentLinks,
        request: CheckoutRequest,
        plans: list[Plan],
        *,
        now: datetime,
        promotion: str | None,
    ) -> list[CheckoutLink]:
        # A session is made for a customer (or none) and with a code (or none): one made
        # otherwise is not the same offer.
        suffix = f"|{request.customer_id or '-'}|{promotion or '-'}{self._options.marker}"
        by_offer = {plan.price_id + suffix: plan for plan in plans}

        async def make(offer: str) -> Issued:
            plan = by_offer[offer]
            return await self._create_checkout(client, plan, request, promotion=promotion)

        async def still_open(stored: Stored) -> bool:
            return await self._still_open(client, stored, now)

        urls = await links.get(request.user_id, list(by_offer), make, now, still_open=still_open)
        return [CheckoutLink(plan=plan, url=urls[offer]) for offer, plan in by_offer.items()]

    async def _still_open(
        self, client: stripe.StripeClient, stored: Stored, now: datetime
    ) -> bool:
        """Whether Stripe still takes payment on a session made before (not completed, not
        expired, not expired early)."""
        if stored.ref is None:
            return False
        try:
            session = await client.v1.checkout.sessions.retrieve_async(stored.ref)
        except stripe.StripeError as error:
            log.warning("checkout session lookup failed: %s", type(error).__name__)
            return False  # a new one is made, or Stripe's outage is told as such
        return session.status == "open" and session.expires_at > now.timestamp()

    async def _create_checkout(
        self,
        client: stripe.StripeClient,
        plan: Plan,
        request: CheckoutRequest,
        *,
        promotion: str | None = None,
    ) -> Issued:
        user_id, bot_username = request.user_id, request.bot_username
        metadata = {METADATA_USER_KEY: str(user_id)}
        subscription_data: dict[str, object] = {"metadata": metadata}
        if self._trial_days:
            subscription_data["trial_period_days"] = self._trial_days
        params: dict[str, object] = {
            "mode": "subscription",
            "line_items": [{"price": plan.price_id, "quantity": 1}],
            # The return lands on /start paid, which answers with the current status.
            "success_url": f"https://t.me/{bot_username}?start=paid",
            "cancel_url": f"https://t.me/{bot_username}?start=cancel",
            "client_reference_id": str(user_id),
            "metadata": metadata,
            # Subscription events carry the Telegram id too, so they can be attributed even
            # when they arrive before checkout.session.completed.
            "subscription_data": subscription_data,
            "locale": stripe_locale(request.language),
        }
        # Stripe takes one or the other: a code already applied, or a field to type one in.
        if promotion is not None:
            params["discounts"] = [{"promotion_code": promotion}]
        else:
            params["allow_promotion_codes"] = True
        if request.customer_id:
            params["customer"] = request.customer_id
        params |= self._options.params(customer=request.customer_id, language=request.language)
        try:
            checkout = await client.v1.checkout.sessions.create_async(
                params=params  # type: ignore[arg-type]
            )
        except stripe.InvalidRequestError as error:
            if promotion is None:
                log.warning("checkout session failed for plan %s: %s", plan.price_id, error)
                raise BillingUnavailableError from error
            # The code was deactivated or deleted since it was looked up: Checkout without it.
            log.warning("WINBACK_PROMO_CODE refused by Checkout: %s", error)
            self._winback_promotion = None
            return await self._create_checkout(client, plan, request)
        except stripe.StripeError as error:
            log.warning("checkout session failed for plan %s: %s", plan.price_id, error)
            raise BillingUnavailableError from error
        if not checkout.url:
            raise BillingUnavailableError("Checkout Session has no url")
        return Issued(checkout.url, checkout.id, datetime.fromtimestamp(checkout.expires_at, UTC))

    async def _promotion(self, client: stripe.StripeClient) -> str | None:
        """The id of WINBACK_PROMO_CODE's active promotion code, looked up once. Not found
        or Stripe down: None, and Checkout keeps its field to type a code in."""
        if self._winback_code is None or self._winback_promotion is not None:
            return self._winback_promotion
        try:
            found = await client.v1.promotion_codes.list_async(
                params={"code": self._winback_code, "active": True, "limit": 1}
            )
        except stripe.StripeError as error:
            log.warning("WINBACK_PROMO_CODE lookup failed: %s", error)
            return None
        if not found.data:
            log.warning("WINBACK_PROMO_CODE is not an active promotion code in Stripe")
            return None
        self._winback_promotion = found.data[0].id
        return self._winback_promotion

    async def portal_url(
        self, customer_id: str | None, return_url: str, *, language: str = ENGLISH
    ) -> str:
        """A customer-portal link for a user who has paid before, in their `language`."""
        client, _ = self._require()
        if customer_id is None:
            raise NoCustomerError
        try:
            portal = await client.v1.billing_portal.sessions.create_async(
                params={
                    "customer": customer_id,
                    "return_url": return_url,
                    "locale": stripe_locale(language),
                }
            )
        except stripe.StripeError as error:
            log.warning("portal session failed: %s", error)
            raise BillingUnavailableError from error
        return portal.url
