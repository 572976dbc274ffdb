"""The plans on offer: STRIPE_PRICE_IDS, with names and amounts fetched from Stripe and cached.

Stripe refusing a price (no such price, an archived one) or the key is a setting to fix,
not an outage: the other plans are still offered, and the refusal is one log line in
Stripe's words and a line in /readyz. Only Stripe not answering is "cannot be reached".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import stripe

from bot.billing.stripe_client import stripe_words
from bot.core.errors import BillingUnavailableError

log = logging.getLogger(__name__)

CACHE_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Plan:
    price_id: str
    name: str
    unit_amount: int
    currency: str
    interval: str | None
    interval_count: int


def plan_from_price(price: dict[str, Any]) -> Plan:
    product = price.get("product")
    name = product.get("name") if isinstance(product, dict) else None
    recurring = price.get("recurring") or {}
    return Plan(
        price_id=str(price["id"]),
        name=str(name or price.get("nickname") or price["id"]),
        unit_amount=int(price.get("unit_amount") or 0),
        currency=str(price.get("currency") or "usd"),
        interval=recurring.get("interval"),
        interval_count=int(recurring.get("interval_count") or 1),
    )


KEY = "STRIPE_API_KEY"  # the problems' entry when Stripe refuses the key itself


@dataclass(slots=True)
class PriceLook:
    """What one look at the configured prices found."""

    plans: list[Plan] = field(default_factory=list)
    # A price id (or KEY) -> why it is not offered, in Stripe's words.
    problems: dict[str, str] = field(default_factory=dict)
    outage: stripe.StripeError | None = None  # Stripe did not answer: nothing is known


def _unsellable(price: dict[str, Any]) -> str | None:
    """Why Checkout would refuse a subscription to this price (Stripe's own rules)."""
    if price.get("active") is False:
        return "the price is archived in Stripe (active: false)"
    if price.get("type") == "one_time":
        return "a one-time price; a subscription needs a recurring one"
    return None


def sort_prices(price_ids: Sequence[str], answers: Sequence[object]) -> PriceLook:
    """Each configured price's answer (a price, or the error retrieving it) sorted into
    plans on offer, refusals to report, and an outage that decides nothing."""
    look = PriceLook()
    for price_id, answer in zip(price_ids, answers, strict=True):
        if isinstance(answer, dict):
            problem = _unsellable(answer)
            if problem is None:
                look.plans.append(plan_from_price(answer))
            else:
                look.problems[price_id] = problem
        elif isinstance(answer, stripe.AuthenticationError | stripe.PermissionError):
            look.problems = {KEY: stripe_words(answer)}  # every price fails the same way
            look.plans = []
            return look
        elif isinstance(answer, stripe.InvalidRequestError):
            look.problems[price_id] = stripe_words(answer)
        elif isinstance(answer, stripe.StripeError):
            look.outage = answer
        elif isinstance(answer, BaseException):
            raise answer  # a bug of ours, not Stripe's answer
    return look


class PlanCatalog:
    """Fetches the configured prices once and serves them from memory for CACHE_SECONDS."""

    def __init__(self, client: stripe.StripeClient, price_ids: list[str]) -> None:
        self._client = client
        self._price_ids = list(price_ids)
        self._plans: list[Plan] | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        # What Stripe refused at the last look (a price id or KEY -> its words): /readyz.
        self.problems: dict[str, str] = {}

    @property
    def price_ids(self) -> list[str]:
        return list(self._price_ids)

    async def plans(self) -> list[Plan]:
        """All configured plans in STRIPE_PRICE_IDS order."""
        if self._plans is not None and time.monotonic() - self._fetched_at < CACHE_SECONDS:
            return self._plans
        async with self._lock:
            if self._plans is not None and time.monotonic() - self._fetched_at < CACHE_SECONDS:
                return self._plans
            answers = await asyncio.gather(
                *(self._retrieve(price_id) for price_id in self._price_ids),
                return_exceptions=True,
            )
            look = sort_prices(self._price_ids, answers)
            if look.outage is not None:
                log.warning("could not load plans from Stripe: %s", type(look.outage).__name__)
                if self._plans is not None:
                    return self._plans  # stale beats nothing while Stripe is away
                raise BillingUnavailableError from look.outage
            self._report(look.problems)
            self._plans = look.plans
            self._fetched_at = time.monotonic()
            return self._plans

    async def _retrieve(self, price_id: str) -> dict[str, Any]:
        price = await self._client.v1.prices.retrieve_async(
            price_id, params={"expand": ["product"]}
        )
        return price.to_dict()

    def _report(self, problems: dict[str, str]) -> None:
        """One line per refusal when it first appears (the cache is refreshed every ten
        minutes; the operator needs the line once, /readyz has it all along)."""
        for name, words in problems.items():
            if self.problems.get(name) == words:
                continue
            if name == KEY:
                log.warning(
                    "STRIPE_API_KEY: Stripe refused the key (%s); no plan is offered", words
                )
            else:
                log.warning("STRIPE_PRICE_IDS: %s is not offered: %s", name, words)
        self.problems = problems

    async def find(self, price_id: str) -> Plan | None:
        for plan in await self.plans():
            if plan.price_id == price_id:
                return plan
        return None

    def cached_name(self, price_id: str | None) -> str | None:
        """A plan's name from the last successful fetch only: never waits on Stripe.
        None when it is not known (the texts then say "Subscription")."""
        for plan in self._plans or []:
            if plan.price_id == price_id:
                return plan.name
        return None

    async def name_of(self, price_id: str | None) -> str | None:
        """A plan's Stripe name for status messages; never fails."""
        if price_id is None:
            return None
        with contextlib.suppress(BillingUnavailableError):
            await self.plans()
        return self.cached_name(price_id)
