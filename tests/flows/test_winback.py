"""Win-back: WINBACK_DAYS after access ended, one offer to each user who has not come back,
with WINBACK_PROMO_CODE applied in Checkout by its button (and only for whom it was made).

Time is the sweep's `now`, set by the test; nothing waits in real time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core.settings import SettingsError, load_settings
from bot.lifecycle import rules
from bot.lifecycle.sweeps import LifecycleSweeps
from bot.texts.keyboards import BillingButton
from bot.transactions.unit_of_work import UnitOfWork
from db.models import Entitlement, EntitlementSource, OutboxMessage, User
from tests.support.harness import BOT_TOKEN, Harness, MakeHarness

ANN = 6_500_001
BOB = 6_500_002
CAT = 6_500_003
DAN = 6_500_004
EVE = 6_500_005
FAY = 6_500_006
GUS = 6_500_007
NOW = datetime.now(UTC).replace(microsecond=0)
DAYS = 7
CODE = "BACK20"
CB_WINBACK = BillingButton(action="winback").pack()


async def _entitle(
    harness: Harness,
    user_id: int,
    ended: datetime | None,
    *,
    source: str = EntitlementSource.STRIPE,
    status: str = "canceled",
    ref: str | None = None,
    blocked: bool = False,
) -> None:
    async with harness.session() as session, session.begin():
        if await session.get(User, user_id) is None:
            blocked_at = NOW if blocked else None
            session.add(User(id=user_id, first_name=f"User{user_id}", blocked_at=blocked_at))
            await session.flush()
        # One entitlement per user and source: a new Stripe period updates the row.
        row = await session.scalar(
            select(Entitlement).where(Entitlement.user_id == user_id, Entitlement.source == source)
        )
        if row is None:
            row = Entitlement(user_id=user_id, source=source, state_version=1)
            session.add(row)
        row.source_ref = ref or f"{source}_{user_id}"
        row.status, row.expires_at = status, ended
        row.updated_at = NOW - timedelta(days=30)


def _sweeps(harness: Harness, code: str | None = CODE) -> LifecycleSweeps:
    return LifecycleSweeps(
        UnitOfWork(harness.parts.session_factory),
        reminder_days=[3, 1],
        plan_name=lambda _: None,
        winback_days=DAYS,
        winback_code=code,
    )


async def _offers(harness: Harness) -> list[OutboxMessage]:
    async with harness.session() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "winback_offer")
            .order_by(OutboxMessage.chat_id)
        )
        return list(rows)


# --- the rules and the settings ---------------------------------------------------------


def test_the_offer_is_due_from_winback_days_after_the_end_for_the_lookback() -> None:
    since, until = rules.winback_window(NOW, DAYS)
    assert until == NOW - timedelta(days=DAYS)
    assert since == until - rules.EXPIRY_LOOKBACK
    assert rules.winback_key(ANN, until) != rules.winback_key(ANN, since)
    assert rules.winback_key(ANN, until) != rules.winback_key(BOB, until)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"winback_promo_code": CODE}, "WINBACK_PROMO_CODE is set but WINBACK_DAYS is not"),
        ({"winback_days": "0"}, "WINBACK_DAYS: input should be greater than or equal to 1"),
        ({"winback_days": "soon"}, "WINBACK_DAYS: input should be a valid integer"),
        ({"winback_days": "7", "winback_promo_code": "20% OFF"}, "WINBACK_PROMO_CODE: must be"),
        ({"winback_days": "7", "winback_promo_code": "ÜBER"}, "WINBACK_PROMO_CODE: must be"),
        (
            {"winback_days": "7", "winback_promo_code": CODE, "stripe_api_key": None},
            "WINBACK_PROMO_CODE needs STRIPE_API_KEY",
        ),
    ],
)
def test_bad_winback_settings_stop_start_up_naming_the_setting(
    overrides: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {
        "_env_file": None,
        "bot_token": BOT_TOKEN,
        "stripe_api_key": "sk_test_1",
        **overrides,
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(**values)
    assert str(caught.value).startswith(message)


# --- the sweep ---------------------------------------------------------------------------


async def test_one_offer_to_each_user_who_lapsed_winback_days_ago(harness: Harness) -> None:
    lapsed = NOW - timedelta(days=DAYS, hours=1)
    await _entitle(harness, ANN, lapsed)  # cancelled a week ago: offered
    await _entitle(harness, BOB, lapsed, source=EntitlementSource.GRANT, status="active")
    await _entitle(harness, CAT, lapsed)  # ...and came back since: not offered
    await _entitle(harness, CAT, NOW + timedelta(days=20), source="grant", status="active")
    await _entitle(harness, DAN, NOW - timedelta(days=DAYS - 1))  # too early
    await _entitle(harness, EVE, NOW - timedelta(days=DAYS + 3))  # long before the window
    await _entitle(harness, FAY, lapsed, status="incomplete_expired")  # never started
    await _entitle(harness, GUS, lapsed, blocked=True)  # blocked the bot

    assert await _sweeps(harness).winback(NOW) == "2 offered to come back"
    offers = await _offers(harness)
    assert [row.chat_id for row in offers] == [ANN, BOB]
    assert offers[0].params == {"code": CODE, "until": lapsed.isoformat()}

    # Again, or from another process: the key holds, nothing twice.
    assert await _sweeps(harness).winback(NOW + timedelta(minutes=5)) == "0 offered to come back"
    assert len(await _offers(harness)) == 2


async def test_a_user_with_several_ends_gets_one_offer_for_the_latest(harness: Harness) -> None:
    latest = NOW - timedelta(days=DAYS, hours=1)
    await _entitle(harness, ANN, latest - timedelta(hours=20), source=EntitlementSource.TRIAL)
    await _entitle(harness, ANN, latest)
    sweeps = _sweeps(harness)
    assert await sweeps.winback(NOW) == "1 offered to come back"
    assert await sweeps.winback(NOW + timedelta(hours=20)) == "0 offered to come back"
    [offer] = await _offers(harness)
    assert offer.params["until"] == latest.isoformat()


async def test_no_offer_to_whom_an_admin_took_access_from(harness: Harness) -> None:
    await _grant_and_revoke(harness)  # ANN's access ends now
    await _entitle(harness, BOB, NOW)
    assert await _sweeps(harness).winback(NOW + timedelta(days=DAYS, hours=1)) == (
        "1 offered to come back"
    )
    assert [row.chat_id for row in await _offers(harness)] == [BOB]


async def _grant_and_revoke(harness: Harness) -> None:
    from tests.support.harness import ADMIN_ID

    await harness.send_text(ADMIN_ID, f"/grant {ANN} 30")
    await harness.send_text(ADMIN_ID, f"/revoke {ANN} shared the signals")
    assert "grant revoked" in harness.last_reply(ADMIN_ID).text


async def test_no_offer_to_whom_an_admin_refunded(make_harness: MakeHarness) -> None:
    from tests.support.harness import ADMIN_ID
    from tests.support.stars_player import invoice_link, pay

    harness = await make_harness(stars_price=250)
    assert await pay(harness, ANN, await invoice_link(harness, ANN)) is not None
    await harness.send_text(ADMIN_ID, f"/refund {ANN} not satisfied")  # ANN's access ends now
    assert harness.last_reply(ADMIN_ID).text.startswith("Refunded")
    await _entitle(harness, BOB, NOW)
    assert await _sweeps(harness).winback(NOW + timedelta(days=DAYS, hours=1)) == (
        "1 offered to come back"
    )
    assert [row.chat_id for row in await _offers(harness)] == [BOB]


def test_an_end_by_refund_is_no_lapse_but_a_later_one_is() -> None:
    assert rules.ended_by_refund(NOW, NOW)
    assert not rules.ended_by_refund(NOW, None)
    assert not rules.ended_by_refund(NOW, NOW - timedelta(days=40))  # came back, lapsed since


async def test_a_lapse_after_coming_back_gets_a_new_offer(harness: Harness) -> None:
    first = NOW - timedelta(days=60)
    await _entitle(harness, ANN, first)
    assert await _sweeps(harness).winback(first + timedelta(days=DAYS)) == (
        "1 offered to come back"
    )
    await _entitle(harness, ANN, NOW - timedelta(days=DAYS, hours=1))
    assert await _sweeps(harness).winback(NOW) == "1 offered to come back"
    assert len(await _offers(harness)) == 2


async def test_win_back_off_offers_nothing(harness: Harness) -> None:
    await _entitle(harness, ANN, NOW - timedelta(days=DAYS, hours=1))
    sweeps = LifecycleSweeps(
        UnitOfWork(harness.parts.session_factory), reminder_days=[], plan_name=lambda _: None
    )
    assert await sweeps.winback(NOW) == "win-back is off"
    assert await _offers(harness) == []


# --- the app: the job, the message, the button -------------------------------------------


async def test_the_offer_comes_with_the_code_applied_by_its_button(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(winback_days=DAYS, winback_promo_code=CODE)
    promo = harness.fake_stripe.add_promotion_code(CODE)
    await _entitle(harness, ANN, NOW - timedelta(days=DAYS, hours=1))
    assert "winback" in await harness.parts.scheduler.run_due()
    await harness.deliver()
    offer = harness.last_reply(ANN)
    assert "We miss you!" in offer.text and f"<code>{CODE}</code>" in offer.text
    button = offer.params["reply_markup"]["inline_keyboard"][0][0]
    assert (button["text"], button["callback_data"]) == ("Come back", CB_WINBACK)

    await harness.press(ANN, CB_WINBACK)
    await harness.press(ANN, CB_WINBACK)
    sessions = harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")
    assert len(sessions) == 2  # two plans; the second press hands out the same sessions
    for request in sessions:
        assert request.params["discounts"] == [{"promotion_code": promo["id"]}]
        assert "allow_promotion_codes" not in request.params
    # The code's id is looked up once, then kept.
    assert len(harness.fake_stripe.requests_to("/v1/promotion_codes", "GET")) == 1
    assert "Choose a plan" in harness.last_reply(ANN).text


async def test_a_come_back_press_from_someone_never_offered_gets_no_discount(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(winback_days=DAYS, winback_promo_code=CODE)
    harness.fake_stripe.add_promotion_code(CODE)
    await harness.press(BOB, CB_WINBACK)  # callback data is the client's to forge
    sessions = harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")
    assert len(sessions) == 2
    for request in sessions:
        assert "discounts" not in request.params
        assert request.params["allow_promotion_codes"] == "true"
    assert harness.fake_stripe.requests_to("/v1/promotion_codes") == []


async def test_a_code_stripe_does_not_know_leaves_the_field_to_type_one_in(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await make_harness(winback_days=DAYS, winback_promo_code=CODE)
    harness.fake_stripe.add_promotion_code(CODE, active=False)
    await _entitle(harness, ANN, NOW - timedelta(days=DAYS, hours=1))
    await harness.parts.scheduler.run_due()
    with caplog.at_level(logging.WARNING):
        await harness.press(ANN, CB_WINBACK)
    assert "WINBACK_PROMO_CODE is not an active promotion code in Stripe" in caplog.text
    sessions = harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")
    assert [r.params["allow_promotion_codes"] for r in sessions] == ["true", "true"]
    assert "Choose a plan" in harness.last_reply(ANN).text


async def test_a_code_deactivated_after_its_lookup_still_gives_a_checkout(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await make_harness(winback_days=DAYS, winback_promo_code=CODE)
    promo = harness.fake_stripe.add_promotion_code(CODE)
    await _entitle(harness, ANN, NOW - timedelta(days=DAYS, hours=1))
    await harness.parts.scheduler.run_due()
    await harness.press(ANN, CB_WINBACK)
    promo["active"] = False
    for session_id in list(harness.fake_stripe.checkout_sessions):
        harness.fake_stripe.age_checkout_session(session_id)  # a day later: new sessions
    with caplog.at_level(logging.WARNING):
        await harness.press(ANN, CB_WINBACK)
    assert "WINBACK_PROMO_CODE refused by Checkout" in caplog.text
    last_two = harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")[-2:]
    assert all(r.params["allow_promotion_codes"] == "true" for r in last_two)
    assert "Choose a plan" in harness.last_reply(ANN).text


async def test_without_winback_days_there_is_no_winback_job(harness: Harness) -> None:
    await _entitle(harness, ANN, NOW - timedelta(days=DAYS, hours=1))
    assert "winback" not in await harness.parts.scheduler.run_due()
    assert await _offers(harness) == []
