"""In-process fake of the Stripe v1 HTTP API, driven over real HTTP by the stripe SDK.

A package: `from tests.support.fakes.stripe_api import FakeStripe, make_event, ...` imports
its public names from the modules that hold them."""

from tests.support.fakes.stripe_api.server import (
    CHECKOUT_MODES,
    DEFAULT_EVENT_API_VERSION,
    INTERVAL_SECONDS,
    RECORDED_HEADERS,
    STRIPE_LOCALES,
    UI_MODES,
    VALID_KEY_PREFIXES,
    FakeStripe,
    Handler,
    JSONDict,
    StripeFakeError,
    StripeRequest,
    decode_form,
    decode_query,
    make_customer,
    make_event,
    make_subscription,
    sign_payload,
)

__all__ = [
    "CHECKOUT_MODES",
    "DEFAULT_EVENT_API_VERSION",
    "INTERVAL_SECONDS",
    "RECORDED_HEADERS",
    "STRIPE_LOCALES",
    "UI_MODES",
    "VALID_KEY_PREFIXES",
    "FakeStripe",
    "Handler",
    "JSONDict",
    "StripeFakeError",
    "StripeRequest",
    "decode_form",
    "decode_query",
    "make_customer",
    "make_event",
    "make_subscription",
    "sign_payload",
]
