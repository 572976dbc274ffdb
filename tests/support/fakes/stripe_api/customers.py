"""Customers and the billing portal: the Customer object, a test registering one, the check
of a `customer` parameter, GET /v1/customers/{id} and POST /v1/billing_portal/sessions."""

from __future__ import annotations

import time
from typing import Any

from tests.support.fakes.stripe_api.errors import _missing, _no_such
from tests.support.fakes.stripe_api.params import _check_locale, _check_url, _expand_list
from tests.support.fakes.stripe_api.wire import JSONDict, _rand_id


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


class CustomerRoutes:
    """FakeStripe's customers and billing portal sessions."""

    # FakeStripe's state (server.py), which its __init__ sets up.
    customers: dict[str, JSONDict]
    portal_sessions: dict[str, JSONDict]

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

    def _check_customer(self, customer: Any, param: str = "customer") -> str:
        if not isinstance(customer, str) or customer == "":
            raise _missing(param)
        # Any cus_ id is accepted so tests needn't pre-register customers the bot never reads.
        if customer not in self.customers and not customer.startswith("cus_"):
            raise _no_such("customer", customer, status=400, param=param)
        return customer

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

    async def _get_customer(self, ids: tuple[str, ...], params: JSONDict) -> JSONDict:
        customer = self.customers.get(ids[0])
        if customer is None:
            if not ids[0].startswith("cus_"):
                raise _no_such("customer", ids[0])
            customer = make_customer(ids[0])
        _expand_list(params, ())
        return customer
