"""Stars money paths a review found wrong: a refunded subscription that renews, a renewal
delivered late, a second subscription whose refund fails, a payment refunded later in the
same transaction list, and a live payment booked while the wall clock is ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.accounts.access import has_access
from bot.stars import rules
from bot.texts.keyboards import StarsButton
from db.models import Entitlement, EntitlementSource, OutboxMessage, StarPayment
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.stars_player import invoice_link, paid_update, pay, renew, user

PRICE = 250
ANN = 6_990_001
BOB = 6_990_002


async def _told(harness: Harness, chat_id: int) -> list[str]:
    async with harness.session() as session:
        query = select(OutboxMessage.kind).where(OutboxMessage.chat_id == chat_id)
        return list(await session.scalars(query.order_by(OutboxMessage.id)))


async def _payments(harness: Harness) -> dict[str, StarPayment]:
    async with harness.session() as session:
        return {p.charge_id: p for p in await session.scalars(select(StarPayment))}


async def _stars_row(harness: Harness, user_id: int) -> Entitlement | None:
    async with harness.session() as session:
        return await session.scalar(
            select(Entitlement).where(
                Entitlement.user_id == user_id, Entitlement.source == EntitlementSource.STARS
            )
        )


async def _access(harness: Harness, user_id: int, at: datetime | None = None) -> bool:
    async with harness.session() as session:
        return await has_access(session, user_id, at or datetime.now(UTC))


async def _referred_payer(harness: Harness) -> str:
    """Bob brings Ann, and Ann pays in Stars (her referrer's bonus paid)."""
    await harness.send_text(BOB, "/help")
    await harness.send_text(ANN, f"/start ref_{BOB}")
    charge = await pay(harness, ANN, await invoice_link(harness, ANN))
    assert charge is not None
    return charge


def _renewal_update(harness: Harness, first: str, charge: str) -> dict[str, object]:
    sub = harness.fake_bot.stars.subscriptions[first]
    invoice = {"payload": sub.payload, "amount": sub.amount}
    return paid_update(harness, ANN, invoice, charge, first=False)


# --- A: /refund of the running period ------------------------------------------------------


async def test_refund_of_the_running_period_stops_the_renewal(make_harness: MakeHarness) -> None:
    harness = await make_harness(referral_bonus_days=14, stars_price=PRICE)
    first = await _referred_payer(harness)
    await harness.send_text(ADMIN_ID, f"/refund {ANN} asked for the money back")
    assert harness.last_reply(ADMIN_ID).text.startswith("Refunded 250 ⭐")
    [stop] = harness.fake_bot.calls_for("editUserStarSubscription")
    assert (stop["telegram_payment_charge_id"], stop["is_canceled"]) == (first, True)
    assert harness.fake_bot.stars.subscriptions[first].canceled_by_bot


async def test_a_renewal_of_a_refunded_subscription_is_refunded_and_starts_nothing(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(referral_bonus_days=14, stars_price=PRICE)
    first = await _referred_payer(harness)
    harness.fake_bot.fail_next("editUserStarSubscription", "500")  # the stop did not land
    await harness.send_text(ADMIN_ID, f"/refund {ANN}")
    assert harness.last_reply(ADMIN_ID).text.startswith("Refunded 250 ⭐")
    assert not harness.fake_bot.stars.subscriptions[first].canceled_by_bot

    # Thirty days on Telegram renews it (or says so late); the bot gives the Stars back.
    second = await renew(harness, ANN, first)
    assert harness.fake_bot.stars.refunded == {first, second}
    assert harness.fake_bot.stars.subscriptions[first].canceled_by_bot
    assert not await _access(harness, ANN, datetime.now(UTC) + timedelta(days=40))
    payments = await _payments(harness)
    assert payments[second].refunded_at is not None
    assert payments[second].subscription_ref == first
    assert await _told(harness, BOB) == ["referral_bonus", "referral_bonus_taken_back"]
    assert await _told(harness, ANN) == ["access_started", "stars_refunded", "stars_refunded"]
    await harness.feed(_renewal_update(harness, first, second))  # delivered again
    assert len(harness.fake_bot.calls_for("refundStarPayment")) == 2  # noqa: PLR2004


# --- B: a renewal delivered after the grace ------------------------------------------------


async def test_a_late_renewal_renews_the_same_subscription_and_pays_no_bonus(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(referral_bonus_days=14, stars_price=PRICE)
    first = await _referred_payer(harness)
    ended = datetime.now(UTC) - timedelta(hours=3)  # while the bot was down
    async with harness.session() as session, session.begin():
        await session.execute(
            update(Entitlement)
            .where(Entitlement.user_id == ANN, Entitlement.source == EntitlementSource.STARS)
            .values(expires_at=ended)
        )
        await session.execute(
            update(StarPayment).where(StarPayment.charge_id == first).values(paid_until=ended)
        )
    assert not await _access(harness, ANN)
    second = await renew(harness, ANN, first)
    row = await _stars_row(harness, ANN)
    assert row is not None and row.source_ref == first
    assert await _access(harness, ANN)
    assert (await _payments(harness))[second].subscription_ref == first
    assert await _told(harness, ANN) == ["access_started", "stars_renewed"]
    assert await _told(harness, BOB) == ["referral_bonus"]
    before = len(harness.fake_bot.calls_for("editUserStarSubscription"))
    await harness.press(ANN, StarsButton(action="stop").pack())
    stops = harness.fake_bot.calls_for("editUserStarSubscription")[before:]
    assert [c["telegram_payment_charge_id"] for c in stops] == [first]


async def test_a_renewal_whose_first_payment_was_never_booked_pays_no_bonus(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(referral_bonus_days=14, stars_price=PRICE)
    await harness.send_text(BOB, "/help")
    await harness.send_text(ANN, f"/start ref_{BOB}")
    now = datetime.now(UTC)
    renewal = rules.Payment("stxRENEWAL00000001", ANN, PRICE, now + rules.PERIOD, True)
    async with harness.session() as session, session.begin():
        await harness.parts.stars.record_payment(session, renewal, now)
    assert await _access(harness, ANN)  # Telegram took the Stars: the access is theirs
    assert await _told(harness, BOB) == []  # but a renewal is nobody's first payment


def test_a_renewal_is_a_renewal_whenever_it_comes() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    over = rules.StarsState("stx1", now - timedelta(days=2), False)
    late = rules.Payment("stx2", ANN, PRICE, now + rules.PERIOD, True, paid_at=now)
    assert rules.booking(over, late, True, now) == rules.Booking.RENEW
    assert rules.after_payment(over, late, rules.Booking.RENEW).subscription_ref == "stx1"
    refunded = rules.StarsState("stx1", now - timedelta(days=2), True, refunded=True)
    assert rules.booking(refunded, late, True, now) == rules.Booking.REFUND
    fresh = rules.Payment("stx3", ANN, PRICE, now + rules.PERIOD, False, paid_at=now)
    assert rules.booking(refunded, fresh, True, now) == rules.Booking.START
    # Found by reconciliation: charged when the period ended, so the same subscription.
    found = rules.Payment(
        "stx4", ANN, PRICE, now + timedelta(days=28), None, paid_at=over.expires_at
    )
    assert rules.booking(over, found, True, now) == rules.Booking.RENEW
    # Charged long after it ended: a new subscription.
    later = rules.Payment("stx5", ANN, PRICE, now + rules.PERIOD, None, paid_at=now)
    assert rules.booking(over, later, True, now) == rules.Booking.START


# --- C: a second subscription whose refund fails -------------------------------------------


async def test_a_second_subscription_whose_refund_fails_is_stopped_and_reported_owed(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(stars_price=PRICE)
    harness.fake_bot.fail_next("refundStarPayment", "500", times=2)
    links = [await invoice_link(harness, ANN), await invoice_link(harness, ANN)]
    first = await pay(harness, ANN, links[0])
    assert first is not None
    invoice = harness.fake_bot.stars.invoice(links[1])
    second = harness.fake_bot.stars.charge(user(ANN), invoice, first=None)
    await harness.feed(paid_update(harness, ANN, invoice, second, first=True))
    assert harness.fake_bot.stars.subscriptions[second].canceled_by_bot  # stopped anyway
    reconciler = harness.parts.stars_reconciler
    assert reconciler is not None

    report = await reconciler.run(dry_run=False)  # the refund fails again
    assert harness.fake_bot.stars.refunded == set()
    assert report.changed == [
        f"stars {second} (user {ANN}): second subscription, refund owed: refund failed, still owed"
    ]
    assert (await _payments(harness))[second].refunded_at is None

    # The cursor is past it; the ledger still knows it is owed.
    report = await reconciler.run(dry_run=False)
    assert report.read == 0
    assert report.changed == [
        f"stars {second} (user {ANN}): second subscription, refund owed: refunded"
    ]
    assert harness.fake_bot.stars.refunded == {second}
    assert (await _payments(harness))[second].refunded_at is not None
    assert (await reconciler.run(dry_run=False)).changed == []


# --- D: a payment refunded later in the same list ------------------------------------------


async def test_a_reconciled_payment_refunded_later_in_the_list_is_booked_ledger_only(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(referral_bonus_days=14, stars_price=PRICE)
    await harness.send_text(BOB, "/help")
    await harness.send_text(ANN, f"/start ref_{BOB}")
    charge = await pay(harness, ANN, await invoice_link(harness, ANN), lose_update=True)
    assert charge is not None
    await harness.parts.bot.refund_star_payment(user_id=ANN, telegram_payment_charge_id=charge)
    reconciler = harness.parts.stars_reconciler
    assert reconciler is not None
    report = await reconciler.run(dry_run=False)
    assert report.changed == [
        f"stars {charge} (user {ANN}): payment of {PRICE} booked",
        f"stars {charge} (user {ANN}): refund of {PRICE} booked",
    ]
    assert await _told(harness, ANN) == ["stars_refunded"]
    assert await _told(harness, BOB) == []
    assert not await _access(harness, ANN) and not await _access(harness, BOB)
    assert (await _payments(harness))[charge].refunded_at is not None


# --- E: a live payment while the wall clock is ahead ---------------------------------------


async def test_a_live_payment_booked_while_the_clock_is_ahead_gives_its_access(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(stars_price=PRICE)
    real = datetime.now(UTC)
    payment = rules.Payment("stxREALCHARGE0001", ANN, PRICE, real + rules.PERIOD, False)
    async with harness.session() as session, session.begin():
        await harness.parts.stars.record_payment(session, payment, real + timedelta(days=40))
    # The clock is back: the 30 days paid for are all still ahead.
    assert await _access(harness, ANN, real + timedelta(minutes=1))
    assert await _told(harness, ANN) == ["access_started"]


@pytest.mark.parametrize("recurring", [True, False])
def test_only_reconciliation_books_a_payment_as_past(recurring: bool) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    running = rules.StarsState("stx1", now - timedelta(days=31), False)
    live = rules.Payment("stx2", ANN, PRICE, now - timedelta(days=1), recurring)
    assert rules.booking(running, live, True, now) != rules.Booking.PAST
    found = rules.Payment("stx2", ANN, PRICE, now - timedelta(days=1), None, paid_at=now)
    assert rules.booking(running, found, True, now) == rules.Booking.PAST
