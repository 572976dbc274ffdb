"""The Stripe objects of the plan, in the shapes Stripe sends (API version basil): prices,
invoices, Checkout Sessions, and event types the server does not handle. Ids come from the
plan's seeded RNG, so reruns send the same bytes."""

from __future__ import annotations

import string
from dataclasses import dataclass
from random import Random

from bench.shared.basics import JSON, PRICE_MONTHLY
from tests.support.fakes.stripe_api import FakeStripe, make_customer, make_event

PRICE_YEARLY = "price_bench_yearly"
DAY = 86_400


class Ids:
    """Deterministic Stripe-looking ids from the plan's seeded RNG (reruns send the same)."""

    alphabet = string.ascii_letters + string.digits

    def __init__(self, rng: Random) -> None:
        self._rng = rng

    def __call__(self, prefix: str, length: int = 24) -> str:
        return prefix + "".join(self._rng.choices(self.alphabet, k=length))


def _price_objects() -> dict[str, JSON]:
    """The plans' Price objects, built by an unstarted FakeStripe so both sides agree."""
    catalog = FakeStripe()
    add_prices(catalog)
    return catalog.prices


def add_prices(fake: FakeStripe) -> None:
    fake.add_price(PRICE_MONTHLY, product_name="Pro Signals", unit_amount=4900)
    fake.add_price(
        PRICE_YEARLY, product_name="Pro Signals Yearly", unit_amount=49000, interval="year"
    )


_PRICES = _price_objects()


def price_object(price_id: str) -> JSON:
    """The Price object of PRICE_MONTHLY or PRICE_YEARLY."""
    return _PRICES[price_id]


@dataclass(frozen=True, slots=True)
class _Bill:
    """What an invoice's fields are made of."""

    invoice_id: str
    user_id: int
    customer: str
    subscription_id: str
    metadata: dict[str, str]
    currency: str
    amount: int
    paid: bool
    reason: str
    created: int


def invoice(
    new_id: Ids,
    *,
    user_id: int,
    customer: str,
    subscription: JSON,
    paid: bool,
    reason: str,
    period: tuple[int, int],
    created: int,
) -> JSON:
    """An Invoice in the basil shape: the subscription under parent.subscription_details.
    Its fields come in Stripe's (alphabetical) order, in three parts."""
    price = subscription["items"]["data"][0]["price"]
    bill = _Bill(
        invoice_id=new_id("in_1", 22),
        user_id=user_id,
        customer=customer,
        subscription_id=subscription["id"],
        metadata=dict(subscription["metadata"]),
        currency=price["currency"],
        amount=int(price["unit_amount"]),
        paid=paid,
        reason=reason,
        created=created,
    )
    line = _invoice_line(new_id, bill, subscription, period)
    return {
        "id": bill.invoice_id,
        "object": "invoice",
        **_invoice_account_to_customer(bill),
        **_invoice_default_to_number(bill, line),
        **_invoice_on_behalf_of_to_webhooks(bill),
    }


def _invoice_line(new_id: Ids, bill: _Bill, subscription: JSON, period: tuple[int, int]) -> JSON:
    item = subscription["items"]["data"][0]
    price = item["price"]
    amount, invoice_id, metadata = bill.amount, bill.invoice_id, bill.metadata
    interval = (price.get("recurring") or {}).get("interval", "month")
    return {
        "id": new_id("il_1", 22),
        "object": "line_item",
        "amount": amount,
        "currency": price["currency"],
        "description": f"1 × Pro Signals (at ${amount / 100:.2f} / {interval})",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": metadata,
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription["id"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": str(amount),
        },
        "quantity": 1,
        "taxes": [],
    }


def _invoice_account_to_customer(bill: _Bill) -> JSON:
    amount, paid, reason, created = bill.amount, bill.paid, bill.reason, bill.created
    customer, user_id, currency = bill.customer, bill.user_id, bill.currency
    return {
        "account_country": "US",
        "account_name": "SignalDesk",
        "account_tax_ids": None,
        "amount_due": amount,
        "amount_overpaid": 0,
        "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": not paid,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": reason,
        "collection_method": "charge_automatically",
        "confirmation_secret": None,
        "created": created,
        "currency": currency,
        "custom_fields": None,
        "customer": customer,
        "customer_address": None,
        "customer_email": f"user{user_id}@example.com",
        "customer_name": None,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
    }


def _invoice_default_to_number(bill: _Bill, line: JSON) -> JSON:
    invoice_id, customer, paid, created = bill.invoice_id, bill.customer, bill.paid, bill.created
    return {
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": created,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_bench/test_{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_bench/test_{invoice_id}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [line],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None if paid else created + 3 * DAY,
        "number": f"{customer[-8:].upper()}-0001",
    }


def _invoice_on_behalf_of_to_webhooks(bill: _Bill) -> JSON:
    amount, paid, created = bill.amount, bill.paid, bill.created
    metadata, subscription_id = bill.metadata, bill.subscription_id
    return {
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {"metadata": metadata, "subscription": subscription_id},
            "type": "subscription_details",
        },
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": created,
        "period_start": created,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "paid" if paid else "open",
        "status_transitions": {
            "finalized_at": created,
            "marked_uncollectible_at": None,
            "paid_at": created if paid else None,
            "voided_at": None,
        },
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "test_clock": None,
        "total": amount,
        "total_discount_amounts": [],
        "total_excluding_tax": amount,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def checkout_session(
    new_id: Ids, *, user_id: int, customer: str, subscription: JSON, created: int
) -> JSON:
    price = subscription["items"]["data"][0]["price"]
    amount = int(price["unit_amount"])
    return {
        "id": new_id("cs_test_a1", 56),
        "object": "checkout.session",
        "allow_promotion_codes": True,
        "amount_subtotal": amount,
        "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": "https://t.me/signaldesk_bench_bot",
        "client_reference_id": str(user_id),
        "consent": None,
        "created": created,
        "currency": price["currency"],
        "customer": customer,
        "customer_creation": "always",
        "customer_details": {
            "address": None,
            "email": f"user{user_id}@example.com",
            "name": None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": None,
        "expires_at": created + DAY,
        "invoice": None,
        "livemode": False,
        "locale": None,
        "metadata": dict(subscription["metadata"]),
        "mode": "subscription",
        "payment_intent": None,
        "payment_method_types": ["card"],
        "payment_status": "paid",
        "status": "complete",
        "submit_type": None,
        "subscription": subscription["id"],
        "success_url": "https://t.me/signaldesk_bench_bot?start=paid",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
    }


def unknown_event(rng: Random, new_id: Ids, created: int) -> JSON:
    """Types the server does not handle: answered 2xx, recorded, nothing else."""
    kind = rng.choice(["customer.updated", "payment_intent.succeeded", "charge.succeeded"])
    if kind == "customer.updated":
        obj = make_customer(f"cus_{new_id('', 14)}", email="someone@example.com", created=created)
    else:
        prefix = "pi_3" if kind.startswith("payment_intent") else "ch_3"
        obj = {
            "id": new_id(prefix, 23),
            "object": kind.split(".")[0],
            "amount": 4900,
            "currency": "usd",
            "status": "succeeded",
            "livemode": False,
            "metadata": {},
        }
    return make_event(kind, obj, event_id=new_id("evt_1", 23), created=created)
