# ruff: noqa: F811 - `stars` is a fixture imported from stars_helpers.py
"""Telegram Stars end to end: aiogram over real HTTP to the fake Bot API, which makes the
invoice links, asks the bot before each payment and keeps the Stars ledger; the real
database (SQLite and PostgreSQL). The payload and the settings; subscribing: both rails
offered, Stars only, paying, a replayed payment, forged and foreign invoices, an old price,
someone already subscribed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.settings import SettingsError, load_settings
from bot.stars.payload import Offer, PayloadSigner
from tests.flows.stars_helpers import (
    ANN,
    BOB,
    PRICE,
    _access,
    _outbox,
    _payments,
    _stars_row,
    stars,  # noqa: F401 - a fixture
)
from tests.support.harness import BOT_TOKEN, Harness, MakeHarness
from tests.support.helpers import give_access, state
from tests.support.stars_player import ask, invoice_link, paid_update, pay

# --- the payload and the settings -----------------------------------------------------------


def test_a_payload_names_its_user_and_price_and_cannot_be_forged() -> None:
    signer = PayloadSigner(BOT_TOKEN)
    payload = signer.sign(Offer(ANN, PRICE))
    assert signer.verify(payload) == Offer(ANN, PRICE)
    assert len(payload.encode()) <= 128  # noqa: PLR2004 - Telegram's limit
    user, price, mac = payload.split(".")[1:]
    assert signer.verify(f"s1.{BOB}.{price}.{mac}") is None  # another user
    assert signer.verify(f"s1.{user}.1.{mac}") is None  # another price
    assert PayloadSigner("42:other-token").verify(payload) is None  # another bot
    for junk in ("", "s1", "s1.1.2", "s2.1.2.x", "s1.¹.2.x", "s1.1.2." + "x" * 200, "é" * 10):
        assert signer.verify(junk) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stars_price": "0"}, "STARS_PRICE: input should be greater than or equal to 1"),
        ({"stars_price": "10001"}, "STARS_PRICE: input should be less than or equal to 10000"),
        ({"stars_price": "lots"}, "STARS_PRICE: input should be a valid integer"),
        ({"payment_rails": "stars"}, "PAYMENT_RAILS names stars but STARS_PRICE is not set"),
        ({"payment_rails": "stripe"}, "PAYMENT_RAILS names stripe but STRIPE_API_KEY"),
        ({"payment_rails": "paypal", "stars_price": "5"}, "PAYMENT_RAILS: 'paypal' is not"),
    ],
)
def test_bad_stars_settings_stop_start_up_naming_the_setting(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, bot_token=BOT_TOKEN, **overrides)
    assert str(caught.value).startswith(message)


def test_the_rails_default_to_whatever_is_configured() -> None:
    base = {"_env_file": None, "bot_token": BOT_TOKEN}
    stripe = {"stripe_api_key": "sk_test_1", "stripe_price_ids": "price_1"}
    assert load_settings(**base).rails == ()
    assert load_settings(**base, stars_price=5).rails == ("stars",)
    assert load_settings(**base, **stripe).rails == ("stripe",)
    assert load_settings(**base, **stripe, stars_price=5).rails == ("stripe", "stars")
    only = load_settings(**base, **stripe, stars_price=5, payment_rails="stars")
    assert only.rails == ("stars",)


# --- subscribing --------------------------------------------------------------------------


async def test_subscribe_offers_both_rails_with_a_stars_invoice_for_this_user(
    stars: Harness,
) -> None:
    link = await invoice_link(stars, ANN)
    reply = stars.last_reply(ANN)
    assert "Or pay in Telegram Stars: 250 ⭐ for 30 days" in reply.text
    rows = reply.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in rows][-1] == "⭐ 250 Stars / 30 days"
    assert len(rows) == 3  # two Stripe plans and Stars  # noqa: PLR2004
    [call] = stars.fake_bot.calls_for("createInvoiceLink")
    assert (call["currency"], call["subscription_period"]) == ("XTR", 2_592_000)
    assert not call.get("provider_token")
    assert stars.fake_bot.stars.invoice(link)["amount"] == PRICE
    assert PayloadSigner(BOT_TOKEN).verify(call["payload"]) == Offer(ANN, PRICE)


async def test_a_provider_can_run_stars_only(make_harness: MakeHarness) -> None:
    harness = await make_harness(
        stars_price=PRICE, stripe_api_key=None, stripe_price_ids=[], stripe_webhook_secret=None
    )
    await invoice_link(harness, ANN)
    reply = harness.last_reply(ANN)
    assert reply.text.startswith("Subscribe with Telegram Stars: 250 ⭐ for 30 days")
    assert len(reply.params["reply_markup"]["inline_keyboard"]) == 1
    assert harness.fake_stripe.requests == []


async def test_paying_gives_access_until_the_expiration_and_says_so(stars: Harness) -> None:
    charge = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert charge is not None
    row = await _stars_row(stars, ANN)
    assert row is not None and (row.status, row.source_ref) == ("active", charge)
    expires = datetime.fromtimestamp(stars.fake_bot.stars.expiry_of(charge), UTC)
    assert row.expires_at == expires
    assert await _access(stars, ANN)
    [payment] = await _payments(stars)
    assert (payment.charge_id, payment.amount, payment.user_id) == (charge, PRICE, ANN)
    await stars.deliver(wait=2)  # after the reply to the same chat: a second apart
    assert "✅ Your subscription to <b>Telegram Stars</b> is active until" in (
        stars.last_reply(ANN).text
    )
    await stars.send_text(ANN, "/status")
    status = stars.last_reply(ANN).text
    assert "<b>Plan:</b> Telegram Stars (250 ⭐ / 30 days)" in status
    assert "Premium signals: <b>on</b>" in status


async def test_a_replayed_payment_changes_nothing(stars: Harness) -> None:
    link = await invoice_link(stars, ANN)
    invoice = stars.fake_bot.stars.invoice(link)
    charge = await pay(stars, ANN, link)
    assert charge is not None
    row = await _stars_row(stars, ANN)
    assert row is not None
    before = (row.expires_at, row.state_version, await state(stars))

    await stars.feed(paid_update(stars, ANN, invoice, charge, first=True))
    await stars.feed(paid_update(stars, ANN, invoice, charge, first=False))  # as a renewal, too
    row = await _stars_row(stars, ANN)
    assert row is not None
    assert (row.expires_at, row.state_version, await state(stars)) == before
    assert len(await _payments(stars)) == 1
    assert await _outbox(stars, "access_started") == 1
    assert await _outbox(stars, "stars_renewed") == 0


@pytest.mark.parametrize(
    ("case", "reply"),
    [
        ("someone_else", "This invoice was made for someone else."),
        ("forged", "This invoice is not valid."),
        ("tampered", "This invoice is not valid."),
        ("wrong_amount", "The price has changed since this invoice was made."),
        ("not_stars", "This invoice is not valid."),
    ],
)
async def test_a_foreign_or_forged_invoice_is_refused_and_nothing_is_stored(
    stars: Harness, case: str, reply: str
) -> None:
    invoice = dict(stars.fake_bot.stars.invoice(await invoice_link(stars, ANN)))
    await stars.send_text(BOB, "/help")
    before = await state(stars)
    payer, amount, currency = ANN, PRICE, "XTR"
    if case == "someone_else":
        payer = BOB
    elif case == "forged":
        invoice["payload"] = "buy me for free"
    elif case == "tampered":
        invoice["payload"] = invoice["payload"][:-2] + "AA"
    elif case == "wrong_amount":
        amount = 1
    else:
        currency = "USD"
    answer = await ask(stars, payer, invoice, amount=amount, currency=currency)
    assert (answer["ok"], answer["error_message"].startswith(reply)) == (False, True)
    assert await state(stars) == before
    assert await _payments(stars) == []


async def test_an_invoice_made_at_an_old_price_is_refused(
    stars: Harness, make_harness: MakeHarness
) -> None:
    link = await invoice_link(stars, ANN)
    dearer = await make_harness(stars_price=PRICE + 50)  # the provider raised the price
    answer = await ask(dearer, ANN, dearer.fake_bot.stars.invoice(link))
    assert answer["ok"] is False
    assert answer["error_message"].startswith("The price has changed")


async def test_someone_already_subscribed_is_not_charged_twice(stars: Harness) -> None:
    await give_access(stars, ANN)  # a Stripe subscription
    link = await invoice_link(stars, BOB)  # an older invoice of their own would do too
    invoice = dict(stars.fake_bot.stars.invoice(link))
    invoice["payload"] = PayloadSigner(BOT_TOKEN).sign(Offer(ANN, PRICE))
    answer = await ask(stars, ANN, invoice)
    assert answer == {**answer, "ok": False}
    assert answer["error_message"].startswith("You already have an active subscription")
    assert await pay(stars, ANN, link) is None  # Bob's link, refused as well
    assert await _payments(stars) == []
