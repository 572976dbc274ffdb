"""The risk disclaimer before a first payment, on every rail (docs/consents.md): /subscribe
and its buttons, the Mini App's Checkout and Stars invoice. Nothing is made (no Checkout
Session, no invoice link) before the user accepts; the acceptance is recorded once, with
its version and time; a new version asks again; an old or forged button records nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.texts import disclaimer
from bot.texts.keyboards import BillingButton, ConsentButton
from db.models import Consent, StarCheckout, StarPayment
from tests.support import stars_player
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, PRICE_MONTHLY, Harness, MakeHarness
from tests.support.helpers import give_access

ANN = 7_300_001
BOB = 7_300_002
CB_PLANS = BillingButton(action="plans").pack()
CB_WINBACK = BillingButton(action="winback").pack()
CHECKOUT = "/api/v1/billing/checkout"
STARS = "/api/v1/billing/stars-invoice"


@pytest.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    """Both rails, and nobody has accepted anything."""
    return await make_harness(stars_price=250, auto_consent=False)


async def _consents(harness: Harness) -> list[tuple[int, str, str]]:
    async with harness.session() as session:
        rows = await session.scalars(select(Consent).order_by(Consent.id))
        return [(row.user_id, row.kind, row.version) for row in rows]


def _markup(harness: Harness, user_id: int) -> list[dict[str, Any]]:
    markup = harness.last_reply(user_id).params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def _made(harness: Harness) -> tuple[int, int]:
    """Checkout Sessions and Stars invoice links made so far."""
    sessions = len(harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST"))
    return sessions, len(harness.fake_bot.calls_for("createInvoiceLink"))


async def test_subscribe_asks_first_and_the_accept_button_shows_the_plans(
    harness: Harness,
) -> None:
    await harness.send_text(ANN, "/start")
    await harness.send_text(ANN, "/subscribe")

    asked = harness.last_reply(ANN)
    assert "Before you pay" in asked.text and "Trading is risky" in asked.text
    [accept] = _markup(harness, ANN)
    version = disclaimer.version()
    assert accept["text"] == "I accept"
    assert accept["callback_data"] == ConsentButton(version=version).pack()
    assert _made(harness) == (0, 0) and await _consents(harness) == []

    await harness.press(ANN, accept["callback_data"])
    assert await _consents(harness) == [(ANN, "disclaimer", version)]
    urls = [button.get("url", "") for button in _markup(harness, ANN)]
    assert len(urls) == 3 and urls[0].startswith("https://checkout.stripe.com/")
    assert urls[2].startswith("https://t.me/$")
    assert _made(harness) == (2, 1)

    # Accepted once: the next /subscribe goes straight to the links, and a second tap on
    # the old button records nothing more.
    await harness.send_text(ANN, "/subscribe")
    assert "Before you pay" not in harness.last_reply(ANN).text
    await harness.press(ANN, accept["callback_data"])
    assert await _consents(harness) == [(ANN, "disclaimer", version)]


async def test_the_acceptance_records_the_time(harness: Harness) -> None:
    await harness.press(ANN, ConsentButton(version=disclaimer.version()).pack())
    async with harness.session() as session:
        row = await session.scalar(select(Consent))
    assert row is not None and row.accepted_at.tzinfo is not None


async def test_every_button_that_starts_a_payment_asks(make_harness: MakeHarness) -> None:
    harness = await make_harness(
        stars_price=250, auto_consent=False, winback_days=7, winback_promo_code="BACK20"
    )
    for data in (CB_PLANS, CB_WINBACK):
        await harness.press(BOB, data)
        assert "Before you pay" in harness.last_reply(BOB).text
    [accept] = _markup(harness, BOB)
    assert accept["callback_data"].endswith(":winback")  # back to what was asked for
    assert _made(harness) == (0, 0)


async def test_stars_alone_asks_too(make_harness: MakeHarness) -> None:
    harness = await make_harness(stars_price=250, payment_rails="stars", auto_consent=False)
    await harness.send_text(ANN, "/subscribe")
    assert "Before you pay" in harness.last_reply(ANN).text
    assert harness.fake_bot.calls_for("createInvoiceLink") == []
    await harness.press(ANN, ConsentButton(version=disclaimer.version()).pack())
    assert len(harness.fake_bot.calls_for("createInvoiceLink")) == 1


async def test_a_new_version_asks_again_and_an_old_button_records_nothing(
    harness: Harness, make_harness: MakeHarness
) -> None:
    old = disclaimer.version()
    await harness.accept_disclaimer(ANN)
    assert await _consents(harness) == [(ANN, "disclaimer", old)]

    # The provider words the disclaimer anew (a restart with DISCLAIMER_TEXT).
    renewed = await make_harness(
        stars_price=250, auto_consent=False, disclaimer_text="Past results   mean nothing."
    )
    new = disclaimer.version()
    assert new != old and len(new) == 12
    await renewed.send_text(ANN, "/subscribe")
    assert "Past results   mean nothing." in renewed.last_reply(ANN).text
    assert _made(renewed) == (0, 0)

    # The old message's button: told it changed, shown the new text, nothing recorded.
    await renewed.press(ANN, ConsentButton(version=old).pack())
    assert "Past results   mean nothing." in renewed.last_reply(ANN).text
    [answer] = renewed.fake_bot.calls_for("answerCallbackQuery")[-1:]
    assert "changed" in answer["text"] and answer["show_alert"] is True
    assert await _consents(renewed) == [(ANN, "disclaimer", old)]
    assert _made(renewed) == (0, 0)

    await renewed.press(ANN, ConsentButton(version=new).pack())
    assert await _consents(renewed) == [(ANN, "disclaimer", old), (ANN, "disclaimer", new)]
    assert _made(renewed) == (2, 1)


@pytest.mark.parametrize(
    "data",
    [
        "consent:zzzzzzzzzzzz:plans",  # not a version
        "consent:0123456789ab:plans",  # a version, not the current one
        "consent::plans",
        "consent:" + "a" * 200,
        "consent:0123456789ab:everything",
    ],
)
async def test_forged_accept_buttons_record_nothing(harness: Harness, data: str) -> None:
    await harness.press(ANN, data)
    [answer] = harness.fake_bot.calls_for("answerCallbackQuery")
    assert answer.get("show_alert") is True
    assert await _consents(harness) == []
    assert _made(harness) == (0, 0)


async def test_a_subscriber_is_not_asked(harness: Harness) -> None:
    """Renewals never pass through here; a running subscriber is told they have one."""
    await give_access(harness, ANN)
    await harness.send_text(ANN, "/subscribe")
    assert "already have an active subscription" in harness.last_reply(ANN).text


@pytest.mark.parametrize(
    ("path", "body"),
    [(CHECKOUT, {"price_id": PRICE_MONTHLY}), (STARS, None)],
    ids=["stripe", "stars"],
)
async def test_the_mini_app_payment_routes_answer_409_until_accepted(
    harness: Harness, path: str, body: dict[str, str] | None
) -> None:
    token = await login(harness, {"id": ANN, "first_name": "Ann"})
    status, answer, _ = await call(harness, "POST", path, token=token, body=body)
    assert status == 409, answer
    assert answer["error"]["code"] == "consent_required"
    shown = answer["error"]["disclaimer"]
    assert shown["version"] == disclaimer.version() and "Trading is risky" in shown["text"]
    assert _made(harness) == (0, 0)

    status, state, _ = await call(harness, "GET", "/api/v1/consent", token=token)
    assert status == 200 and state["accepted"] is False
    status, state, _ = await call(
        harness, "POST", "/api/v1/consent", token=token, body={"version": shown["version"]}
    )
    assert status == 200 and state["accepted"] is True
    status, answer, _ = await call(harness, "POST", path, token=token, body=body)
    assert status == 200 and answer["url"].startswith("https://")
    assert await _consents(harness) == [(ANN, "disclaimer", shown["version"])]


async def test_the_mini_app_shows_the_text_in_the_callers_language(harness: Harness) -> None:
    token = await login(harness, {"id": ANN, "first_name": "Ann"})
    status, state, _ = await call(harness, "GET", "/api/v1/consent", token=token, language="es")
    assert status == 200 and "Operar conlleva riesgo" in state["disclaimer"]["text"]
    assert state["disclaimer"]["version"] == disclaimer.version()  # one version, any language


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'{"version": 12}',
        b'{"version": null}',
        b'{"version": "0123456789ab"}',  # not the current one: a 409
        b'{"version": "' + b"a" * 5000 + b'"}',
        b'{"version": "x", "user_id": 1}',
        b'{"v\\u00e9rsion": "\\u202e"}',
        b'{"version": {"$gt": ""}}',
    ],
)
async def test_hostile_acceptances_record_nothing(harness: Harness, raw: bytes) -> None:
    token = await login(harness, {"id": ANN, "first_name": "Ann"})
    status, answer, _ = await call(harness, "POST", "/api/v1/consent", token=token, raw=raw)
    assert status in (400, 409, 413), answer
    assert set(answer["error"]) >= {"code", "message"}
    if status == 409:
        assert answer["error"]["code"] == "disclaimer_changed"
        assert answer["error"]["disclaimer"]["version"] == disclaimer.version()
    assert await _consents(harness) == []


async def test_the_consent_routes_want_a_caller(harness: Harness) -> None:
    for method in ("GET", "POST"):
        status, answer, _ = await call(harness, method, "/api/v1/consent", token="forged")
        assert status == 401 and answer["error"]["code"] == "unauthorized"
    assert await _consents(harness) == []


async def test_the_track_record_shows_the_disclaimer(make_harness: MakeHarness) -> None:
    harness = await make_harness(disclaimer_text="Line one.\nLine <two> & more.")
    async with harness.http.get(f"{harness.base_url}/track-record") as response:
        page = await response.text()
    assert response.status == 200
    assert 'class="disclaimer"' in page
    assert "<p>Line one.</p><p>Line &lt;two&gt; &amp; more.</p>" in page


async def test_user_shows_the_acceptance_in_chat_and_the_mini_app(harness: Harness) -> None:
    await harness.send_text(ANN, "/start")
    await harness.send_text(ADMIN_ID, f"/user {ANN}")
    assert "Risk disclaimer: not accepted" in harness.last_reply(ADMIN_ID).text
    await harness.accept_disclaimer(ANN)
    await harness.send_text(ADMIN_ID, f"/user {ANN}")
    assert f"accepted (version {disclaimer.version()}," in harness.last_reply(ADMIN_ID).text
    token = await login(harness, {"id": ADMIN_ID, "first_name": "Ada"})
    status, shown, _ = await call(harness, "GET", f"/api/v1/admin/subscribers/{ANN}", token=token)
    assert status == 200
    [consent] = shown["consents"]
    assert (consent["kind"], consent["version"]) == ("disclaimer", disclaimer.version())


async def test_a_stars_link_made_before_the_current_disclaimer_takes_no_stars(
    harness: Harness, make_harness: MakeHarness
) -> None:
    """Telegram asks the bot before it takes the Stars (pre_checkout_query): the last gate.
    A link made while an older text was current (or stored before consents existed) is
    refused until the payer accepts the current one, and nothing is held or booked."""
    await harness.accept_disclaimer(ANN)
    link = await stars_player.invoice_link(harness, ANN)
    invoice = harness.fake_bot.stars.invoice(link)

    renewed = await make_harness(
        stars_price=250, auto_consent=False, disclaimer_text="Past results mean nothing."
    )
    answer = await stars_player.ask(renewed, ANN, invoice)
    assert answer["ok"] is False
    assert answer["error_message"] == "Please accept the risk disclaimer before paying."
    asked = renewed.last_reply(ANN)
    assert "Past results mean nothing." in asked.text
    [accept] = _markup(renewed, ANN)
    assert accept["callback_data"] == ConsentButton(version=disclaimer.version()).pack()
    async with renewed.session() as session:
        assert await session.scalar(select(func.count()).select_from(StarCheckout)) == 0
        assert await session.scalar(select(func.count()).select_from(StarPayment)) == 0

    await renewed.accept_disclaimer(ANN)
    assert (await stars_player.ask(renewed, ANN, invoice))["ok"] is True


async def test_a_stars_link_paid_by_someone_else_is_still_someone_elses(
    harness: Harness,
) -> None:
    """The consent gate does not hide the older refusal: a forwarded link is not theirs."""
    await harness.accept_disclaimer(ANN)
    link = await stars_player.invoice_link(harness, ANN)
    answer = await stars_player.ask(harness, BOB, harness.fake_bot.stars.invoice(link))
    assert answer["ok"] is False and "disclaimer" not in answer["error_message"]
    assert harness.replies(BOB) == []
