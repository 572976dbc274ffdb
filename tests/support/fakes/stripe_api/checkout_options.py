"""Checkout's parameters beyond the basics, checked as Stripe checks them (2026 API): any
top-level name Stripe does not know is refused (parameter_unknown), and the options a
provider in the EU sends (docs/consents.md#tax-and-terms-in-stripe-checkout) are validated
and echoed on the session: automatic_tax, billing_address_collection, customer_update,
tax_id_collection, consent_collection and custom_text.

The fake cannot see the Dashboard: Stripe refuses consent_collection[terms_of_service]=
required when the account has no terms URL in its public details, and automatic tax when
Stripe Tax has no origin address; `account_terms_url` and `tax_registered` on FakeStripe
stand for those settings (both on by default)."""

from __future__ import annotations

from typing import Any

from tests.support.fakes.stripe_api.errors import StripeFakeError, _invalid
from tests.support.fakes.stripe_api.wire import JSONDict

# Every top-level parameter of POST /v1/checkout/sessions (Stripe's API reference).
KNOWN = frozenset(
    [
        "adaptive_pricing",
        "after_expiration",
        "allow_promotion_codes",
        "automatic_tax",
        "billing_address_collection",
        "branding_settings",
        "cancel_url",
        "client_reference_id",
        "consent_collection",
        "currency",
        "custom_fields",
        "custom_text",
        "customer",
        "customer_account",
        "customer_creation",
        "customer_email",
        "customer_update",
        "discounts",
        "excluded_payment_method_types",
        "expand",
        "expires_at",
        "invoice_creation",
        "line_items",
        "locale",
        "metadata",
        "mode",
        "name_collection",
        "optional_items",
        "origin_context",
        "payment_intent_data",
        "payment_method_collection",
        "payment_method_configuration",
        "payment_method_data",
        "payment_method_options",
        "payment_method_types",
        "permissions",
        "phone_number_collection",
        "redirect_on_completion",
        "return_url",
        "saved_payment_method_options",
        "setup_intent_data",
        "shipping_address_collection",
        "shipping_options",
        "submit_type",
        "subscription_data",
        "success_url",
        "tax_id_collection",
        "ui_mode",
        "wallet_options",
    ]
)
MAX_CUSTOM_TEXT = 1200
CONSENTS = ("payment_method_reuse_agreement", "promotions", "terms_of_service")
CUSTOM_TEXTS = ("after_submit", "shipping_address", "submit", "terms_of_service_acceptance")


def _unknown(param: str) -> StripeFakeError:
    return _invalid(param, f"Received unknown parameter: {param}", code="parameter_unknown")


def _hash(params: JSONDict, name: str, keys: tuple[str, ...]) -> dict[str, Any] | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise _invalid(name, f"Invalid object: {name} must be a hash")
    for key in value:
        if key not in keys:
            raise _unknown(f"{name}[{key}]")
    return value


def _enum(value: object, param: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        words = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
        raise _invalid(param, f"Invalid {param}: must be one of {words}")
    return str(value)


def _bool(value: object, param: str) -> bool:
    if value not in ("true", "false"):
        raise _invalid(param, f"Invalid boolean: {value}")
    return value == "true"


def check_known(params: JSONDict) -> None:
    for name in params:
        if name not in KNOWN:
            raise _unknown(name)


def _customer_update(params: JSONDict, customer: str | None) -> dict[str, str] | None:
    update = _hash(params, "customer_update", ("address", "name", "shipping"))
    if update is None:
        return None
    if customer is None:
        raise _invalid("customer_update", "customer_update can only be used with customer.")
    return {
        key: _enum(value, f"customer_update[{key}]", ("auto", "never"))
        for key, value in update.items()
    }


def _custom_text(params: JSONDict) -> dict[str, Any]:
    texts = _hash(params, "custom_text", CUSTOM_TEXTS) or {}
    shown: dict[str, Any] = {key: None for key in CUSTOM_TEXTS}
    for key, value in texts.items():
        where = f"custom_text[{key}]"
        if not isinstance(value, dict) or set(value) != {"message"}:
            raise _invalid(where, f"Invalid object: {where} takes only message")
        message = value["message"]
        if not isinstance(message, str) or not 1 <= len(message) <= MAX_CUSTOM_TEXT:
            raise _invalid(
                f"{where}[message]", f"Text can be up to {MAX_CUSTOM_TEXT} characters in length."
            )
        shown[key] = {"message": message}
    return shown


def options(
    params: JSONDict, customer: str | None, *, terms_url: bool, tax_registered: bool
) -> JSONDict:
    """The checked options, as the session object shows them."""
    tax = _hash(params, "automatic_tax", ("enabled", "liability")) or {}
    automatic = _bool(tax["enabled"], "automatic_tax[enabled]") if "enabled" in tax else False
    if automatic and not tax_registered:
        raise _invalid(
            "automatic_tax[enabled]",
            "Stripe Tax has not been activated on your account. Please visit "
            "https://dashboard.stripe.com/settings/tax/activate to get started.",
        )
    address = params.get("billing_address_collection") or None
    if address is not None:
        _enum(address, "billing_address_collection", ("auto", "required"))
    update = _customer_update(params, customer)
    if automatic and customer is not None and (update or {}).get("address") != "auto":
        raise _invalid(
            "automatic_tax[enabled]",
            "Automatic tax calculation in Checkout requires a valid address on the Customer. "
            "Add a valid address to the Customer or set either `customer_update[address]` to "
            "'auto' or `customer_update[shipping]` to 'auto' to save the address entered in "
            "Checkout to the Customer.",
        )
    ids = _hash(params, "tax_id_collection", ("enabled", "required")) or {}
    collect_ids = (
        _bool(ids["enabled"], "tax_id_collection[enabled]") if "enabled" in ids else False
    )
    if collect_ids and customer is not None and (update or {}).get("name") != "auto":
        raise _invalid(
            "tax_id_collection[enabled]",
            "To collect tax IDs with an existing customer, `customer_update[name]` must be "
            "set to `auto`.",
        )
    consent = _hash(params, "consent_collection", CONSENTS)
    terms = None
    if consent is not None and "terms_of_service" in consent:
        terms = _enum(
            consent["terms_of_service"],
            "consent_collection[terms_of_service]",
            ("none", "required"),
        )
    if terms == "required" and not terms_url:
        raise _invalid(
            "consent_collection[terms_of_service]",
            "You cannot collect consent to your terms of service unless a URL is set in the "
            "Stripe Dashboard. Update your public business details with a terms of service "
            "URL at https://dashboard.stripe.com/settings/public.",
        )
    custom = _custom_text(params)
    if custom["terms_of_service_acceptance"] is not None and terms != "required":
        raise _invalid(
            "custom_text[terms_of_service_acceptance]",
            "custom_text[terms_of_service_acceptance] can only be set when "
            "consent_collection[terms_of_service] is 'required'.",
        )
    return {
        "automatic_tax": {
            "enabled": automatic,
            "liability": None,
            "status": "requires_location_inputs" if automatic else None,
        },
        "billing_address_collection": address,
        "consent_collection": (
            {"payment_method_reuse_agreement": None, "promotions": None, "terms_of_service": terms}
            if consent is not None
            else None
        ),
        "custom_text": custom,
        "customer_update": update,
        "tax_id_collection": {"enabled": collect_ids, "required": "never"},
    }
