"""Checkout Sessions and promotion codes: POST /v1/checkout/sessions with Stripe's checks on
the mode, URLs, customer, line items and discounts; reading and expiring a session; a test
completing or ageing one; registering and listing promotion codes."""

from __future__ import annotations

import time
from typing import Any

from tests.support.fakes.stripe_api import checkout_options
from tests.support.fakes.stripe_api.customers import CustomerRoutes
from tests.support.fakes.stripe_api.errors import StripeFakeError, _invalid, _missing, _no_such
from tests.support.fakes.stripe_api.params import (
    _check_locale,
    _check_url,
    _expand_list,
    _list_limit,
    _parse_bool,
    _parse_int,
    _string_dict,
)
from tests.support.fakes.stripe_api.wire import JSONDict, _rand_id

CHECKOUT_MODES = ("payment", "setup", "subscription")
UI_MODES = ("hosted", "embedded", "custom")


class CheckoutRoutes(CustomerRoutes):
    """FakeStripe's Checkout Sessions and promotion codes (a session's `customer` is
    checked as the customers' routes check it)."""

    # FakeStripe's state (server.py), which its __init__ sets up.
    prices: dict[str, JSONDict]
    checkout_sessions: dict[str, JSONDict]
    promotion_codes: dict[str, JSONDict]
    # What the Dashboard would say (checkout_options.py): a public terms URL, Stripe Tax on.
    account_terms_url: bool = True
    tax_registered: bool = True

    def add_promotion_code(self, code: str, *, active: bool = True) -> JSONDict:
        """Register a customer-facing promotion code (on a 20 % off coupon)."""
        promo: JSONDict = {
            "id": _rand_id("promo_", 24),
            "object": "promotion_code",
            "active": active,
            "code": code,
            "coupon": {"id": _rand_id("", 8), "object": "coupon", "percent_off": 20.0},
            "created": int(time.time()),
            "customer": None,
            "expires_at": None,
            "livemode": False,
            "max_redemptions": None,
            "metadata": {},
            "restrictions": {"first_time_transaction": False},
            "times_redeemed": 0,
        }
        self.promotion_codes[promo["id"]] = promo
        return promo

    def _line_item(self, i: int, raw: Any, mode: str) -> tuple[JSONDict, JSONDict]:
        """Validate ``line_items[i]``; return (echoed item, price)."""
        where = f"line_items[{i}]"
        if not isinstance(raw, dict):
            raise _invalid(where, "Invalid hash")
        if "price_data" in raw:
            raise _invalid(f"{where}[price_data]", "The fake Stripe API supports only `price`.")
        price_id = raw.get("price")
        if not price_id:
            raise _invalid(where, f"You must specify either `price` or `price_data` in `{where}`.")
        price = self.prices.get(price_id)
        if price is None:
            raise _no_such("price", price_id, status=400, param=f"{where}[price]")
        if not price["active"]:
            raise _invalid(
                f"{where}[price]",
                "The price specified is inactive. This field only accepts active prices.",
            )
        if "quantity" not in raw:
            raise _invalid(
                f"{where}[quantity]", f"Quantity is required. Add `quantity` to `{where}`"
            )
        quantity = _parse_int(raw["quantity"], f"{where}[quantity]")
        if quantity < 1:
            raise _invalid(f"{where}[quantity]", "This value must be greater than or equal to 1.")
        if mode == "payment" and price["type"] == "recurring":
            raise _invalid(
                f"{where}[price]",
                "You specified `payment` mode but passed a recurring price. Either switch "
                "to `subscription` mode or use only one-time prices.",
            )
        return {"price": price_id, "quantity": quantity}, price

    def _line_items(self, params: JSONDict, mode: str) -> tuple[list[JSONDict], int, str | None]:
        """Validate ``line_items``; return (items, subtotal, currency)."""
        raw_items = params.get("line_items")
        if raw_items is None or raw_items == "":
            if mode == "setup":
                return [], 0, None
            raise _missing("line_items")
        if not isinstance(raw_items, list) or not raw_items:
            raise _invalid("line_items", "Invalid array")
        if mode == "setup":
            raise _invalid("line_items", "You cannot pass `line_items` in `setup` mode.")
        items: list[JSONDict] = []
        subtotal = 0
        currencies: set[str] = set()
        for i, raw in enumerate(raw_items):
            item, price = self._line_item(i, raw, mode)
            items.append(item)
            subtotal += price["unit_amount"] * item["quantity"]
            currencies.add(price["currency"])
        if len(currencies) > 1:
            raise _invalid("line_items", "All prices on a Checkout Session must share a currency.")
        if mode == "subscription" and not any(
            self.prices[item["price"]]["type"] == "recurring" for item in items
        ):
            raise _invalid(
                "line_items",
                "You must provide at least one recurring price in `subscription` mode when "
                "using prices.",
            )
        return items, subtotal, currencies.pop()

    async def _create_checkout_session(self, ids: tuple[str, ...], params: JSONDict) -> JSONDict:
        checkout_options.check_known(params)
        mode = params.get("mode")
        if mode is None or mode == "":
            raise _missing("mode")
        if mode not in CHECKOUT_MODES:
            raise _invalid("mode", "Invalid mode: must be one of payment, setup, or subscription")
        ui_mode = params.get("ui_mode") or "hosted"
        if ui_mode not in UI_MODES:
            raise _invalid(
                "ui_mode", "Invalid ui_mode: must be one of hosted, embedded, or custom"
            )
        if ui_mode == "hosted":
            success_url = _check_url(params, "success_url", required=True)
            return_url = None
        else:
            if params.get("success_url"):
                raise _invalid(
                    "success_url",
                    f"`success_url` is not supported when `ui_mode` is `{ui_mode}`. "
                    "Use `return_url` instead.",
                )
            success_url = None
            return_url = _check_url(
                params, "return_url", required=params.get("redirect_on_completion") != "never"
            )
        cancel_url = _check_url(params, "cancel_url", required=False)
        customer = params.get("customer") or None
        customer_email = params.get("customer_email") or None
        if customer is not None and customer_email is not None:
            raise _invalid(
                "customer_email",
                "You may only specify one of these parameters: customer, customer_email.",
            )
        if customer is not None:
            self._check_customer(customer)
        line_items, subtotal, currency = self._line_items(params, mode)
        options = checkout_options.options(
            params, customer, terms_url=self.account_terms_url, tax_registered=self.tax_registered
        )
        allow_promotion_codes = _parse_bool(params, "allow_promotion_codes")
        discounts = self._discounts(params)
        if discounts and allow_promotion_codes is not None:
            raise _invalid(
                "allow_promotion_codes",
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            )
        session_id = _rand_id("cs_test_a1", 56)
        created = int(time.time())
        session: JSONDict = {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": allow_promotion_codes,
            "amount_subtotal": subtotal if mode != "setup" else None,
            "amount_total": subtotal if mode != "setup" else None,
            **options,
            "cancel_url": cancel_url,
            "client_reference_id": params.get("client_reference_id") or None,
            "client_secret": (
                f"{session_id}_secret_{_rand_id('', 24)}" if ui_mode != "hosted" else None
            ),
            "created": created,
            "currency": currency or params.get("currency"),
            "customer": customer,
            "customer_creation": "if_required" if mode == "payment" and not customer else None,
            "customer_details": None,
            "customer_email": customer_email,
            "discounts": discounts,
            "expires_at": created + 86_400,
            "invoice": None,
            "livemode": False,
            "locale": _check_locale(params),
            "metadata": _string_dict(params, "metadata"),
            "mode": mode,
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "no_payment_required" if mode == "setup" else "unpaid",
            "return_url": return_url,
            "setup_intent": None,
            "status": "open",
            "subscription": None,
            "success_url": success_url,
            "ui_mode": ui_mode,
            "url": (
                f"https://checkout.stripe.com/c/pay/{session_id}" if ui_mode == "hosted" else None
            ),
            # Real Stripe does not return these; echoed so tests can inspect what was asked for.
            "subscription_data": params.get("subscription_data"),
            "line_items": {
                "object": "list",
                "data": line_items,
                "has_more": False,
                "url": f"/v1/checkout/sessions/{session_id}/line_items",
            },
        }
        self.checkout_sessions[session_id] = session
        return session

    def _discounts(self, params: JSONDict) -> list[JSONDict]:
        """Checkout's `discounts`: at most one, a coupon or an active promotion code."""
        raw = params.get("discounts")
        if raw is None or raw == "":
            return []
        if not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw):
            raise _invalid("discounts", "Invalid array")
        if len(raw) > 1:
            raise _invalid("discounts", "You may only apply one discount to a Checkout Session.")
        found = []
        for discount in raw:
            promo_id = discount.get("promotion_code")
            promo = self.promotion_codes.get(str(promo_id))
            if promo is None:
                raise _no_such("promotion_code", str(promo_id), status=400, param="discounts")
            if not promo["active"]:
                raise _invalid("discounts", "This promotion code is not active.")
            found.append({"coupon": None, "promotion_code": promo["id"]})
        return found

    async def _list_promotion_codes(self, _ids: tuple[str, ...], params: JSONDict) -> JSONDict:
        """GET /v1/promotion_codes: `code` matches case-insensitively, `active` filters,
        newest first, `limit` 1-100."""
        limit = _list_limit(params.get("limit"))
        active = _parse_bool(params, "active")
        promos = list(reversed(self.promotion_codes.values()))
        if params.get("code"):
            promos = [p for p in promos if p["code"].lower() == str(params["code"]).lower()]
        if active is not None:
            promos = [p for p in promos if p["active"] is active]
        return {
            "object": "list",
            "url": "/v1/promotion_codes",
            "has_more": len(promos) > limit,
            "data": promos[:limit],
        }

    def _checkout_session(self, session_id: str) -> JSONDict:
        """A session as Stripe shows it now: an open one past its expires_at is expired."""
        session = self.checkout_sessions.get(session_id)
        if session is None:
            raise _no_such("checkout.session", session_id, param="session")
        if session["status"] == "open" and session["expires_at"] <= time.time():
            session["status"] = "expired"
        return session

    async def _get_checkout_session(self, ids: tuple[str, ...], params: JSONDict) -> JSONDict:
        session = self._checkout_session(ids[0])
        _expand_list(params, ("line_items",))
        return session

    async def _expire_checkout_session(self, ids: tuple[str, ...], _params: JSONDict) -> JSONDict:
        """POST /v1/checkout/sessions/{id}/expire: only an open session can be expired."""
        session = self._checkout_session(ids[0])
        if session["status"] != "open":
            raise StripeFakeError(  # Stripe's own words
                400,
                'Only Checkout Sessions with a status in ["open"] can be expired. '
                f"This Checkout Session has a status of `{session['status']}`.",
            )
        session["status"] = "expired"
        return session

    def complete_checkout_session(self, session_id: str) -> None:
        """The customer paid: the session is complete (Stripe then sends the webhook)."""
        self.checkout_sessions[session_id].update(status="complete", payment_status="paid")

    def age_checkout_session(self, session_id: str, seconds: int = 86_400) -> None:
        """Move a session's creation and expiry `seconds` into the past (time passing)."""
        session = self.checkout_sessions[session_id]
        session["created"] -= seconds
        session["expires_at"] -= seconds
