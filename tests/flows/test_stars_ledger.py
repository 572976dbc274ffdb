# ruff: noqa: F811 - `stars` is a fixture imported from stars_helpers.py
"""Telegram Stars in the one ledger, beside Stripe (over real HTTP to the fake Bot API, on
SQLite and PostgreSQL): access to the later end and both shown, stats apart from money, the
Mini App's Stars invoice and the admin console's refund, Telegram refusing the invoice,
payments no real Telegram sends, and a refund reason with a control character."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.stars.payload import Offer, PayloadSigner
from db.models import Entitlement, EntitlementSource
from tests.flows.stars_helpers import (
    ANN,
    BOB,
    PRICE,
    _access,
    _payments,
    _stars_row,
    stars,  # noqa: F401 - a fixture
)
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, BOT_TOKEN, Harness, MakeHarness
from tests.support.helpers import give_access, state
from tests.support.stars_player import invoice_link, paid_update, pay

USER_ANN = {"id": 6_700_001, "is_bot": False, "first_name": "Ann"}


async def test_stars_and_stripe_at_once_give_access_to_the_later_end_and_show_both(
    stars: Harness,
) -> None:
    await pay(stars, ANN, await invoice_link(stars, ANN))
    stripe_end = datetime.now(UTC) + timedelta(days=5)
    async with stars.session() as session, session.begin():
        session.add(
            Entitlement(
                user_id=ANN,
                source=EntitlementSource.STRIPE,
                source_ref="sub_ann",
                status="active",
                expires_at=stripe_end,
                state_version=1,
            )
        )
    assert await _access(stars, ANN, stripe_end + timedelta(days=3))  # Stars still runs
    assert not await _access(stars, ANN, stripe_end + timedelta(days=40))
    await stars.send_text(ANN, "/status")
    status = stars.last_reply(ANN).text
    assert "<b>Plan:</b> Subscription" in status  # no price on the row: no plan name
    assert "<b>Plan:</b> Telegram Stars" in status


async def test_stats_count_stars_apart_from_money(stars: Harness) -> None:
    await give_access(stars, BOB)  # a Stripe subscriber at $49.00 a month
    await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ADMIN_ID, "/stats")
    text = stars.last_reply(ADMIN_ID).text
    assert "$49.00, 250 ⭐" in text
    assert "stars 1" in text
    token = await login(stars, {"id": ADMIN_ID, "first_name": "Boss"})
    status, body, _ = await call(stars, "GET", "/api/v1/admin/stats", token=token)
    assert status == 200 and body["by_state"]["stars"] == 1
    assert {"currency": "xtr", "amount": 250, "label": "250 ⭐"} in body["mrr"]
    assert body["with_access"] == 2 and body["new_30d"] == 2


async def test_the_mini_apps_stars_invoice_and_its_refusals(
    stars: Harness, make_harness: MakeHarness
) -> None:
    token = await login(stars, {"id": ANN, "first_name": "Ann"})
    status, body, _ = await call(stars, "GET", "/api/v1/plans", token=token)
    assert status == 200 and body["stars"] == {"price": 250, "label": "⭐ 250 Stars / 30 days"}
    status, body, _ = await call(stars, "POST", "/api/v1/billing/stars-invoice", token=token)
    assert status == 200 and body["url"].startswith("https://t.me/$")
    invoice = stars.fake_bot.stars.invoice(body["url"])
    assert PayloadSigner(BOT_TOKEN).verify(invoice["payload"]) == Offer(ANN, PRICE)
    assert await pay(stars, ANN, body["url"]) is not None
    status, me, _ = await call(stars, "GET", "/api/v1/me", token=token)
    assert (
        me["subscription"]["source"] == "stars" and me["subscription"]["plan"] == "Telegram Stars"
    )
    assert me["rails"] == ["stripe", "stars"]
    status, body, _ = await call(stars, "POST", "/api/v1/billing/stars-invoice", token=token)
    assert (status, body["error"]["code"]) == (409, "already_subscribed")
    status, _, _ = await call(stars, "POST", "/api/v1/billing/stars-invoice")
    assert status == 401
    plain_stripe = await make_harness()  # no STARS_PRICE: no Stars rail
    token = await login(plain_stripe, {"id": BOB, "first_name": "Bob"})
    status, body, _ = await call(
        plain_stripe, "POST", "/api/v1/billing/stars-invoice", token=token
    )
    assert (status, body["error"]["code"]) == (403, "rail_not_offered")
    assert len(stars.fake_bot.calls_for("createInvoiceLink")) == 1


async def test_the_admin_console_refunds_from_the_timeline(stars: Harness) -> None:
    charge = await pay(stars, ANN, await invoice_link(stars, ANN))
    admin = await login(stars, {"id": ADMIN_ID, "first_name": "Boss"})
    path = f"/api/v1/admin/subscribers/{ANN}"
    status, body, _ = await call(stars, "GET", path, token=admin)
    assert status == 200 and body["refundable"] is True
    subscriber = await login(stars, {"id": ANN, "first_name": "Ann"})
    status, body, _ = await call(stars, "POST", path + "/refund", token=subscriber, body={})
    assert (status, body["error"]["code"]) == (403, "not_allowed")
    before = await state(stars)
    for bad in (
        {"reason": 5},
        {"reason": "x" * 301},
        {"charge_id": 7},
        {"charge_id": ""},
        {"charge_id": "x" * 256},
        {"charge_id": "stx\u0000null"},
        {"reason": "bad\u0000"},
    ):
        status, body, _ = await call(stars, "POST", path + "/refund", token=admin, body=bad)
        assert (status, body["error"]["code"]) == (400, "bad_request")
    status, _, _ = await call(stars, "POST", path + "/refund", token=admin, raw=b"[1")
    assert status == 400
    assert await state(stars) == before and await _access(stars, ANN)
    assert stars.fake_bot.calls_for("refundStarPayment") == []

    body_in = {"reason": "asked  nicely"}
    status, body, _ = await call(stars, "POST", path + "/refund", token=admin, body=body_in)
    assert (status, body) == (200, {"amount": PRICE, "already": False, "charge_id": charge})
    [call_made] = stars.fake_bot.calls_for("refundStarPayment")
    assert call_made["telegram_payment_charge_id"] == charge
    assert not await _access(stars, ANN)
    [payment] = await _payments(stars)
    assert payment.refund_reason == "asked nicely"
    status, body, _ = await call(stars, "POST", path + "/refund", token=admin, body={})
    # A second tap: nothing running to refund, and when the access ended.
    assert (status, body["error"]["code"]) == (409, "nothing_to_refund")
    assert "Stars access ended 20" in body["error"]["message"]
    assert len(stars.fake_bot.calls_for("refundStarPayment")) == 1
    status, body, _ = await call(stars, "GET", path, token=admin)
    assert body["refundable"] is False


async def test_telegram_refusing_the_invoice_leaves_the_other_rail(
    stars: Harness, make_harness: MakeHarness
) -> None:
    stars.fake_bot.fail_next("createInvoiceLink", "500")
    await stars.send_text(ANN, "/subscribe")
    reply = stars.last_reply(ANN)
    rows = reply.params["reply_markup"]["inline_keyboard"]
    assert len(rows) == 2 and "Telegram Stars" not in reply.text  # the Stripe plans only
    only = await make_harness(
        stars_price=PRICE, stripe_api_key=None, stripe_price_ids=[], stripe_webhook_secret=None
    )
    only.fake_bot.fail_next("createInvoiceLink", "500")
    await only.send_text(BOB, "/subscribe")
    assert only.last_reply(BOB).text == (
        "Telegram cannot make the Stars invoice right now. Please try again in a minute."
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("telegram_payment_charge_id", "x" * 300),
        ("telegram_payment_charge_id", ""),
        ("telegram_payment_charge_id", "a\x00b"),
        ("total_amount", 2**40),
        ("total_amount", 0),
    ],
)
async def test_a_payment_no_real_telegram_sends_is_not_booked_and_not_retried(
    stars: Harness, field: str, value: object
) -> None:
    invoice = stars.fake_bot.stars.invoice(await invoice_link(stars, ANN))
    charge = stars.fake_bot.stars.charge(USER_ANN, invoice, first=None)
    update = paid_update(stars, ANN, invoice, charge, first=True)
    update["message"]["successful_payment"][field] = value
    await stars.feed(update)  # no exception: the update is done with
    assert await _payments(stars) == [] and not await _access(stars, ANN)


async def test_an_expiry_out_of_range_books_thirty_days(stars: Harness) -> None:
    link = await invoice_link(stars, ANN)
    invoice = stars.fake_bot.stars.invoice(link)
    charge = stars.fake_bot.stars.charge(
        {"id": ANN, "is_bot": False, "first_name": "A"}, invoice, first=None
    )
    update = paid_update(stars, ANN, invoice, charge, first=True)
    update["message"]["successful_payment"]["subscription_expiration_date"] = 10**12
    await stars.feed(update)
    row = await _stars_row(stars, ANN)
    assert row is not None and row.expires_at is not None
    assert 29 <= (row.expires_at - datetime.now(UTC)).days <= 30


async def test_a_refund_reason_with_a_control_character_is_refused_first(stars: Harness) -> None:
    await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ADMIN_ID, f"/refund {ANN} bad\x07reason")
    assert "cannot be sent" in stars.last_reply(ADMIN_ID).text
    assert stars.fake_bot.calls_for("refundStarPayment") == []
