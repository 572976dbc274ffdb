"""In-process fake of the Stripe v1 HTTP API, driven over real HTTP by the stripe SDK."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import string
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

JSONDict = dict[str, Any]

# Headers worth asserting on in tests; everything else (user agent JSON etc.) is noise.
RECORDED_HEADERS = (
    "Authorization",
    "Idempotency-Key",
    "Stripe-Version",
    "Stripe-Account",
    "Content-Type",
)
DEFAULT_EVENT_API_VERSION = "2025-03-31.basil"
VALID_KEY_PREFIXES = ("sk_test_", "rk_test_")
CHECKOUT_MODES = ("payment", "setup", "subscription")
UI_MODES = ("hosted", "embedded", "custom")
INTERVAL_SECONDS = {"day": 86_400, "week": 7 * 86_400, "month": 30 * 86_400, "year": 365 * 86_400}

_ID_ALPHABET = string.ascii_letters + string.digits
# A private RNG so tests that seed the global `random` module don't get colliding ids.
_rng = random.Random()
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")


def _rand_id(prefix: str, length: int = 24) -> str:
    """Return a Stripe-looking object id such as ``cs_test_Ab12...``."""
    return prefix + "".join(_rng.choices(_ID_ALPHABET, k=length))


# ---------------------------------------------------------------------------
# Form decoding
# ---------------------------------------------------------------------------


def _split_key(key: str) -> list[str]:
    """Split ``a[0][b]`` into ``["a", "0", "b"]``; malformed keys stay whole."""
    match = _KEY_RE.match(key)
    if match is None:
        return [key]
    return [match.group(1), *_SEGMENT_RE.findall(match.group(2))]


def _listify(node: Any, key: str | None = None) -> Any:
    """Turn dicts keyed ``"0".."n-1"`` into lists, bottom-up."""
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v, k) for k, v in node.items()}
    # metadata keys are free-form strings, so numeric metadata keys must stay a dict.
    if key == "metadata" or not converted:
        return converted
    if all(k.isdigit() for k in converted):
        indexes = sorted(int(k) for k in converted)
        if indexes == list(range(len(indexes))):
            return [converted[str(i)] for i in indexes]
    return converted


def decode_form(pairs: Iterable[tuple[str, str]]) -> JSONDict:
    """Decode Stripe's bracketed form encoding into nested dicts/lists of strings."""
    root: JSONDict = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        for i, segment in enumerate(parts):
            # `expand[]=a&expand[]=b` appends, like Rack/Rails (which Stripe's API uses).
            part = segment or str(len(node))
            if i == len(parts) - 1:
                node[part] = value
                break
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
    result = _listify(root)
    assert isinstance(result, dict)
    return result


def decode_query(query: str) -> JSONDict:
    """Decode a raw query string or form body."""
    # Blank values matter: Stripe clients unset fields by sending `key=`.
    return decode_form(parse_qsl(query, keep_blank_values=True))


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class StripeFakeError(Exception):
    """A Stripe-shaped API error raised by route handlers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param

    def body(self) -> JSONDict:
        """Return the JSON error envelope; Stripe omits null fields."""
        err: JSONDict = {"type": self.type, "message": self.message}
        if self.code is not None:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            err["param"] = self.param
        return {"error": err}


def _missing(param: str) -> StripeFakeError:
    return StripeFakeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def _no_such(kind: str, obj_id: str, *, status: int = 404, param: str = "id") -> StripeFakeError:
    return StripeFakeError(
        status, f"No such {kind}: '{obj_id}'", code="resource_missing", param=param
    )


# The `locale` values Checkout and the portal take (Stripe's list, 2026); others are a 400.
STRIPE_LOCALES = frozenset(
    {
        "auto",
        "bg",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "en-GB",
        "es",
        "es-419",
        "et",
        "fi",
        "fil",
        "fr",
        "fr-CA",
        "hr",
        "hu",
        "id",
        "it",
        "ja",
        "ko",
        "lt",
        "lv",
        "ms",
        "mt",
        "nb",
        "nl",
        "pl",
        "pt",
        "pt-BR",
        "ro",
        "ru",
        "sk",
        "sl",
        "sv",
        "th",
        "tr",
        "vi",
        "zh",
        "zh-HK",
        "zh-TW",
    }
)


def _check_locale(params: JSONDict) -> str | None:
    locale = params.get("locale")
    if locale is not None and locale not in STRIPE_LOCALES:
        raise _invalid("locale", f"Invalid locale: {locale!r}", code="parameter_invalid_string")
    return locale


def _invalid(param: str, message: str, code: str | None = None) -> StripeFakeError:
    return StripeFakeError(400, message, code=code, param=param)


def _list_limit(value: object) -> int:
    """A list's `limit` as Stripe checks it: an integer from 1 to 100, 10 when absent."""
    if value is None:
        return 10
    text = str(value)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 100:
        raise _invalid("limit", f"Invalid integer: {text[:20]}; must be between 1 and 100")
    return int(text)


