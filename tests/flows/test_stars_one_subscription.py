# ruff: noqa: F811 - `stars` is a fixture imported from stars_helpers.py
"""Telegram Stars, one subscription per user (over real HTTP to the fake Bot API, on SQLite
and PostgreSQL): the booking and hold rules, a second invoice refused while the first is
being paid, and a second subscription that lands anyway refunded, stopped and told (by
reconciliation when the refund failed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.stars import rules
from bot.stars.payload import Offer
from bot.texts.keyboards import StarsButton
from db.models import StarCheckout
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
from tests.support.harness import Harness
from tests.support.stars_player import ask, invoice_link, paid_update, pay, user


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
