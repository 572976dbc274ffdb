"""Checkout's options for a provider in the EU (docs/consents.md), as sent over real HTTP
to the fake Stripe, which checks them as Stripe does: STRIPE_AUTOMATIC_TAX
(automatic tax, the billing address, tax ids, and a reused customer's address and name
saved), TERMS_URL (the terms checkbox and its words linking the URL), both, and neither."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from db.models import StripeCustomer, User
from tests.support.harness import Harness, MakeHarness

ANN = 7_400_001
TERMS = "https://example.com/terms?x=1&y=2"
EXTRAS = (
    "automatic_tax",
    "billing_address_collection",
    "tax_id_collection",
    "customer_update",
    "consent_collection",
    "custom_text",
)


def _sent(harness: Harness) -> list[dict[str, Any]]:
    return [r.params for r in harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")]


async def _known_customer(harness: Harness, user_id: int) -> str:
    customer = harness.fake_stripe.add_customer(
        f"cus_consent_{user_id}", metadata={"telegram_user_id": str(user_id)}
    )
    async with harness.session() as session, session.begin():
        session.add(User(id=user_id, first_name="Ann"))
        await session.flush()
        session.add(StripeCustomer(user_id=user_id, customer_id=customer["id"]))
    return str(customer["id"])


async def test_neither_option_sends_none_of_them(harness: Harness) -> None:
    await harness.send_text(ANN, "/subscribe")
    for params in _sent(harness):
        assert not set(params) & set(EXTRAS), params


async def test_automatic_tax_asks_for_the_address_and_tax_ids(make_harness: MakeHarness) -> None:
    harness = await make_harness(stripe_automatic_tax=True)
    await harness.send_text(ANN, "/subscribe")
    sent = _sent(harness)
    assert len(sent) == 2
    for params in sent:
        assert params["automatic_tax"] == {"enabled": "true"}
        assert params["billing_address_collection"] == "required"
        assert params["tax_id_collection"] == {"enabled": "true"}
        assert "customer_update" not in params  # a new customer: Checkout keeps what they type
        assert "consent_collection" not in params and "custom_text" not in params
    for session in harness.fake_stripe.checkout_sessions.values():
        assert session["automatic_tax"]["enabled"] is True


async def test_a_reused_customer_gets_their_address_and_name_saved(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(stripe_automatic_tax=True)
    customer = await _known_customer(harness, ANN)
    await harness.send_text(ANN, "/subscribe")
    for params in _sent(harness):
        assert params["customer"] == customer
        assert params["customer_update"] == {"address": "auto", "name": "auto"}
    assert len(harness.fake_stripe.checkout_sessions) == 2


async def test_terms_url_asks_for_the_terms_checkbox_in_the_users_language(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(terms_url=TERMS)
    await harness.send_text(ANN, "/subscribe", language_code="pt-br")
    for params in _sent(harness):
        assert params["consent_collection"] == {"terms_of_service": "required"}
        message = params["custom_text"]["terms_of_service_acceptance"]["message"]
        assert message == f"Concordo com os [termos de serviço]({TERMS})."
        assert params["locale"] == "pt-BR"
        assert "automatic_tax" not in params


async def test_both_options_together(make_harness: MakeHarness) -> None:
    harness = await make_harness(stripe_automatic_tax=True, terms_url=TERMS)
    await _known_customer(harness, ANN)
    await harness.send_text(ANN, "/subscribe")
    [params, _] = _sent(harness)
    assert set(EXTRAS) <= set(params)
    assert params["custom_text"]["terms_of_service_acceptance"]["message"].endswith(f"({TERMS}).")


async def test_stripe_refusing_the_terms_is_told_as_stripe_down(
    make_harness: MakeHarness,
) -> None:
    """No terms URL in the Dashboard: Stripe refuses every session; the user is told
    payments are unavailable, and no link is stored."""
    harness = await make_harness(terms_url=TERMS)
    harness.fake_stripe.account_terms_url = False
    await harness.send_text(ANN, "/subscribe")
    assert harness.fake_stripe.checkout_sessions == {}
    assert "try again" in harness.last_reply(ANN).text.lower()


# The fake itself refuses what Stripe refuses, with Stripe's error shape.


def _client(harness: Harness) -> stripe.StripeClient:
    """The application's own client (aiohttp, async), as Checkout uses it."""
    assert harness.parts.stripe is not None
    return harness.parts.stripe.client


BASE = {
    "mode": "subscription",
    "success_url": "https://t.me/bot?start=paid",
    "line_items": [{"price": "price_monthly_test", "quantity": 1}],
}


@pytest.mark.parametrize(
    ("extra", "param", "code"),
    [
        ({"automatic_taxes": {"enabled": True}}, "automatic_taxes", "parameter_unknown"),
        (
            {"automatic_tax": {"enabled": True, "mode": "x"}},
            "automatic_tax[mode]",
            "parameter_unknown",
        ),
        ({"automatic_tax": {"enabled": "yes"}}, "automatic_tax[enabled]", None),
        ({"billing_address_collection": "always"}, "billing_address_collection", None),
        ({"customer_update": {"address": "auto"}}, "customer_update", None),
        (
            {"consent_collection": {"terms_of_service": "yes"}},
            "consent_collection[terms_of_service]",
            None,
        ),
        (
            {"custom_text": {"terms_of_service_acceptance": {"message": "I agree"}}},
            "custom_text[terms_of_service_acceptance]",
            None,
        ),
        (
            {
                "consent_collection": {"terms_of_service": "required"},
                "custom_text": {"terms_of_service_acceptance": {"message": "x" * 1201}},
            },
            "custom_text[terms_of_service_acceptance][message]",
            None,
        ),
        (
            {"custom_text": {"footer": {"message": "x"}}},
            "custom_text[footer]",
            "parameter_unknown",
        ),
    ],
)
async def test_the_fake_refuses_as_stripe_does(
    harness: Harness, extra: dict[str, Any], param: str, code: str | None
) -> None:
    client = _client(harness)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.checkout.sessions.create_async(params={**BASE, **extra})  # type: ignore[arg-type]
    error = raised.value
    assert error.http_status == 400 and error.param == param
    assert error.code == code
    assert harness.fake_stripe.checkout_sessions == {}


async def test_the_fake_wants_the_customer_saved_for_tax(harness: Harness) -> None:
    client = _client(harness)
    customer = harness.fake_stripe.add_customer("cus_consent_tax")["id"]
    refused = [
        {"customer": customer, "automatic_tax": {"enabled": True}},
        {
            "customer": customer,
            "tax_id_collection": {"enabled": True},
            "customer_update": {"address": "auto"},
        },
    ]
    for extra in refused:
        with pytest.raises(stripe.InvalidRequestError):
            await client.v1.checkout.sessions.create_async(params={**BASE, **extra})  # type: ignore[arg-type]
    assert harness.fake_stripe.checkout_sessions == {}
    harness.fake_stripe.tax_registered = False
    with pytest.raises(stripe.InvalidRequestError, match="Stripe Tax"):
        await client.v1.checkout.sessions.create_async(
            params={**BASE, "automatic_tax": {"enabled": True}}  # type: ignore[arg-type]
        )
