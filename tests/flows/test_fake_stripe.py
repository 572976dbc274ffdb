"""Drive tests/support/fakes/stripe_api.FakeStripe through the real stripe SDK async
client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
import stripe
from stripe.params.checkout import SessionCreateParams

from tests.support.fakes.stripe_api import (
    FakeStripe,
    decode_query,
    make_event,
    make_subscription,
    sign_payload,
)

API_KEY = "sk_test_fake_123456"
WEBHOOK_SECRET = "whsec_test_secret"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeStripe]:
    async with FakeStripe() as server:
        server.add_price("price_monthly", product_name="Signals Pro", unit_amount=1500)
        yield server


@pytest_asyncio.fixture
async def client(fake: FakeStripe) -> AsyncIterator[stripe.StripeClient]:
    # Owning the aiohttp session makes closing it explicit (and typed); the SDK never
    # closes a session it created itself unless `await http_client.close_async()` is called.
    async with aiohttp.ClientSession() as session:
        http_client = stripe.AIOHTTPClient(session=session)
        yield stripe.StripeClient(
            API_KEY, base_addresses={"api": fake.base_url}, http_client=http_client
        )


def test_decode_form_nests_lists_and_dicts() -> None:
    params = decode_query(
        "line_items[0][price]=p&line_items[0][quantity]=1&metadata[0]=x&expand[]=a&expand[]=b&e="
    )
    assert params == {
        "line_items": [{"price": "p", "quantity": "1"}],
        "metadata": {"0": "x"},
        "expand": ["a", "b"],
        "e": "",
    }


@pytest.mark.asyncio
async def test_price_retrieve_expands_product(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    price = await client.v1.prices.retrieve_async("price_monthly", params={"expand": ["product"]})
    assert isinstance(price.product, stripe.Product)
    assert price.product.name == "Signals Pro"
    assert (price.unit_amount, price.currency, price.type) == (1500, "usd", "recurring")
    assert price.recurring is not None and price.recurring.interval == "month"

    plain = await client.v1.prices.retrieve_async("price_monthly")
    assert plain.product == "prod_monthly"

    (first, second) = fake.requests_to("/v1/prices/")
    assert first.method == "GET" and first.params == {"expand": ["product"]}
    assert first.raw_params == (("expand[0]", "product"),)
    assert first.headers["Authorization"] == f"Bearer {API_KEY}"
    assert "Stripe-Version" in first.headers and second.params == {}


@pytest.mark.asyncio
async def test_checkout_session_records_nested_params(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "line_items": [{"price": "price_monthly", "quantity": 1}],
            "success_url": "https://t.me/signals_bot?start=paid",
            "cancel_url": "https://t.me/signals_bot",
            "client_reference_id": "777",
            "metadata": {"telegram_user_id": "777"},
            "subscription_data": {"metadata": {"telegram_user_id": "777"}},
            "allow_promotion_codes": True,
        }
    )
    assert session.id.startswith("cs_test_")
    assert session.url == f"https://checkout.stripe.com/c/pay/{session.id}"
    assert (session.status, session.mode, session.amount_total) == ("open", "subscription", 1500)
    assert session.metadata is not None
    assert session.metadata["telegram_user_id"] == "777"
    assert fake.checkout_sessions[session.id]["allow_promotion_codes"] is True

    (req,) = fake.requests_to("/v1/checkout/sessions")
    assert req.method == "POST" and req.idempotency_key
    assert ("line_items[0][price]", "price_monthly") in req.raw_params
    assert req.params["line_items"] == [{"price": "price_monthly", "quantity": "1"}]
    assert req.params["metadata"] == {"telegram_user_id": "777"}
    assert req.params["subscription_data"] == {"metadata": {"telegram_user_id": "777"}}
    assert req.params["client_reference_id"] == "777"


@pytest.mark.asyncio
async def test_checkout_sessions_expire_like_stripes(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    """Open for 24 hours (expires_at), then expired; /expire ends an open one at once, and
    only an open one; a paid one is complete."""
    params: SessionCreateParams = {
        "mode": "subscription",
        "line_items": [{"price": "price_monthly", "quantity": 1}],
        "success_url": "https://t.me/signals_bot?start=paid",
    }
    first = await client.v1.checkout.sessions.create_async(params=params)
    assert first.expires_at == first.created + 86_400
    fake.age_checkout_session(first.id, 86_400)
    assert (await client.v1.checkout.sessions.retrieve_async(first.id)).status == "expired"
    second = await client.v1.checkout.sessions.create_async(params=params)
    expired = await client.v1.checkout.sessions.expire_async(second.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError) as again:
        await client.v1.checkout.sessions.expire_async(second.id)
    assert again.value.user_message == (
        'Only Checkout Sessions with a status in ["open"] can be expired. '
        "This Checkout Session has a status of `expired`."
    )
    third = await client.v1.checkout.sessions.create_async(params=params)
    fake.complete_checkout_session(third.id)
    paid = await client.v1.checkout.sessions.retrieve_async(third.id)
    assert (paid.status, paid.payment_status) == ("complete", "paid")


@pytest.mark.asyncio
async def test_checkout_validation_and_unknown_price(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await client.v1.prices.retrieve_async("price_nope")
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"
    assert missing.value.user_message == "No such price: 'price_nope'"

    with pytest.raises(stripe.InvalidRequestError) as bad_line:
        await client.v1.checkout.sessions.create_async(
            params={
                "mode": "subscription",
                "success_url": "https://example.com/ok",
                "line_items": [{"price": "price_nope", "quantity": 1}],
            }
        )
    assert bad_line.value.http_status == 400
    assert bad_line.value.param == "line_items[0][price]"

    with pytest.raises(stripe.InvalidRequestError) as no_url:
        await client.v1.checkout.sessions.create_async(
            params={"mode": "subscription", "line_items": [{"price": "price_monthly"}]}
        )
    assert no_url.value.param == "success_url"
    assert fake.checkout_sessions == {}


@pytest.mark.asyncio
async def test_fail_next_and_bad_key(fake: FakeStripe, client: stripe.StripeClient) -> None:
    fake.fail_next("/v1/billing_portal/sessions", status=500)
    with pytest.raises(stripe.APIError) as failed:
        await client.v1.billing_portal.sessions.create_async(params={"customer": "cus_1"})
    assert failed.value.http_status == 500 and failed.value.request_id

    portal = await client.v1.billing_portal.sessions.create_async(
        params={"customer": "cus_1", "return_url": "https://t.me/signals_bot"}
    )
    assert portal.url.startswith("https://billing.stripe.com/p/session/test_")
    assert (portal.customer, portal.return_url) == ("cus_1", "https://t.me/signals_bot")

    async with aiohttp.ClientSession() as session:
        live = stripe.StripeClient(
            "sk_live_real",
            base_addresses={"api": fake.base_url},
            http_client=stripe.AIOHTTPClient(session=session),
        )
        with pytest.raises(stripe.AuthenticationError) as auth:
            await live.v1.prices.retrieve_async("price_monthly")
    assert auth.value.http_status == 401


@pytest.mark.asyncio
@pytest.mark.parametrize("basil", [True, False])
async def test_subscription_period_location(
    fake: FakeStripe, client: stripe.StripeClient, basil: bool
) -> None:
    fake.add_subscription(
        make_subscription(
            "sub_1",
            customer="cus_1",
            price_id="price_monthly",
            current_period_end=1_800_000_000,
            metadata={"telegram_user_id": "777"},
            basil=basil,
            price=fake.prices["price_monthly"],
        )
    )
    sub = await client.v1.subscriptions.retrieve_async("sub_1")
    item = sub["items"]["data"][0]
    assert sub.status == "active" and sub.metadata["telegram_user_id"] == "777"
    assert item["price"]["id"] == "price_monthly"
    holder, other = (item, sub) if basil else (sub, item)
    assert holder["current_period_end"] == 1_800_000_000
    assert "current_period_end" not in other
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.subscriptions.retrieve_async("sub_missing")


def test_webhook_signature_round_trip() -> None:
    sub = make_subscription(
        "sub_1", customer="cus_1", price_id="price_monthly", current_period_end=1_800_000_000
    )
    event = make_event("customer.subscription.updated", sub)
    payload = json.dumps(event).encode()
    header = sign_payload(payload, WEBHOOK_SECRET)

    parsed = stripe.Webhook.construct_event(payload, header, WEBHOOK_SECRET)
    assert parsed.type == "customer.subscription.updated"
    assert parsed.id == event["id"] and parsed.api_version == "2025-03-31.basil"
    assert parsed.data.object["id"] == "sub_1"

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload.replace(b"sub_1", b"sub_2"), header, WEBHOOK_SECRET)
