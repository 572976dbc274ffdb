"""The whole subscriber journey: /start, /subscribe, Checkout, webhooks, notices, /status,
/manage, a failed payment and cancellation — real aiogram, real Stripe SDK, fakes at the edge."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.texts.keyboards import BillingButton
from db.models import User
from tests.support.api_client import call, login
from tests.support.fakes.stripe_api import make_event
from tests.support.harness import PRICE_MONTHLY, PRICE_YEARLY, Harness, load_fixture
from tests.support.helpers import DAY, entitlement, outbox, subscription_event, subscription_for

CB_PLANS = BillingButton(action="plans").pack()
CB_PORTAL = BillingButton(action="portal").pack()

USER = 1001


def _url_buttons(markup: dict[str, object] | None) -> list[tuple[str, str]]:
    assert markup is not None
    rows = markup["inline_keyboard"]
    assert isinstance(rows, list)
    return [(button["text"], button["url"]) for row in rows for button in row if "url" in button]


async def test_full_subscription_journey(harness: Harness) -> None:
    now = int(time.time())
    # /start registers the user.
    await harness.send_text(USER, "/start", first_name="Ann", username="ann")
    assert "Welcome, Ann" in harness.last_reply(USER).text
    async with harness.session() as session:
        user = await session.get(User, USER)
        assert user is not None and user.username == "ann"

    # /subscribe makes one fresh Checkout Session per plan for this user.
    await harness.send_text(USER, "/subscribe")
    created = harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")
    assert len(created) == 2
    by_price = {r.params["line_items"][0]["price"]: r.params for r in created}
    assert set(by_price) == {PRICE_MONTHLY, PRICE_YEARLY}
    params = by_price[PRICE_MONTHLY]
    assert params["mode"] == "subscription"
    assert params["client_reference_id"] == str(USER)
    assert params["metadata"] == {"telegram_user_id": str(USER)}
    assert params["subscription_data"]["metadata"] == {"telegram_user_id": str(USER)}
    assert params["allow_promotion_codes"] == "true"
    assert "customer" not in params  # no customer known yet
    assert params["success_url"].endswith("?start=paid")
    buttons = _url_buttons(harness.last_reply(USER).params.get("reply_markup"))
    assert [text for text, _ in buttons] == [
        "Pro Signals — $49.00 / month",
        "Pro Signals Yearly — $490.00 / year",
    ]
    checkout_urls = {s["url"] for s in harness.fake_stripe.checkout_sessions.values()}
    assert {url for _, url in buttons} == checkout_urls

    # The user pays: Stripe sends checkout.session.completed, then subscription.created.
    subscription = subscription_for(USER, period_end=now + 30 * DAY)
    harness.fake_stripe.add_subscription(subscription)
    checkout = load_fixture(
        "stripe_events/04_checkout.session.completed_mode_subscription_composed.json"
    )
    checkout["created"] = now
    checkout["data"]["object"].update(
        client_reference_id=str(USER), customer="cus_test_1", subscription="sub_test_1"
    )
    assert await harness.post_event(checkout) == (200, {"received": True, "status": "applied"})
    status, _ = await harness.post_event(subscription_event("created", subscription, created=now))
    assert status == 200

    row = await entitlement(harness, USER)
    assert row is not None and row.status == "active" and row.source_ref == "sub_test_1"
    assert row.expires_at is not None and int(row.expires_at.timestamp()) == now + 30 * DAY

    # Exactly one "access started" notice, delivered by the worker with its message id kept.
    pending = await outbox(harness, USER)
    assert [m.kind for m in pending] == ["access_started"]
    assert await harness.deliver(wait=2) >= 1  # a second after the reply to /subscribe
    notice = harness.last_reply(USER)
    assert "is active until" in notice.text and "Pro Signals" in notice.text
    (sent,) = await outbox(harness, USER)
    assert sent.status == "sent" and sent.telegram_message_id == notice.message_id

    # /status shows the plan, its state and the renewal date.
    await harness.send_text(USER, "/status")
    text = harness.last_reply(USER).text
    assert "Pro Signals" in text and "Active" in text and "Renews" in text

    # A second /subscribe does not start a second subscription.
    await harness.send_text(USER, "/subscribe")
    assert "already have an active subscription" in harness.last_reply(USER).text
    assert len(harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")) == 2

    # /manage opens the portal for the customer learnt from the webhook.
    await harness.send_text(USER, "/manage")
    (portal,) = harness.fake_stripe.requests_to("/v1/billing_portal/sessions", "POST")
    assert portal.params["customer"] == "cus_test_1"
    ((_, portal_url),) = _url_buttons(harness.last_reply(USER).params.get("reply_markup"))
    assert portal_url.startswith("https://billing.stripe.com/")

    # A renewal fails: the user is told, with a button that opens the portal.
    invoice = {
        "id": "in_test_1",
        "object": "invoice",
        "customer": "cus_test_1",
        "amount_due": 4900,
        "currency": "usd",
        "parent": {"subscription_details": {"subscription": "sub_test_1"}},
        "lines": {"data": []},
    }
    status, _ = await harness.post_event(
        make_event("invoice.payment_failed", invoice, created=now + 1)
    )
    assert status == 200
    await harness.deliver(wait=5)  # each notice to one chat a second after the last
    failed = harness.last_reply(USER)
    assert "$49.00" in failed.text and "did not go through" in failed.text
    assert failed.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == CB_PORTAL
    await harness.press(USER, CB_PORTAL)
    assert _url_buttons(harness.last_reply(USER).params.get("reply_markup"))

    # The subscription is cancelled: access ends and the user is told.
    ended = {**subscription, "status": "canceled"}
    status, _ = await harness.post_event(subscription_event("deleted", ended, created=now + 2))
    assert status == 200
    row = await entitlement(harness, USER)
    assert row is not None and row.status == "canceled"
    await harness.deliver(wait=5)  # each notice to one chat a second after the last
    goodbye = harness.last_reply(USER)
    assert "has ended" in goodbye.text
    assert goodbye.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == CB_PLANS
    await harness.send_text(USER, "/status")
    assert "Cancelled" in harness.last_reply(USER).text
    assert "off" in harness.last_reply(USER).text

    # Subscribing again reuses the Stripe customer.
    await harness.press(USER, CB_PLANS)
    latest = harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")[-1]
    assert latest.params["customer"] == "cus_test_1"


async def test_start_paid_before_webhook_says_pending(harness: Harness) -> None:
    await harness.send_text(USER, "/start paid")
    assert "confirming your payment" in harness.last_reply(USER).text


async def test_start_paid_after_webhook_shows_status(harness: Harness) -> None:
    await harness.send_text(USER, "/start")
    subscription = subscription_for(USER)
    await harness.post_event(subscription_event("created", subscription, created=int(time.time())))
    await harness.send_text(USER, "/start paid")
    assert "Active" in harness.last_reply(USER).text


async def test_start_cancel_payload(harness: Harness) -> None:
    await harness.send_text(USER, "/start cancel")
    assert "nothing was charged" in harness.last_reply(USER).text


async def test_help_lists_commands(harness: Harness) -> None:
    await harness.send_text(USER, "/help")
    text = harness.last_reply(USER).text
    for command in ("/subscribe", "/status", "/manage", "/help"):
        assert command in text


async def test_status_without_subscription(harness: Harness) -> None:
    await harness.send_text(USER, "/status")
    assert "no subscription" in harness.last_reply(USER).text


async def test_manage_before_paying(harness: Harness) -> None:
    await harness.send_text(USER, "/manage")
    assert "not subscribed yet" in harness.last_reply(USER).text
    assert harness.fake_stripe.requests_to("/v1/billing_portal/sessions") == []


async def test_trial_days_are_passed_to_checkout(make_harness: object) -> None:
    harness = await make_harness(trial_days=7)  # type: ignore[operator]
    await harness.send_text(USER, "/subscribe")
    request = harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")[0]
    assert request.params["subscription_data"]["trial_period_days"] == "7"
    assert "7-day free trial" in harness.last_reply(USER).text


def _day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %b %Y")


async def test_a_cancelled_subscription_shows_when_it_ends_or_ended(harness: Harness) -> None:
    now = int(time.time())
    period_end = now + 20 * DAY
    running = subscription_for(USER, period_end=period_end)
    await harness.post_event(subscription_event("created", running, created=now - 300))
    # Cancelled at the period's end and still running: it ends on that date.
    stopping = subscription_for(USER, period_end=period_end, cancel_at_period_end=True)
    await harness.post_event(subscription_event("updated", stopping, created=now - 200))
    await harness.send_text(USER, "/status")
    text = harness.last_reply(USER).text
    assert f"Ends:</b> {_day(period_end)}" in text and "Ended" not in text
    # Then cancelled at once (Stripe's ended_at, before the period's end): it ended then.
    ended = subscription_for(USER, status="canceled", period_end=period_end)
    ended.update(ended_at=now - 100, canceled_at=now - 100)
    await harness.post_event(subscription_event("deleted", ended, created=now - 100))
    await harness.send_text(USER, "/status")
    text = harness.last_reply(USER).text
    assert f"Ended:</b> {_day(now - 100)}" in text and _day(period_end) not in text
    token = await login(harness, {"id": USER, "first_name": "Ann"})
    _, me, _ = await call(harness, "GET", "/api/v1/me", token=token)
    assert me["subscription"]["ends_at"] == datetime.fromtimestamp(now - 100, UTC).isoformat()
