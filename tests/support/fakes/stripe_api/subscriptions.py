"""Subscriptions: the Subscription object as Stripe builds it (the billing period on its
item since API version 2025-03-31.basil, on itself before), a test registering one,
GET /v1/subscriptions/{id} with its expansions and the paged GET /v1/subscriptions."""

from __future__ import annotations

from tests.support.fakes.stripe_api.customers import make_customer
from tests.support.fakes.stripe_api.errors import _invalid, _no_such
from tests.support.fakes.stripe_api.params import _expand_list, _list_limit
from tests.support.fakes.stripe_api.prices import _plan_from_price, _price_object
from tests.support.fakes.stripe_api.wire import JSONDict, _rand_id

INTERVAL_SECONDS = {"day": 86_400, "week": 7 * 86_400, "month": 30 * 86_400, "year": 365 * 86_400}


def make_subscription(
    sub_id: str,
    *,
    customer: str,
    price_id: str,
    status: str = "active",
    current_period_end: int,
    metadata: dict[str, str] | None = None,
    basil: bool = True,
    cancel_at_period_end: bool = False,
    current_period_start: int | None = None,
    price: JSONDict | None = None,
    quantity: int = 1,
) -> JSONDict:
    """Build a realistic Subscription; ``basil`` puts the period on ``items.data[0]`` only.

    Pass ``price`` (e.g. ``fake.prices[price_id]``) to embed a registered price; otherwise a
    plausible $10/month price is synthesised for ``price_id``.
    """
    if price is None:
        price = _price_object(
            price_id,
            product="prod_" + price_id.removeprefix("price_"),
            unit_amount=1000,
            currency="usd",
            interval="month",
            interval_count=1,
            active=True,
            created=current_period_end - 400 * 86_400,
        )
    recurring = price.get("recurring") or {"interval": "month", "interval_count": 1}
    if current_period_start is None:
        length = INTERVAL_SECONDS[recurring["interval"]] * int(recurring["interval_count"])
        current_period_start = current_period_end - length
    created = current_period_start
    period = {
        "current_period_start": current_period_start,
        "current_period_end": current_period_end,
    }
    item: JSONDict = {
        "id": _rand_id("si_", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": created,
        "discounts": [],
        "metadata": {},
        "plan": _plan_from_price(price),
        "price": price,
        "quantity": quantity,
        "subscription": sub_id,
        "tax_rates": [],
    }
    if basil:
        # Since API version 2025-03-31.basil the billing period lives on each item.
        item.update(period)
    canceled = status == "canceled"
    sub: JSONDict = {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": current_period_start,
        "billing_cycle_anchor_config": None,
        "billing_thresholds": None,
        "cancel_at": current_period_end if cancel_at_period_end else None,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": current_period_end if canceled else None,
        "cancellation_details": {
            "comment": None,
            "feedback": None,
            "reason": "cancellation_requested" if canceled or cancel_at_period_end else None,
        },
        "collection_method": "charge_automatically",
        "created": created,
        "currency": price["currency"],
        "customer": customer,
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": current_period_end if canceled else None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": [item],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": created,
        "status": status,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": current_period_end if status == "trialing" else None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": current_period_start if status == "trialing" else None,
    }
    if not basil:
        # Pre-basil shape: period on the subscription, plus the single-plan shortcut fields.
        sub.update(period)
        sub["plan"] = item["plan"]
        sub["quantity"] = quantity
    return sub


class SubscriptionRoutes:
    """FakeStripe's subscriptions."""

    # FakeStripe's state (server.py), which its __init__ sets up.
    customers: dict[str, JSONDict]
    products: dict[str, JSONDict]
    subscriptions: dict[str, JSONDict]
    list_pages_served: int

    def add_subscription(self, sub: JSONDict) -> None:
        """Store a full subscription object (see ``make_subscription``) under its id."""
        self.subscriptions[sub["id"]] = sub

    async def _list_subscriptions(self, _ids: tuple[str, ...], params: JSONDict) -> JSONDict:
        """GET /v1/subscriptions as Stripe pages it: newest first, `limit` 1-100 (10 by
        default), `starting_after` an id of the list, `has_more`; without `status=all`
        cancelled subscriptions are left out; `customer` filters."""
        limit = _list_limit(params.get("limit"))
        status = params.get("status")
        if status not in (
            None,
            "all",
            "active",
            "past_due",
            "unpaid",
            "canceled",
            "incomplete",
            "incomplete_expired",
            "trialing",
            "paused",
            "ended",
        ):
            raise _invalid("status", f"Invalid status: must be one of all, active, ... ({status})")
        subs = list(reversed(self.subscriptions.values()))  # added last = created last
        if status is None:
            subs = [s for s in subs if s["status"] not in ("canceled", "incomplete_expired")]
        elif status != "all":
            subs = [s for s in subs if s["status"] == status]
        if params.get("customer"):
            subs = [s for s in subs if s.get("customer") == params["customer"]]
        after = params.get("starting_after")
        if after:
            ids = [s["id"] for s in subs]
            if after not in ids:
                raise _no_such("subscription", str(after), status=400, param="starting_after")
            subs = subs[ids.index(after) + 1 :]
        self.list_pages_served += 1
        return {
            "object": "list",
            "url": "/v1/subscriptions",
            "has_more": len(subs) > limit,
            "data": subs[:limit],
        }

    async def _get_subscription(self, ids: tuple[str, ...], params: JSONDict) -> JSONDict:
        sub = self.subscriptions.get(ids[0])
        if sub is None:
            raise _no_such("subscription", ids[0])
        expand = _expand_list(params, ("customer", "items.data.price.product"))
        if "customer" in expand and isinstance(sub["customer"], str):
            customer = self.customers.get(sub["customer"]) or make_customer(sub["customer"])
            sub = {**sub, "customer": customer}
        if "items.data.price.product" in expand:
            data = []
            for item in sub["items"]["data"]:
                product = self.products.get(item["price"]["product"], item["price"]["product"])
                data.append({**item, "price": {**item["price"], "product": product}})
            sub = {**sub, "items": {**sub["items"], "data": data}}
        return sub
