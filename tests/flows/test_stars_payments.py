"""Telegram Stars end to end: aiogram over real HTTP to the fake Bot API, which makes the
invoice links, asks the bot before each payment and keeps the Stars ledger; the real
database (SQLite and PostgreSQL). Pre-checkout answers, payments and renewals, replays,
forged and foreign invoices, renewal off and on, refunds, and Stars beside Stripe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.accounts.access import has_access
from bot.core.settings import SettingsError, load_settings
from bot.stars import rules
from bot.stars.payload import Offer, PayloadSigner
from bot.texts.keyboards import RefundButton, StarsButton
from db.models import Entitlement, EntitlementSource, OutboxMessage, StarCheckout, StarPayment
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, BOT_TOKEN, Harness, MakeHarness
from tests.support.helpers import give_access, state
from tests.support.stars_player import ask, invoice_link, paid_update, pay, renew, user

PRICE = 250
USER_ANN = {"id": 6_700_001, "is_bot": False, "first_name": "Ann"}
ANN = 6_700_001
BOB = 6_700_002


@pytest.fixture
async def stars(make_harness: MakeHarness) -> Harness:
    return await make_harness(stars_price=PRICE)


async def _stars_row(harness: Harness, user_id: int) -> Entitlement | None:
    async with harness.session() as session:
        return await session.scalar(
            select(Entitlement).where(
                Entitlement.user_id == user_id, Entitlement.source == EntitlementSource.STARS
            )
        )


async def _payments(harness: Harness) -> list[StarPayment]:
    async with harness.session() as session:
        return list(await session.scalars(select(StarPayment).order_by(StarPayment.id)))


async def _outbox(harness: Harness, kind: str) -> int:
    async with harness.session() as session:
        query = select(func.count()).where(OutboxMessage.kind == kind)
        return int(await session.scalar(query.select_from(OutboxMessage)) or 0)


async def _access(harness: Harness, user_id: int, at: datetime | None = None) -> bool:
    async with harness.session() as session:
        return await has_access(session, user_id, at or datetime.now(UTC))


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


async def test_a_renewal_extends_access_and_keeps_the_subscription(stars: Harness) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert first is not None
    ends = (await _stars_row(stars, ANN)).expires_at  # type: ignore[union-attr]
    second = await renew(stars, ANN, first)
    row = await _stars_row(stars, ANN)
    assert row is not None and row.source_ref == first  # what editUserStarSubscription names
    assert ends is not None and row.expires_at == ends + timedelta(days=30)
    payments = await _payments(stars)
    assert [(p.charge_id, p.recurring, p.subscription_ref) for p in payments] == [
        (first, False, first),
        (second, True, first),
    ]
    await stars.deliver(wait=5)  # two notices to ANN, each a second after the one before
    assert "Your Telegram Stars subscription is renewed until" in stars.last_reply(ANN).text


async def test_stop_and_resume_the_renewal_from_manage(stars: Harness) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ANN, "/manage")
    manage = stars.last_reply(ANN)
    assert "renews on" in manage.text
    button = manage.params["reply_markup"]["inline_keyboard"][0][0]
    assert StarsButton.unpack(button["callback_data"]).action == "stop"

    await stars.press(ANN, button["callback_data"])
    [call] = stars.fake_bot.calls_for("editUserStarSubscription")
    assert (call["telegram_payment_charge_id"], call["is_canceled"]) == (first, True)
    assert "Renewal stopped. Your access runs until" in stars.last_reply(ANN).text
    row = await _stars_row(stars, ANN)
    assert row is not None and row.cancel_at_period_end and await _access(stars, ANN)

    await stars.send_text(ANN, "/manage")
    assert "will not renew" in stars.last_reply(ANN).text
    await stars.press(ANN, StarsButton(action="resume").pack())
    assert stars.fake_bot.calls_for("editUserStarSubscription")[-1]["is_canceled"] is False
    row = await _stars_row(stars, ANN)
    assert row is not None and not row.cancel_at_period_end


async def test_stop_without_a_stars_subscription_says_so_and_calls_nobody(stars: Harness) -> None:
    await stars.press(ANN, StarsButton(action="stop").pack())
    assert stars.last_reply(ANN).text == "You have no Telegram Stars subscription running."
    assert stars.fake_bot.calls_for("editUserStarSubscription") == []


# --- refunds -----------------------------------------------------------------------------


async def test_refund_ends_access_tells_the_user_and_books_it_once(stars: Harness) -> None:
    charge = await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ADMIN_ID, f"/refund {ANN} changed my mind")
    assert stars.last_reply(ADMIN_ID).text.startswith(f"Refunded 250 ⭐ to user {ANN}")
    [call] = stars.fake_bot.calls_for("refundStarPayment")
    assert (call["user_id"], call["telegram_payment_charge_id"]) == (ANN, charge)
    assert not await _access(stars, ANN)
    [payment] = await _payments(stars)
    assert payment.refunded_at is not None and payment.refund_reason == "changed my mind"
    await stars.deliver(wait=5)  # access started, then refunded: each a second after the last
    told = stars.last_reply(ANN).text
    assert "Your payment of 250 ⭐ has been refunded" in told and "changed my mind" in told

    await stars.send_text(ADMIN_ID, f"/refund {ANN}")  # twice: nothing left to refund
    row = await _stars_row(stars, ANN)
    assert row is not None and row.expires_at is not None
    assert stars.last_reply(ADMIN_ID).text.startswith(
        f"User {ANN} has nothing to refund: no payment's period is running, their Stars "
        f"access ended on {row.expires_at:%d %b %Y}."
    )
    assert len(stars.fake_bot.calls_for("refundStarPayment")) == 1


async def test_a_charge_refunded_before_at_telegram_is_booked_as_done(stars: Harness) -> None:
    charge = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert charge is not None
    stars.fake_bot.stars.refunded.add(charge)  # refunded by Telegram's support, say
    await stars.send_text(ADMIN_ID, f"/refund {ANN}")
    assert "was refunded before" in stars.last_reply(ADMIN_ID).text
    assert not await _access(stars, ANN)
    [payment] = await _payments(stars)
    assert payment.refunded_at is not None


@pytest.mark.parametrize(
    ("args", "reply"),
    [
        ("", "Usage: <code>/refund USER_ID [CHARGE_ID] [reason]</code>"),
        ("abc", "<code>abc</code> is not a Telegram user id"),
        ("6700001 " + "x" * 301, "keep it to 300 characters"),
        ("6700009", "User 6700009 has no Telegram Stars payment to refund."),
        ("6700001 stxnotmine0001", "no Telegram Stars payment <code>stxnotmine0001</code> left"),
    ],
)
async def test_bad_refund_arguments_are_named_and_change_nothing(
    stars: Harness, args: str, reply: str
) -> None:
    await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ADMIN_ID, "/help")
    before = await state(stars)
    await stars.send_text(ADMIN_ID, f"/refund {args}".strip())
    assert reply in stars.last_reply(ADMIN_ID).text
    assert await state(stars) == before
    assert stars.fake_bot.calls_for("refundStarPayment") == []
    assert await _access(stars, ANN)


async def test_refund_is_for_admins_only_in_chat_and_by_button(stars: Harness) -> None:
    await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ANN, f"/refund {ANN}")
    await stars.press(ANN, RefundButton(user_id=ANN).pack())
    assert stars.fake_bot.calls_for("refundStarPayment") == []
    assert await _access(stars, ANN)


async def test_the_timeline_has_a_refund_button_that_refunds(stars: Harness) -> None:
    await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ADMIN_ID, f"/user {ANN}")
    timeline = stars.last_reply(ADMIN_ID)
    assert "• Telegram Stars: Active" in timeline.text
    button = timeline.params["reply_markup"]["inline_keyboard"][0][0]
    assert RefundButton.unpack(button["callback_data"]).user_id == ANN
    await stars.press(ADMIN_ID, button["callback_data"])
    assert stars.last_reply(ADMIN_ID).text.startswith("Refunded 250 ⭐")
    assert not await _access(stars, ANN)


async def test_a_second_refund_finds_nothing_and_never_takes_an_older_payment(
    stars: Harness,
) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert first is not None
    second = await renew(stars, ANN, first)  # the period `first` paid for is used
    await stars.send_text(ADMIN_ID, f"/refund {ANN}")
    assert stars.last_reply(ADMIN_ID).text.startswith(f"Refunded 250 ⭐ to user {ANN}")
    await stars.send_text(ADMIN_ID, f"/refund {ANN}")  # the second /refund
    assert "has nothing to refund" in stars.last_reply(ADMIN_ID).text
    await stars.press(ADMIN_ID, RefundButton(user_id=ANN).pack())  # or a second tap
    assert "has nothing to refund" in stars.last_reply(ADMIN_ID).text
    refunded = [
        c["telegram_payment_charge_id"] for c in stars.fake_bot.calls_for("refundStarPayment")
    ]
    assert refunded == [second]
    assert {p.charge_id: p.refunded_at is not None for p in await _payments(stars)} == {
        first: False,
        second: True,
    }


async def test_an_older_payment_is_refunded_only_when_named_and_access_goes_on(
    stars: Harness,
) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert first is not None
    second = await renew(stars, ANN, first)
    ends = (await _stars_row(stars, ANN)).expires_at  # type: ignore[union-attr]
    await stars.send_text(ADMIN_ID, f"/refund {ANN} {first} charged twice by mistake")
    reply = stars.last_reply(ADMIN_ID).text
    assert reply.startswith(f"Refunded 250 ⭐ to user {ANN} for the older payment")
    assert "their current access is unchanged" in reply
    [made] = stars.fake_bot.calls_for("refundStarPayment")
    assert made["telegram_payment_charge_id"] == first
    row = await _stars_row(stars, ANN)
    assert row is not None and row.expires_at == ends and await _access(stars, ANN)
    payments = {p.charge_id: p for p in await _payments(stars)}
    assert payments[first].refund_reason == "charged twice by mistake"
    assert payments[second].refunded_at is None
    await stars.deliver(wait=10)
    [told] = [m.text for m in stars.replies(ANN) if "has been refunded" in m.text]
    assert "for an earlier period has been refunded" in told and "access has ended" not in told
    await stars.send_text(ADMIN_ID, f"/refund {ANN} {first}")  # named again: done already
    assert (
        f"no Telegram Stars payment <code>{first}</code> left" in stars.last_reply(ADMIN_ID).text
    )
    assert len(stars.fake_bot.calls_for("refundStarPayment")) == 1


async def test_the_admin_console_refunds_an_older_payment_only_when_named(
    stars: Harness,
) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert first is not None
    second = await renew(stars, ANN, first)
    admin = await login(stars, {"id": ADMIN_ID, "first_name": "Boss"})
    path = f"/api/v1/admin/subscribers/{ANN}/refund"
    before = await state(stars)
    status, body, _ = await call(stars, "POST", path, token=admin, body={"charge_id": "stx404"})
    assert (status, body["error"]["code"]) == (409, "nothing_to_refund")
    assert await state(stars) == before and stars.fake_bot.calls_for("refundStarPayment") == []
    status, body, _ = await call(stars, "POST", path, token=admin, body={"charge_id": first})
    assert (status, body) == (200, {"amount": PRICE, "already": False, "charge_id": first})
    assert await _access(stars, ANN)  # the running period's payment is kept
    status, body, _ = await call(stars, "POST", path, token=admin, body={})
    assert (status, body["charge_id"]) == (200, second)
    assert not await _access(stars, ANN)


# --- one subscription per user ---------------------------------------------------------------


def test_a_first_payment_beside_a_running_subscription_is_a_second_one() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    running = rules.StarsState("stx1", now + timedelta(days=20), False)

    def paid(recurring: bool | None, at: datetime, until: datetime) -> rules.Payment:
        return rules.Payment("stx2", ANN, PRICE, until, recurring, paid_at=at)

    month = now + rules.PERIOD
    assert rules.booking(running, paid(False, now, month), False, now) == rules.Booking.DUPLICATE
    assert rules.booking(running, paid(True, now, month), False, now) == rules.Booking.RENEW
    assert rules.booking(None, paid(False, now, month), True, now) == rules.Booking.START
    assert rules.booking(running, paid(False, now, month), True, now) == rules.Booking.START
    # Found by reconciliation (renewal unknown): by when it was charged.
    early, at_end = now, running.expires_at - timedelta(hours=2)
    assert rules.booking(running, paid(None, early, month), False, now) == rules.Booking.DUPLICATE
    assert rules.booking(running, paid(None, at_end, month), False, now) == rules.Booking.RENEW
    # A period found over by reconciliation starts nothing, whatever else is true (a live
    # payment is not judged by the local clock: test_stars_review.py).
    old = now - timedelta(days=60)
    assert rules.booking(None, paid(None, old, old + rules.PERIOD), True, now) == (
        rules.Booking.PAST
    )


def test_an_approved_pre_checkout_holds_off_another_for_a_few_minutes() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert rules.holding(now - timedelta(minutes=1), now)
    assert not rules.holding(now - rules.HOLD, now)
    assert not rules.holding(now + timedelta(hours=1), now)  # a clock moved back
    assert not rules.holding(None, now)
    checkout = rules.Checkout(ANN, "XTR", PRICE, Offer(ANN, PRICE))
    assert rules.refusal(checkout, PRICE, False, paying=True) == rules.Refusal.PAYING
    assert rules.refusal(checkout, PRICE, True, paying=True) == rules.Refusal.ALREADY_SUBSCRIBED


async def _age_hold(harness: Harness, user_id: int, by: timedelta) -> None:
    async with harness.session() as session, session.begin():
        held = await session.get(StarCheckout, user_id)
        assert held is not None
        held.approved_at -= by


async def test_a_second_invoice_is_refused_while_the_first_is_being_paid(stars: Harness) -> None:
    one = stars.fake_bot.stars.invoice(await invoice_link(stars, ANN))
    two = stars.fake_bot.stars.invoice(await invoice_link(stars, ANN))  # /subscribe twice
    assert (await ask(stars, ANN, one))["ok"] is True
    answer = await ask(stars, ANN, two)
    assert answer["ok"] is False
    assert answer["error_message"].startswith("Another payment of yours is being processed")
    assert (await ask(stars, BOB, stars.fake_bot.stars.invoice(await invoice_link(stars, BOB))))[
        "ok"
    ] is True  # someone else is not held off

    # The first payment never came (it failed at Telegram): after the hold, a new try.
    await _age_hold(stars, ANN, rules.HOLD)
    assert (await ask(stars, ANN, two))["ok"] is True
    charge = stars.fake_bot.stars.charge(user(ANN), two, first=None)
    await stars.feed(paid_update(stars, ANN, two, charge, first=True))
    async with stars.session() as session:
        assert await session.get(StarCheckout, ANN) is None  # the payment ends the hold
    answer = await ask(stars, ANN, one)
    assert answer["error_message"].startswith("You already have an active subscription")
    assert len(await _payments(stars)) == 1


async def _second_subscription(harness: Harness) -> tuple[str, str]:
    """Ann pays one invoice, and a second one that Telegram still charged (both
    pre-checkouts answered before either payment)."""
    links = [await invoice_link(harness, ANN), await invoice_link(harness, ANN)]
    first = await pay(harness, ANN, links[0])
    assert first is not None
    invoice = harness.fake_bot.stars.invoice(links[1])
    second = harness.fake_bot.stars.charge(user(ANN), invoice, first=None)
    await harness.feed(paid_update(harness, ANN, invoice, second, first=True))
    return first, second


async def test_a_second_subscription_that_lands_is_refunded_stopped_and_told(
    stars: Harness,
) -> None:
    first, second = await _second_subscription(stars)
    ends = datetime.fromtimestamp(stars.fake_bot.stars.expiry_of(first), UTC)

    [refund] = stars.fake_bot.calls_for("refundStarPayment")
    assert (refund["user_id"], refund["telegram_payment_charge_id"]) == (ANN, second)
    [stop] = stars.fake_bot.calls_for("editUserStarSubscription")
    assert (stop["telegram_payment_charge_id"], stop["is_canceled"]) == (second, True)
    assert stars.fake_bot.stars.subscriptions[second].canceled_by_bot
    row = await _stars_row(stars, ANN)  # the first subscription, untouched
    assert row is not None and (row.source_ref, row.expires_at) == (first, ends)
    assert not row.cancel_at_period_end and await _access(stars, ANN)
    payments = {p.charge_id: p for p in await _payments(stars)}
    assert payments[second].duplicate_of == first and payments[second].refunded_at is not None
    assert payments[first].refunded_at is None
    assert (await _outbox(stars, "stars_renewed"), await _outbox(stars, "access_started")) == (
        0,
        1,
    )
    await stars.deliver(wait=10)
    told = stars.last_reply(ANN).text
    assert "second payment of 250 ⭐ has been refunded and will not renew" in told

    invoice = {"payload": stars.fake_bot.stars.subscriptions[second].payload, "amount": PRICE}
    await stars.feed(paid_update(stars, ANN, invoice, second, first=True))  # delivered again
    assert len(stars.fake_bot.calls_for("refundStarPayment")) == 1
    assert await _outbox(stars, "stars_duplicate_refunded") == 1


async def test_a_second_subscription_whose_refund_failed_is_refunded_by_reconciliation(
    stars: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    stars.fake_bot.fail_next("refundStarPayment", "500")  # Telegram out of order a moment
    first, second = await _second_subscription(stars)
    assert "the payment owed back to user 6700001 was not refunded" in caplog.text
    payments = {p.charge_id: p for p in await _payments(stars)}
    assert payments[second].duplicate_of == first and payments[second].refunded_at is None
    assert await _outbox(stars, "stars_duplicate_refunded") == 0
    row = await _stars_row(stars, ANN)
    assert row is not None and row.source_ref == first

    reconciler = stars.parts.stars_reconciler
    assert reconciler is not None
    report = await reconciler.run(dry_run=False)
    assert report.changed == [
        f"stars {second} (user {ANN}): second subscription, refund owed: refunded"
    ]
    assert stars.fake_bot.stars.refunded == {second}
    payments = {p.charge_id: p for p in await _payments(stars)}
    assert payments[second].refunded_at is not None and payments[first].refunded_at is None
    assert await _outbox(stars, "stars_duplicate_refunded") == 1 and await _access(stars, ANN)


async def test_stop_renewal_stops_every_subscription_of_the_user(stars: Harness) -> None:
    first, second = await _second_subscription(stars)
    before = len(stars.fake_bot.calls_for("editUserStarSubscription"))
    await stars.press(ANN, StarsButton(action="stop").pack())
    stopped = stars.fake_bot.calls_for("editUserStarSubscription")[before:]
    assert sorted((c["telegram_payment_charge_id"], c["is_canceled"]) for c in stopped) == sorted(
        [(first, True), (second, True)]
    )
    assert "Renewal stopped" in stars.last_reply(ANN).text


# --- one ledger -----------------------------------------------------------------------------


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
    assert (status, body["error"]["code"]) == (403, "not_admin")
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
