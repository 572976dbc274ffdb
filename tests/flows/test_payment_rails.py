"""PAYMENT_RAILS decides at every entry point: /subscribe, the Subscribe and Come back
buttons, the Mini App's API, the win-back offer, /start's Checkout returns and /manage offer
and accept only the configured rails, even with a Stripe key or STARS_PRICE still set. A
request for a rail not offered is a 403 `rail_not_offered` and creates nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.texts import plain
from bot.texts.keyboards import BillingButton
from db.models import Entitlement, User
from tests.support.api_client import call, login
from tests.support.harness import Harness, MakeHarness, load_fixture
from tests.support.helpers import DAY, give_access, state, subscription_event, subscription_for
from tests.support.stars_player import invoice_link, pay

PRICE = 250
ANN = 6_900_001
BOB = 6_900_002
CODE = "BACK20"
CB_PLANS = BillingButton(action="plans").pack()
CB_WINBACK = BillingButton(action="winback").pack()


@pytest.fixture
async def stars_only(make_harness: MakeHarness) -> Harness:
    """Stars only, with the Stripe key (and a win-back code) still set, as after a switch."""
    return await make_harness(
        stars_price=PRICE, payment_rails="stars", winback_days=7, winback_promo_code=CODE
    )


def _buttons(harness: Harness, user_id: int) -> list[str]:
    markup = harness.last_reply(user_id).params.get("reply_markup") or {}
    return [row[0].get("url", "") for row in markup.get("inline_keyboard", [])]


def _sessions(harness: Harness) -> int:
    return len(harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST"))


async def _stripe_subscriber(harness: Harness, user_id: int, *, running: bool) -> None:
    """A Stripe customer from before the switch: subscribed, and still running or not."""
    now = int(time.time())
    end = now + 20 * DAY if running else now - DAY
    checkout = load_fixture(
        "stripe_events/04_checkout.session.completed_mode_subscription_composed.json"
    )
    checkout["created"] = now - 100
    checkout["data"]["object"].update(
        client_reference_id=str(user_id), customer="cus_test_1", subscription="sub_test_1"
    )
    assert (await harness.post_event(checkout))[0] == 200
    status = "active" if running else "canceled"
    subscription = subscription_for(user_id, status=status, period_end=end)
    event = subscription_event("updated", subscription, created=now - 50)
    assert (await harness.post_event(event))[0] == 200


async def test_chat_offers_only_stars(stars_only: Harness) -> None:
    for press in (None, CB_PLANS, CB_WINBACK):
        if press is None:
            await stars_only.send_text(ANN, "/subscribe")
        else:
            await stars_only.press(ANN, press)
        reply = stars_only.last_reply(ANN)
        assert reply.text.startswith("Subscribe with Telegram Stars"), reply.text
        [link] = _buttons(stars_only, ANN)
        assert link.startswith("https://t.me/$")
    assert _sessions(stars_only) == 0
    assert stars_only.fake_stripe.requests_to("/v1/promotion_codes") == []


async def test_the_winback_offer_names_no_stripe_code(stars_only: Harness) -> None:
    stars_only.fake_stripe.add_promotion_code(CODE)
    async with stars_only.session() as session, session.begin():
        session.add(User(id=ANN, first_name="Ann"))
        await session.flush()
        ended = datetime.now(UTC) - timedelta(days=7, hours=1)
        session.add(
            Entitlement(
                user_id=ANN, source="stars", status="canceled", expires_at=ended, source_ref="c"
            )
        )
    assert "winback" in await stars_only.parts.scheduler.run_due()
    await stars_only.deliver()
    offer = stars_only.last_reply(ANN)
    assert "We miss you!" in offer.text and CODE not in offer.text


async def test_the_mini_app_refuses_stripe_checkout_and_creates_nothing(
    stars_only: Harness,
) -> None:
    token = await login(stars_only, {"id": ANN, "first_name": "Ann"})
    before = await state(stars_only)
    status, body, _ = await call(
        stars_only,
        "POST",
        "/api/v1/billing/checkout",
        token=token,
        body={"price_id": "price_monthly_test"},
    )
    assert status == 403
    assert body == {
        "error": {
            "code": "rail_not_offered",
            "message": "payments through Stripe are not offered here",
        }
    }
    assert _sessions(stars_only) == 0 and await state(stars_only) == before
    _, me, _ = await call(stars_only, "GET", "/api/v1/me", token=token)
    assert me["rails"] == ["stars"] and me["can_manage_billing"] is False
    _, plans, _ = await call(stars_only, "GET", "/api/v1/plans", token=token)
    assert plans["plans"] == [] and plans["stars"]["price"] == PRICE
    status, body, _ = await call(stars_only, "POST", "/api/v1/billing/portal", token=token)
    assert (status, body["error"]["code"]) == (403, "rail_not_offered")
    assert stars_only.fake_stripe.requests_to("/v1/billing_portal/sessions") == []
    status, body, _ = await call(stars_only, "POST", "/api/v1/billing/stars-invoice", token=token)
    assert status == 200 and body["url"].startswith("https://t.me/$")


async def test_the_mini_app_refuses_stars_when_only_stripe_is_offered(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(stars_price=PRICE, payment_rails="stripe")
    token = await login(harness, {"id": ANN, "first_name": "Ann"})
    before = await state(harness)
    status, body, _ = await call(harness, "POST", "/api/v1/billing/stars-invoice", token=token)
    assert (status, body["error"]["code"]) == (403, "rail_not_offered")
    assert "Telegram Stars" in body["error"]["message"]
    assert harness.fake_bot.calls_for("createInvoiceLink") == []
    assert await state(harness) == before
    await harness.send_text(ANN, "/subscribe")
    assert all(link.startswith("https://checkout.stripe.com/") for link in _buttons(harness, ANN))
    assert harness.fake_bot.calls_for("createInvoiceLink") == []


async def test_a_stripe_subscriber_of_before_can_still_stop_paying(stars_only: Harness) -> None:
    await _stripe_subscriber(stars_only, ANN, running=True)
    await stars_only.send_text(ANN, "/manage")
    assert "billing portal" in stars_only.last_reply(ANN).text
    token = await login(stars_only, {"id": ANN, "first_name": "Ann"})
    _, me, _ = await call(stars_only, "GET", "/api/v1/me", token=token)
    assert me["can_manage_billing"] is True
    status, body, _ = await call(stars_only, "POST", "/api/v1/billing/portal", token=token)
    assert status == 200 and body["url"].startswith("https://billing.stripe.com/")
    assert len(stars_only.fake_stripe.requests_to("/v1/billing_portal/sessions")) == 2


async def test_a_lapsed_stripe_customer_is_not_sent_to_stripe(stars_only: Harness) -> None:
    await _stripe_subscriber(stars_only, BOB, running=False)
    await stars_only.send_text(BOB, "/manage")
    assert "not subscribed yet" in stars_only.last_reply(BOB).text
    assert stars_only.fake_stripe.requests_to("/v1/billing_portal/sessions") == []


async def test_start_treats_checkout_returns_as_a_plain_start(stars_only: Harness) -> None:
    await give_access(stars_only, ANN)
    for payload in ("paid", "cancel"):
        await stars_only.send_text(ANN, f"/start {payload}")
        assert "Welcome, Ann" in stars_only.last_reply(ANN).text


async def test_a_stars_invoice_made_before_the_rail_was_dropped_is_not_paid(
    make_harness: MakeHarness,
) -> None:
    """PAYMENT_RAILS=stripe with STARS_PRICE still set: an invoice link handed out while Stars
    was offered meets a refused pre-checkout, so no Stars are taken and nothing is booked."""
    both = await make_harness(stars_price=PRICE)
    link = await invoice_link(both, ANN)
    stripe_only = await make_harness(stars_price=PRICE, payment_rails="stripe")
    before = await state(stripe_only)
    assert await pay(stripe_only, ANN, link) is None
    [answer] = list(stripe_only.fake_bot.stars.answers.values())[-1:]
    assert answer["ok"] is False
    assert answer["error_message"] == plain("stars.refused.off")
    assert await state(stripe_only) == before


async def test_a_stars_subscriber_gets_no_stripe_checkout_in_the_mini_app(
    make_harness: MakeHarness,
) -> None:
    """Paying with Stars, the Mini App refuses Checkout as /subscribe does: 409, no session
    made, and not the open one made before the Stars payment either."""
    harness = await make_harness(stars_price=PRICE)
    token = await login(harness, {"id": ANN, "first_name": "Ann"})
    checkout = {"price_id": "price_monthly_test"}
    status, before_paying, _ = await call(
        harness, "POST", "/api/v1/billing/checkout", token=token, body=checkout
    )
    assert status == 200
    assert await pay(harness, ANN, await invoice_link(harness, ANN)) is not None
    await harness.send_text(ANN, "/subscribe")
    assert "already" in harness.last_reply(ANN).text.lower()
    before, made = await state(harness), _sessions(harness)
    status, body, _ = await call(
        harness, "POST", "/api/v1/billing/checkout", token=token, body=checkout
    )
    assert (status, body["error"]["code"]) == (409, "already_subscribed")
    assert before_paying["url"] not in str(body)
    assert _sessions(harness) == made and await state(harness) == before
