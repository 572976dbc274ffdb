"""The fake Stripe's server: FakeStripe on 127.0.0.1 records every request, checks the API
key, injects faults, replays idempotent requests and routes the rest to the handlers of each
area (prices.py, customers.py, checkout.py, subscriptions.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import parse_qsl

from aiohttp import web

from tests.support.fakes.stripe_api.checkout import CheckoutRoutes
from tests.support.fakes.stripe_api.customers import CustomerRoutes
from tests.support.fakes.stripe_api.errors import StripeFakeError
from tests.support.fakes.stripe_api.prices import PriceRoutes
from tests.support.fakes.stripe_api.subscriptions import SubscriptionRoutes
from tests.support.fakes.stripe_api.wire import JSONDict, _rand_id, decode_form

# Headers worth asserting on in tests; everything else (user agent JSON etc.) is noise.
RECORDED_HEADERS = (
    "Authorization",
    "Idempotency-Key",
    "Stripe-Version",
    "Stripe-Account",
    "Content-Type",
)
VALID_KEY_PREFIXES = ("sk_test_", "rk_test_")


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


class FakeStripe(PriceRoutes, CheckoutRoutes, CustomerRoutes, SubscriptionRoutes):
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
