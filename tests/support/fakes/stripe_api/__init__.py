"""In-process fake of the Stripe v1 HTTP API, driven over real HTTP by the stripe SDK.

A package, a module per area: server.py (FakeStripe: recording, auth, faults, idempotency,
routing), prices.py, customers.py (and the billing portal), checkout.py (and promotion
codes), subscriptions.py, events.py (webhook events and their signatures), errors.py and
params.py (Stripe's refusals), wire.py (ids and the form encoding).
`from tests.support.fakes.stripe_api import FakeStripe, make_event, ...` imports the public
names from here."""

from tests.support.fakes.stripe_api.checkout import CHECKOUT_MODES, UI_MODES
from tests.support.fakes.stripe_api.customers import make_customer
from tests.support.fakes.stripe_api.errors import StripeFakeError
from tests.support.fakes.stripe_api.events import (
    DEFAULT_EVENT_API_VERSION,
    make_event,
    sign_payload,
)
from tests.support.fakes.stripe_api.params import STRIPE_LOCALES
from tests.support.fakes.stripe_api.server import (
    RECORDED_HEADERS,
    VALID_KEY_PREFIXES,
    FakeStripe,
    Handler,
    StripeRequest,
)
from tests.support.fakes.stripe_api.subscriptions import INTERVAL_SECONDS, make_subscription
from tests.support.fakes.stripe_api.wire import JSONDict, decode_form, decode_query

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
