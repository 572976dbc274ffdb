"""Chat commands when Stripe is not configured or not reachable: clear words, no changes."""

from __future__ import annotations

from bot.texts import plain
from bot.texts.keyboards import BillingButton
from db.models import StripeCustomer
from tests.support.harness import Harness, MakeHarness
from tests.support.helpers import count, state

CB_PLANS = BillingButton(action="plans").pack()
CB_PORTAL = BillingButton(action="portal").pack()

USER = 5005


async def test_stripe_not_configured(make_harness: MakeHarness) -> None:
    harness = await make_harness(stripe_api_key=None, stripe_price_ids=[])
    for command in ("/subscribe", "/manage"):
        await harness.send_text(USER, command)
        assert harness.last_reply(USER).text == plain("billing.off")
    for data in (CB_PLANS, CB_PORTAL):
        await harness.press(USER, data)
        assert harness.last_reply(USER).text == plain("billing.off")
    # The rest of the bot still runs.
    await harness.send_text(USER, "/status")
    assert "no subscription" in harness.last_reply(USER).text
    await harness.send_text(USER, "/help")
    assert "/status" in harness.last_reply(USER).text
    assert "/subscribe" not in harness.last_reply(USER).text  # no rail: not offered
    assert harness.fake_stripe.requests == []


async def test_stripe_down_during_subscribe(harness: Harness) -> None:
    await harness.send_text(USER, "/start")
    before = await state(harness)
    harness.fake_stripe.fail_next("/v1/prices", status=500, times=10)
    await harness.send_text(USER, "/subscribe")
    assert harness.last_reply(USER).text == plain("billing.down")
    assert await state(harness) == before


async def test_checkout_refused_by_stripe(harness: Harness) -> None:
    harness.fake_stripe.fail_next("/v1/checkout/sessions", status=400, times=1)
    await harness.send_text(USER, "/subscribe")
    assert harness.last_reply(USER).text == plain("billing.down")


async def test_portal_refused_by_stripe(harness: Harness) -> None:
    async with harness.session() as session, session.begin():
        from db.models import User

        session.add(User(id=USER, first_name="Di"))
        await session.flush()
        session.add(StripeCustomer(user_id=USER, customer_id="cus_x"))
    harness.fake_stripe.fail_next("/v1/billing_portal/sessions", status=400)
    await harness.send_text(USER, "/manage")
    assert harness.last_reply(USER).text == plain("billing.down")
    assert await count(harness, StripeCustomer) == 1


async def test_plans_are_cached(harness: Harness) -> None:
    await harness.send_text(USER, "/subscribe")
    await harness.send_text(USER + 1, "/subscribe")
    assert len(harness.fake_stripe.requests_to("/v1/prices")) == 2  # two prices, fetched once


async def test_unknown_command_and_plain_text_change_nothing(harness: Harness) -> None:
    await harness.send_text(USER, "/help")  # registered: writing to the bot does that
    before = await state(harness)
    await harness.send_text(USER, "/nonsense")
    await harness.send_text(USER, "hello?")
    assert await state(harness) == before
