"""The plans on offer: STRIPE_PRICE_IDS, with names and amounts fetched from Stripe and cached."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import stripe

from bot.errors import BillingUnavailableError

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


class PlanCatalog:
    """Fetches the configured prices once and serves them from memory for CACHE_SECONDS."""

    def __init__(self, client: stripe.StripeClient, price_ids: list[str]) -> None:
        self._client = client
        self._price_ids = list(price_ids)
        self._plans: list[Plan] | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

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
            try:
                prices = await asyncio.gather(
                    *(
                        self._client.v1.prices.retrieve_async(
                            price_id, params={"expand": ["product"]}
                        )
                        for price_id in self._price_ids
                    )
                )
            except stripe.StripeError as error:
                log.warning("could not load plans from Stripe: %s", type(error).__name__)
                if self._plans is not None:
                    return self._plans  # stale beats nothing while Stripe is away
                raise BillingUnavailableError from error
            self._plans = [plan_from_price(price.to_dict()) for price in prices]
            self._fetched_at = time.monotonic()
            return self._plans

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
