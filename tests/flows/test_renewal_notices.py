"""RENEWAL_NOTICE_DAYS: an auto-renewing subscriber is told before each renewal, once per
notice, with the date, the plan's price and a button to the billing portal. Off unless set.

Time is the sweep's `now`, set by the test; nothing waits in real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core.settings import SettingsError, load_settings
from bot.lifecycle import rules
from bot.lifecycle.rules import Ending
from bot.texts.keyboards import BillingButton
from db.models import Entitlement, EntitlementSource, OutboxMessage, User
from tests.support.harness import BOT_TOKEN, PRICE_MONTHLY, Harness, MakeHarness

ANN = 6_600_001
BOB = 6_600_002
CAT = 6_600_003
NOW = datetime.now(UTC).replace(microsecond=0)


def _ending(
    source: str = EntitlementSource.STRIPE, *, status: str = "active", cancelled: bool = False
) -> Ending:
    end = NOW + timedelta(days=10)
    return Ending(1, ANN, source, end, NOW, cancelled, PRICE_MONTHLY, status)


async def _subscribe(
    harness: Harness,
    user_id: int,
    renews: datetime,
    *,
    status: str = "active",
    cancelled: bool = False,
) -> None:
    async with harness.session() as session, session.begin():
        session.add(User(id=user_id, first_name=f"User{user_id}"))
        await session.flush()
        session.add(
            Entitlement(
                user_id=user_id,
                source=EntitlementSource.STRIPE,
                source_ref=f"sub_{user_id}",
                status=status,
                price_id=PRICE_MONTHLY,
                expires_at=renews,
                cancel_at_period_end=cancelled,
                updated_at=NOW - timedelta(days=20),
                state_version=1,
            )
        )


async def _notices(harness: Harness) -> list[OutboxMessage]:
    async with harness.session() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "renewal_notice")
            .order_by(OutboxMessage.chat_id)
        )
        return list(rows)


# --- the rule and the setting -------------------------------------------------------------


def test_only_a_renewing_subscription_in_good_standing_gets_a_renewal_notice() -> None:
    end = _ending().expires_at
    day_before = end - timedelta(days=1)
    assert rules.due_renewal_notice(_ending(), day_before, [3, 1]) == 1
    assert rules.due_renewal_notice(_ending(status="trialing"), day_before, [3, 1]) == 1
    assert rules.due_renewal_notice(_ending(), end - timedelta(days=3, seconds=1), [3]) is None
    assert rules.due_renewal_notice(_ending(cancelled=True), day_before, [3, 1]) is None
    assert rules.due_renewal_notice(_ending(status="past_due"), day_before, [3, 1]) is None
    grant = _ending(EntitlementSource.GRANT)
    assert rules.due_renewal_notice(grant, day_before, [3, 1]) is None
    # A reminder and a renewal notice never share a key.
    assert rules.renewal_key(_ending(), 1) != rules.reminder_key(_ending(), 1)


def test_a_late_notice_counts_the_days_really_left() -> None:
    end = NOW + timedelta(days=3)
    assert rules.days_left(end, NOW) == 3
    assert rules.days_left(end, NOW + timedelta(hours=1)) == 3  # a part day counts as one
    assert rules.days_left(end, NOW + timedelta(days=1, seconds=1)) == 2
    assert rules.days_left(end, end - timedelta(minutes=1)) == 1
    assert rules.days_left(end, end + timedelta(minutes=1)) == 1  # never "in 0 days"


def test_renewal_notice_days_default_to_off_and_read_like_reminder_days() -> None:
    assert load_settings(_env_file=None, bot_token=BOT_TOKEN).renewal_notice_days == []
    settings = load_settings(_env_file=None, bot_token=BOT_TOKEN, renewal_notice_days="1,7")
    assert settings.renewal_notice_days == [7, 1]


@pytest.mark.parametrize("value", ["0", "366", "soon", "3,²"])
def test_bad_renewal_notice_days_stop_start_up_naming_the_setting(value: str) -> None:
    with pytest.raises(SettingsError, match="^RENEWAL_NOTICE_DAYS: "):
        load_settings(_env_file=None, bot_token=BOT_TOKEN, renewal_notice_days=value)


# --- the job in the app ---------------------------------------------------------------------


async def test_a_renewing_subscriber_is_told_the_date_and_price_once(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(renewal_notice_days=[3])
    renews = harness.clock.now() + timedelta(days=3) - timedelta(hours=1)
    await _subscribe(harness, ANN, renews)
    await _subscribe(harness, BOB, renews, cancelled=True)  # gets the reminder instead
    await _subscribe(harness, CAT, renews + timedelta(days=2))  # not yet
    assert "renewals" in await harness.parts.scheduler.run_due()
    [row] = await _notices(harness)
    assert row.chat_id == ANN
    assert (row.params["amount"], row.params["currency"]) == (4900, "usd")

    await harness.deliver()
    [message] = harness.replies(ANN)
    assert "renews on" in message.text and "in 3 days, for $49.00" in message.text
    assert "<b>Pro Signals</b>" in message.text
    button = message.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "Open billing portal"
    assert BillingButton.unpack(button["callback_data"]).action == "portal"

    harness.clock.skip(600)  # the job again, ten minutes on: nothing more to say
    assert "renewals" in await harness.parts.scheduler.run_due()
    assert len(await _notices(harness)) == 1


async def test_with_stripe_away_the_notice_gives_the_date_only(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(renewal_notice_days=[3])
    harness.fake_stripe.fail_next("/v1/prices", 500, times=50)
    # Due since a day ago (three days before), sent now: it says the two days left.
    await _subscribe(harness, ANN, harness.clock.now() + timedelta(days=2))
    await harness.parts.scheduler.run_due()
    [row] = await _notices(harness)
    assert row.params["amount"] is None
    await harness.deliver()
    text = harness.last_reply(ANN).text
    assert "in 2 days. Nothing to do" in text and "$" not in text


async def test_without_the_setting_there_is_no_renewal_job(harness: Harness) -> None:
    await _subscribe(harness, ANN, harness.clock.now() + timedelta(days=1))
    assert "renewals" not in await harness.parts.scheduler.run_due()
    assert await _notices(harness) == []
