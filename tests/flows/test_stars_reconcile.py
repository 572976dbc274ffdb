"""Stars beyond the live updates: reconciliation from getStarTransactions (paged, from a
cursor kept in the database) books what the bot missed; the lifecycle jobs cover Stars
(the reminder before a stopped renewal ends, the expiry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.accounts.access import STRIPE_GRACE, has_access
from bot.cli.reconcile import run_reconcile
from bot.lifecycle.sweeps import LifecycleSweeps
from bot.stars.reconcile import CURSOR
from bot.texts.keyboards import StarsButton
from bot.transactions.unit_of_work import UnitOfWork
from db.models import (
    Entitlement,
    EntitlementSource,
    OutboxMessage,
    Referral,
    StarPayment,
    SyncCursor,
)
from tests.support.harness import Harness, MakeHarness
from tests.support.stars_player import invoice_link, pay, renew

PRICE = 250
ANN = 6_800_001
BOB = 6_800_002


@pytest.fixture
async def stars(make_harness: MakeHarness) -> Harness:
    return await make_harness(stars_price=PRICE)


async def _cursor(harness: Harness) -> int | None:
    async with harness.session() as session:
        return await session.scalar(select(SyncCursor.position).where(SyncCursor.name == CURSOR))


async def _paid_until(harness: Harness, user_id: int) -> datetime | None:
    async with harness.session() as session:
        row = await session.scalar(
            select(Entitlement).where(
                Entitlement.user_id == user_id, Entitlement.source == EntitlementSource.STARS
            )
        )
        return row.expires_at if row is not None else None


async def _access(harness: Harness, user_id: int) -> bool:
    async with harness.session() as session:
        return await has_access(session, user_id, datetime.now(UTC))


async def test_a_payment_whose_update_was_lost_is_booked_once(stars: Harness) -> None:
    reconciler = stars.parts.stars_reconciler
    assert reconciler is not None
    charge = await pay(stars, ANN, await invoice_link(stars, ANN), lose_update=True)
    assert charge is not None and not await _access(stars, ANN)

    dry = await reconciler.run(dry_run=True)
    assert (dry.read, len(dry.changed)) == (1, 1)
    assert not await _access(stars, ANN) and await _cursor(stars) is None

    report = await reconciler.run(dry_run=False)
    assert report.changed == [f"stars {charge} (user {ANN}): payment of {PRICE} booked"]
    assert await _access(stars, ANN) and await _cursor(stars) == 1
    await stars.deliver(wait=2)  # after the reply to the same chat: a second apart
    assert "is active until" in stars.last_reply(ANN).text

    again = await reconciler.run(dry_run=False)  # from the cursor: nothing read twice
    assert (again.read, again.changed) == (0, [])
    offsets = [call["offset"] for call in stars.fake_bot.calls_for("getStarTransactions")]
    assert offsets == [0, 0, 1]


async def test_a_lost_renewal_extends_access_and_a_seen_payment_is_left_alone(
    stars: Harness,
) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert first is not None
    ends = await _paid_until(stars, ANN)
    await renew(stars, ANN, first, lose_update=True)
    reconciler = stars.parts.stars_reconciler
    assert reconciler is not None
    report = await reconciler.run(dry_run=False)
    assert (report.read, len(report.changed)) == (2, 1)  # the first payment was booked live
    assert ends is not None and await _paid_until(stars, ANN) == ends + timedelta(days=30)


async def test_a_refund_made_elsewhere_is_booked_and_ends_access(stars: Harness) -> None:
    charge = await pay(stars, ANN, await invoice_link(stars, ANN))
    reconciler = stars.parts.stars_reconciler
    assert reconciler is not None and charge is not None
    await reconciler.run(dry_run=False)
    # Refunded outside the bot's /refund (by another tool with the bot's token, say).
    await stars.parts.bot.refund_star_payment(user_id=ANN, telegram_payment_charge_id=charge)
    report = await reconciler.run(dry_run=False)
    assert report.changed == [f"stars {charge} (user {ANN}): refund of {PRICE} booked"]
    assert not await _access(stars, ANN)
    async with stars.session() as session:
        payment = await session.scalar(select(StarPayment))
        assert payment is not None and payment.refunded_at is not None


async def test_an_old_payment_refunded_later_starts_nothing_and_pays_no_bonus(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(stars_price=PRICE, referral_bonus_days=14)
    await harness.send_text(BOB, "/help")
    await harness.send_text(ANN, f"/start ref_{BOB}")  # Bob brought Ann
    charge = await pay(harness, ANN, await invoice_link(harness, ANN), lose_update=True)
    assert charge is not None
    ledger = harness.fake_bot.stars
    [paid] = [tx for tx in ledger.transactions if tx["id"] == charge]
    paid["date"] -= 60 * 86400  # paid two months ago: its 30 days are long over
    await harness.parts.bot.refund_star_payment(user_id=ANN, telegram_payment_charge_id=charge)
    reconciler = harness.parts.stars_reconciler
    assert reconciler is not None

    report = await reconciler.run(dry_run=False)
    assert report.changed == [
        f"stars {charge} (user {ANN}): payment of {PRICE} booked",
        f"stars {charge} (user {ANN}): refund of {PRICE} booked",
    ]
    async with harness.session() as session:
        kinds = list(await session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
        referral = await session.get(Referral, ANN)
        payment = await session.scalar(select(StarPayment))
    assert "access_started" not in kinds and "referral_bonus" not in kinds
    assert referral is not None and referral.rewarded_at is None
    assert payment is not None and payment.refunded_at is not None
    assert not await _access(harness, ANN) and not await _access(harness, BOB)
    await harness.deliver(wait=10)
    [told] = [m.text for m in harness.replies(ANN) if "refunded" in m.text]
    assert "for an earlier period has been refunded" in told
    assert not any("is active until" in m.text for m in harness.replies(ANN))
    assert len(harness.replies(BOB)) == 1  # the /help answer: no bonus told


async def test_many_transactions_are_read_page_by_page(stars: Harness) -> None:
    payers = [7_000_000 + i for i in range(120)]
    for payer in payers:
        await pay(stars, payer, await invoice_link(stars, payer), lose_update=True)
    reconciler = stars.parts.stars_reconciler
    assert reconciler is not None
    report = await reconciler.run(dry_run=False)
    assert (report.read, len(report.changed)) == (120, 120)
    assert [c["offset"] for c in stars.fake_bot.calls_for("getStarTransactions")] == [0, 100]
    assert all([await _access(stars, payer) for payer in payers])


async def test_reconcile_command_prints_the_stars_part_with_stars_only(
    make_harness: MakeHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = await make_harness(
        stars_price=PRICE, stripe_api_key=None, stripe_price_ids=[], stripe_webhook_secret=None
    )
    charge = await pay(harness, ANN, await invoice_link(harness, ANN), lose_update=True)
    assert await run_reconcile(harness.settings, dry_run=True) == 0
    assert await run_reconcile(harness.settings, dry_run=False) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"stars {charge} (user {ANN}): payment of {PRICE} booked",
        "read 1 Stars transactions: would book 1 missed",
        f"stars {charge} (user {ANN}): payment of {PRICE} booked",
        "read 1 Stars transactions: booked 1 missed",
    ]


# --- the lifecycle jobs over Stars ---------------------------------------------------------


def _sweeps(harness: Harness) -> LifecycleSweeps:
    return LifecycleSweeps(
        UnitOfWork(harness.parts.session_factory), reminder_days=[3, 1], plan_name=lambda _: None
    )


async def test_a_stopped_stars_renewal_is_reminded_with_a_resume_button(stars: Harness) -> None:
    await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.press(ANN, StarsButton(action="stop").pack())
    await pay(stars, BOB, await invoice_link(stars, BOB))  # renews: no reminder
    ends = await _paid_until(stars, ANN)
    assert ends is not None
    assert await _sweeps(stars).reminders(ends - timedelta(days=1)) == "1 reminded of an end"
    await stars.deliver(wait=5)  # each message to ANN a second after the one before
    reminder = stars.last_reply(ANN)
    assert "Your Telegram Stars subscription ends on" in reminder.text
    assert "in 1 day, and will not renew" in reminder.text
    button = reminder.params["reply_markup"]["inline_keyboard"][0][0]
    assert StarsButton.unpack(button["callback_data"]).action == "resume"


async def test_a_stars_subscription_that_was_not_renewed_ends_after_the_grace(
    stars: Harness,
) -> None:
    await pay(stars, ANN, await invoice_link(stars, ANN))
    ends = await _paid_until(stars, ANN)
    assert ends is not None
    sweeps = _sweeps(stars)
    assert await sweeps.expiry(ends + timedelta(minutes=5)) == "0 told their access ended"
    assert await sweeps.expiry(ends + STRIPE_GRACE) == "1 told their access ended"
    await stars.deliver(wait=5)  # each notice to one chat a second after the last
    assert "Your Telegram Stars subscription ended on" in stars.last_reply(ANN).text