# ---------------------------------------------------------------------------
# Recorded requests
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StripeRequest:
    """One HTTP request as received by the fake."""

    method: str
    path: str
    params: JSONDict
    headers: dict[str, str]
    # The flat wire pairs, for asserting exact encodings like ``line_items[0][price]``.
    raw_params: tuple[tuple[str, str], ...] = ()

    @property
    def idempotency_key(self) -> str | None:
        """Return the Idempotency-Key header, if sent."""
        return self.headers.get("Idempotency-Key")


@dataclass
class _Fault:
    path_prefix: str
    status: int
    remaining: int
    method: str | None


@dataclass
class _IdempotentResult:
    method: str
    path: str
    raw_params: tuple[tuple[str, str], ...]
    status: int
    body: str


Handler = Callable[[tuple[str, ...], JSONDict], Awaitable[JSONDict]]


# ---------------------------------------------------------------------------
# Object builders
# ---------------------------------------------------------------------------


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


def make_customer(
    customer_id: str,
    *,
    email: str | None = None,
    name: str | None = None,
    metadata: dict[str, str] | None = None,
    created: int | None = None,
) -> JSONDict:
    """Build a minimal but realistic Customer object."""
    return {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": int(time.time()) if created is None else created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": email,
        "invoice_prefix": customer_id.removeprefix("cus_")[:8].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": dict(metadata or {}),
        "name": name,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


# ---------------------------------------------------------------------------
# Parameter helpers
# ---------------------------------------------------------------------------


def _parse_bool(params: JSONDict, name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value in ("true", "false"):
        return bool(value == "true")
    raise _invalid(name, f"Invalid boolean: {value}")


def _parse_int(value: Any, param: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise _invalid(param, f"Invalid integer: {value}")


def _check_url(params: JSONDict, name: str, *, required: bool) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise _missing(name)
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise _invalid(name, "Not a valid URL", code="url_invalid")
    return value


def _expand_list(params: JSONDict, allowed: Iterable[str]) -> set[str]:
    """Return requested expansions, rejecting ones the fake (or Stripe) can't expand."""
    raw = params.get("expand")
    if raw is None:
        return set()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise _invalid("expand", "Invalid array", code="parameter_invalid_empty")
    allowed_set = set(allowed)
    for item in raw:
        if item not in allowed_set:
            raise _invalid("expand", f"This property cannot be expanded ({item}).")
    return set(raw)


def _string_dict(params: JSONDict, name: str) -> dict[str, str]:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise _invalid(name, f"Invalid object: {name} must be a hash")
    # Empty values unset keys in Stripe's encoding, so they never appear on the object.
    return {str(k): str(v) for k, v in value.items() if v != ""}


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


class FakeStripe:
    """A fake Stripe API on 127.0.0.1 with recorded requests and fault injection."""

    def __init__(self, *, api_key: str | None = None) -> None:
        # None accepts any test key; a value pins the one key the app must send.
        self.api_key = api_key
        self.requests: list[StripeRequest] = []
        self.products: dict[str, JSONDict] = {}
        self.prices: dict[str, JSONDict] = {}
        self.customers: dict[str, JSONDict] = {}
        self.subscriptions: dict[str, JSONDict] = {}
        self.list_pages_served = 0
        self.checkout_sessions: dict[str, JSONDict] = {}
        self.promotion_codes: dict[str, JSONDict] = {}
        self.portal_sessions: dict[str, JSONDict] = {}
        self._faults: list[_Fault] = []
        self._idempotency: dict[str, _IdempotentResult] = {}
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"^/v1/prices/([^/]+)$"), self._get_price),
            ("GET", re.compile(r"^/v1/products/([^/]+)$"), self._get_product),
            ("POST", re.compile(r"^/v1/checkout/sessions$"), self._create_checkout_session),
            ("GET", re.compile(r"^/v1/checkout/sessions/([^/]+)$"), self._get_checkout_session),
            (
                "POST",
                re.compile(r"^/v1/checkout/sessions/([^/]+)/expire$"),
                self._expire_checkout_session,
            ),
            ("POST", re.compile(r"^/v1/billing_portal/sessions$"), self._create_portal_session),
            ("GET", re.compile(r"^/v1/subscriptions/([^/]+)$"), self._get_subscription),
            ("GET", re.compile(r"^/v1/subscriptions$"), self._list_subscriptions),
            ("GET", re.compile(r"^/v1/customers/([^/]+)$"), self._get_customer),
            ("GET", re.compile(r"^/v1/promotion_codes$"), self._list_promotion_codes),
        ]

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Bind an ephemeral port on 127.0.0.1 and start serving."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # No access log: it costs noticeable time at benchmark request rates.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self._runner = runner
        self._base_url = f"http://{host}:{port}"

    async def close(self) -> None:
        """Stop the server; safe to call twice."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeStripe:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>`` for ``base_addresses={"api": ...}``."""
        if self._base_url is None:
            raise RuntimeError("FakeStripe is not started")
        return self._base_url

    # -- test setup API ----------------------------------------------------

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

    def add_customer(
        self,
        customer_id: str,
        *,
        email: str | None = None,
        name: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> JSONDict:
        """Register a customer returned by GET /v1/customers/{id}."""
        customer = make_customer(customer_id, email=email, name=name, metadata=metadata)
        self.customers[customer_id] = customer
        return customer

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

    def add_subscription(self, sub: JSONDict) -> None:
        """Store a full subscription object (see ``make_subscription``) under its id."""
        self.subscriptions[sub["id"]] = sub

    def fail_next(
        self, path_prefix: str, status: int = 500, times: int = 1, *, method: str | None = None
    ) -> None:
        """Make the next ``times`` requests under ``path_prefix`` fail with an api_error."""
        self._faults.append(_Fault(path_prefix, status, times, method.upper() if method else None))

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[StripeRequest]:
        """Return recorded requests whose path starts with ``path_prefix``."""
        wanted = method.upper() if method else None
        return [
            r
            for r in self.requests
            if r.path.startswith(path_prefix) and (wanted is None or r.method == wanted)
        ]

    # -- HTTP plumbing -----------------------------------------------------

    def _check_auth(self, header: str | None) -> None:
        if not header or not header.startswith("Bearer "):
            raise StripeFakeError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
                "details, or we can help at https://support.stripe.com/.",
            )
        key = header[len("Bearer ") :].strip()
        ok = key.startswith(VALID_KEY_PREFIXES) and len(key) > len("sk_test_")
        if self.api_key is not None:
            ok = key == self.api_key
        if not ok:
            # Stripe masks all but the prefix and last four characters.
            prefix = key[: key.find("_", 3) + 1] if key.count("_") >= 2 else ""
            masked = prefix + "*" * max(len(key) - len(prefix) - 4, 0) + key[-4:]
            raise StripeFakeError(401, f"Invalid API Key provided: {masked}")

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if path.startswith(fault.path_prefix) and fault.method in (None, method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _route(self, method: str, path: str) -> tuple[Handler, tuple[str, ...]]:
        for route_method, pattern, handler in self._routes:
            if route_method == method:
                match = pattern.match(path)
                if match is not None:
                    return handler, match.groups()
        raise StripeFakeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )

    @staticmethod
    def _response(
        status: int, body: str, request_headers: dict[str, str], replayed: bool = False
    ) -> web.Response:
        headers = {"Request-Id": _rand_id("req_", 14)}
        for name in ("Idempotency-Key", "Stripe-Version"):
            if name in request_headers:
                headers[name] = request_headers[name]
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return web.Response(
            status=status, text=body, content_type="application/json", headers=headers
        )

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.method.upper()
        path = request.path
        if method == "POST":
            raw = tuple(parse_qsl(await request.text(), keep_blank_values=True))
        else:
            raw = tuple(parse_qsl(request.query_string, keep_blank_values=True))
        headers = {h: request.headers[h] for h in RECORDED_HEADERS if h in request.headers}
        params = decode_form(raw)
        self.requests.append(StripeRequest(method, path, params, headers, raw))

        idem_key = headers.get("Idempotency-Key") if method == "POST" else None
        try:
            self._check_auth(request.headers.get("Authorization"))
            fault = self._take_fault(method, path)
            if fault is not None:
                raise StripeFakeError(
                    fault.status,
                    f"Injected failure (HTTP {fault.status}) from the fake Stripe API.",
                    type_="api_error",
                )
            if idem_key is not None and idem_key in self._idempotency:
                return self._replay(idem_key, method, path, raw, headers)
            handler, ids = self._route(method, path)
            body = json.dumps(await handler(ids, params))
        except StripeFakeError as err:
            return self._response(err.status, json.dumps(err.body()), headers)
        except Exception as exc:
            # A bug in the fake (or a malformed stored object) should surface as a readable
            # stripe.APIError naming the cause, not aiohttp's bare text/plain 500.
            crash = StripeFakeError(500, f"Fake Stripe crashed: {exc!r}", type_="api_error")
            return self._response(500, json.dumps(crash.body()), headers)
        if idem_key is not None:
            # Like Stripe, only completed requests are saved; failed validation isn't replayed.
            self._idempotency[idem_key] = _IdempotentResult(method, path, raw, 200, body)
        return self._response(200, body, headers)

    def _replay(
        self,
        key: str,
        method: str,
        path: str,
        raw: tuple[tuple[str, str], ...],
        headers: dict[str, str],
    ) -> web.Response:
        saved = self._idempotency[key]
        if (saved.method, saved.path, saved.raw_params) != (method, path, raw):
            raise StripeFakeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type_="idempotency_error",
            )
        return self._response(saved.status, saved.body, headers, replayed=True)

    # -- route handlers ----------------------------------------------------

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

    def _check_customer(self, customer: Any, param: str = "customer") -> str:
        if not isinstance(customer, str) or customer == "":
            raise _missing(param)
        # Any cus_ id is accepted so tests needn't pre-register customers the bot never reads.
        if customer not in self.customers and not customer.startswith("cus_"):
            raise _no_such("customer", customer, status=400, param=param)
        return customer

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
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": params.get("billing_address_collection"),
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

    async def _create_portal_session(self, ids: tuple[str, ...], params: JSONDict) -> JSONDict:
        customer = self._check_customer(params.get("customer"))
        return_url = _check_url(params, "return_url", required=False)
        session: JSONDict = {
            "id": _rand_id("bps_", 24),
            "object": "billing_portal.session",
            "configuration": params.get("configuration") or "bpc_fakedefaultconfiguration",
            "created": int(time.time()),
            "customer": customer,
            "flow": None,
            "livemode": False,
            "locale": _check_locale(params),
            "on_behalf_of": None,
            "return_url": return_url,
            "url": f"https://billing.stripe.com/p/session/test_{_rand_id('', 40)}",
        }
        self.portal_sessions[session["id"]] = session
        return session

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

    async def _get_customer(self, ids: tuple[str, ...], params: JSONDict) -> JSONDict:
        customer = self.customers.get(ids[0])
        if customer is None:
            if not ids[0].startswith("cus_"):
                raise _no_such("customer", ids[0])
            customer = make_customer(ids[0])
        _expand_list(params, ())
        return customer


# ---------------------------------------------------------------------------
# Webhooks
# ---------------------------------------------------------------------------


def sign_payload(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """Return a ``Stripe-Signature`` header value, exactly as Stripe computes it."""
    ts = int(time.time()) if timestamp is None else timestamp
    body = payload.encode("utf-8") if isinstance(payload, str) else payload
    mac = hmac.new(secret.encode("utf-8"), f"{ts}.".encode() + body, hashlib.sha256)
    return f"t={ts},v1={mac.hexdigest()}"


def make_event(
    event_type: str,
    obj: JSONDict,
    *,
    event_id: str | None = None,
    created: int | None = None,
    api_version: str | None = DEFAULT_EVENT_API_VERSION,
    previous_attributes: JSONDict | None = None,
) -> JSONDict:
    """Build a full snapshot Event envelope around ``obj``."""
    data: JSONDict = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id or _rand_id("evt_1", 23),
        "object": "event",
        "api_version": api_version,
        "created": int(time.time()) if created is None else created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
