"""Prices and their products: the Price object as Stripe builds it (and the legacy Plan a
subscription item still embeds), a test registering one, GET /v1/prices/{id} and
GET /v1/products/{id}."""

from __future__ import annotations

import time

from tests.support.fakes.stripe_api.errors import _no_such
from tests.support.fakes.stripe_api.params import _expand_list
from tests.support.fakes.stripe_api.wire import JSONDict


def _price_object(
    price_id: str,
    *,
    product: str,
    unit_amount: int,
    currency: str,
    interval: str | None,
    interval_count: int,
    active: bool,
    created: int,
) -> JSONDict:
    recurring: JSONDict | None = None
    if interval is not None:
        recurring = {
            "interval": interval,
            "interval_count": interval_count,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
    return {
        "id": price_id,
        "object": "price",
        "active": active,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product,
        "recurring": recurring,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring is not None else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def _plan_from_price(price: JSONDict) -> JSONDict:
    """Build the legacy Plan mirror Stripe still embeds next to each subscription item price."""
    recurring = price.get("recurring") or {}
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring.get("interval", "month"),
        "interval_count": recurring.get("interval_count", 1),
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": None,
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


class PriceRoutes:
    """FakeStripe's prices and products."""

    # FakeStripe's state (server.py), which its __init__ sets up.
    products: dict[str, JSONDict]
    prices: dict[str, JSONDict]

    def add_price(
        self,
        price_id: str,
        *,
        product_name: str,
        unit_amount: int,
        currency: str = "usd",
        interval: str | None = "month",
        interval_count: int = 1,
        active: bool = True,
        product_id: str | None = None,
    ) -> JSONDict:
        """Register a price (and its product); ``interval=None`` makes a one-time price."""
        created = int(time.time())
        product_id = product_id or "prod_" + price_id.removeprefix("price_")
        self.products[product_id] = {
            "id": product_id,
            "object": "product",
            "active": True,
            "created": created,
            "default_price": price_id,
            "description": None,
            "images": [],
            "livemode": False,
            "marketing_features": [],
            "metadata": {},
            "name": product_name,
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": None,
            "tax_code": None,
            "unit_label": None,
            "updated": created,
            "url": None,
        }
        price = _price_object(
            price_id,
            product=product_id,
            unit_amount=unit_amount,
            currency=currency,
            interval=interval,
            interval_count=interval_count,
            active=active,
            created=created,
        )
        self.prices[price_id] = price
        return price

    async def _get_price(self, ids: tuple[str, ...], params: JSONDict) -> JSONDict:
        price = self.prices.get(ids[0])
        if price is None:
            raise _no_such("price", ids[0], param="price")
        expand = _expand_list(params, ("product",))
        if "product" in expand:
            return {**price, "product": self.products[price["product"]]}
        return price

    async def _get_product(self, ids: tuple[str, ...], params: JSONDict) -> JSONDict:
        product = self.products.get(ids[0])
        if product is None:
            raise _no_such("product", ids[0])
        _expand_list(params, ())
        return product
