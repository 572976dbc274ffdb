"""Subscribers in their own language: English, Russian, Spanish and Portuguese (Brazil).

The Telegram app's language_code picks it, /language changes it for good, DEFAULT_LANGUAGE
serves everyone else. Every main flow (start, subscribe, status, a signal, an update, a
billing notice) is walked in each language, through the real dispatcher, the real worker
and the Stripe SDK against the fake; the outbox renders in the recipient's language as it
is when the row goes out, and Stripe's pages get the same locale. Dates, numbers and money
are the language's (Babel). A signal's own fields stay as posted.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from babel.dates import format_date

from bot.core import languages
from bot.core.settings import SettingsError, load_settings
from bot.texts import CATALOGUE, plain
from bot.texts.keyboards import LanguageButton
from db.models import User
from tests.support.harness import ADMIN_ID, BOT_TOKEN, Harness, MakeHarness
from tests.support.helpers import (
    give_access,
    payment_failed_event,
    post_signal_update,
    publish_signal,
    state,
    subscription_event,
    subscription_for,
)

LINE = "BTCUSDT long entry 65000.5 sl 63500 tp 67000 69000 tf 4h"

# Each language as a Telegram app reports it, and words only a correct rendering has.
CASES = {
    "en": ("en-US", "Welcome", "Subscribe", "did not go through", "$49.00"),
    "ru": ("ru", "Добро пожаловать", "Подписаться", "не прошёл", "49,00\xa0$"),
    "es": ("es-419", "bienvenida", "Suscribirme", "no se ha completado", "49,00\xa0US$"),
    "pt_BR": ("pt-br", "Boas-vindas", "Assinar", "não foi aprovado", "US$\xa049,00"),
}


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("RU", "ru"),
        ("ru-RU", "ru"),
        ("es", "es"),
        ("es-419", "es"),
        ("pt", "pt_BR"),
        ("pt-br", "pt_BR"),
        ("pt_PT", "pt_BR"),
        ("de", None),
        ("", None),
        (None, None),
        ("zz-" + "x" * 40, None),
        ("рус", None),
    ],
)
def test_a_telegram_language_code_reads_as_an_offered_language(
    tag: str | None, language: str | None
) -> None:
    assert languages.normalized(tag) == language


def test_a_choice_wins_over_the_app_and_the_default_serves_the_rest() -> None:
    assert languages.pick("es", "ru", "en") == "es"
    assert languages.pick(None, "ru", "en") == "ru"
    assert languages.pick(None, "de", "pt_BR") == "pt_BR"
    assert languages.pick("de", None, "en") == "en"  # a stored value no longer offered
    assert [languages.stripe_locale(code) for code in languages.LANGUAGES] == [
        "en",
        "ru",
        "es",
        "pt-BR",
    ]
    assert [languages.telegram_code(code) for code in languages.LANGUAGES] == [
        "en",
        "ru",
        "es",
        "pt",
    ]


@pytest.mark.parametrize(("value", "language"), [("pt-BR", "pt_BR"), ("RU", "ru"), ("es", "es")])
def test_default_language_takes_the_offered_ones(value: str, language: str) -> None:
    settings = load_settings(_env_file=None, bot_token=BOT_TOKEN, default_language=value)
    assert settings.default_language == language


@pytest.mark.parametrize("value", ["de", "pt", "", "english", "en_US;"])
def test_default_language_refuses_anything_else(value: str) -> None:
    with pytest.raises(
        SettingsError, match="^DEFAULT_LANGUAGE: must be one of en, ru, es, pt-BR$"
    ):
        load_settings(_env_file=None, bot_token=BOT_TOKEN, default_language=value)


async def _walk(harness: Harness, user: int, code: str) -> dict[str, str]:
    """start, subscribe, status: what the bot answered each, as the user's app sends."""
    said = {}
    for command in ("/start", "/subscribe", "/status"):
        await harness.send_text(user, command, language_code=code)
        said[command] = harness.last_reply(user).text
    said["buttons"] = " ".join(
        button["text"]
        for row in harness.last_reply(user)
        .params.get("reply_markup", {})
        .get("inline_keyboard", [])
        for button in row
    )
    return said


@pytest.mark.parametrize("language", list(CASES))
async def test_the_main_flows_in_each_language(harness: Harness, language: str) -> None:
    code, welcome, subscribe, failed, money = CASES[language]
    user = 7_600_001
    said = await _walk(harness, user, code)
    assert welcome in said["/start"]
    with CATALOGUE.use_locale(language):
        assert said["/status"] == plain("status.none")
        assert said["/subscribe"].startswith(plain("billing.choose_plan")[:20])
    # Checkout in the same language (Stripe's spelling).
    sessions = list(harness.fake_stripe.checkout_sessions.values())
    assert sessions and {s["locale"] for s in sessions} == {languages.stripe_locale(language)}

    # They pay: access, said in their language.
    now = int(time.time())
    subscription = subscription_for(user, sub_id="sub_lang", customer="cus_lang")
    await harness.post_event(subscription_event("created", subscription, created=now))
    await harness.deliver(wait=5)
    with CATALOGUE.use_locale(language):
        assert plain("notice.your_subscription")[:12] in harness.last_reply(user).text

    # A signal and its update, threaded, in the language; the signal's fields as posted.
    signal_id = await publish_signal(harness, LINE)
    await post_signal_update(harness, signal_id, "tp1")
    await harness.deliver(wait=5)
    card, update = harness.replies(user)[-2:]
    assert "65000.5" in card.text and "BTC/USDT" in card.text  # the pair as bots read it
    with CATALOGUE.use_locale(language):  # the levels' keywords stay English for the bots
        assert plain("signal.cornix.timeframe", timeframe="").split(":")[0] in card.text
    assert update.params["reply_parameters"]["message_id"] == card.message_id

    # A billing notice: the amount and the retry date as the language writes them.
    retry_at = now + 3 * 86_400
    failed_event = payment_failed_event(
        "cus_lang", "sub_lang", created=now + 1, next_attempt=retry_at
    )
    status, _ = await harness.post_event(failed_event)
    assert status == 200
    await harness.deliver(wait=5)
    notice = harness.last_reply(user).text
    day = format_date(datetime.fromtimestamp(retry_at, UTC), "dd MMM y", locale=language)
    assert failed in notice and money in notice and day in notice


async def test_language_keeps_a_choice_and_the_outbox_follows_it(harness: Harness) -> None:
    user = 7_600_002
    await give_access(harness, user)
    await harness.send_text(user, "/language", language_code="ru")
    menu = harness.last_reply(user)
    assert "Русский" in menu.text
    labels = [row[0]["text"] for row in menu.params["reply_markup"]["inline_keyboard"]]
    assert labels == ["English", "✓ Русский", "Español", "Português (Brasil)"]

    signal_id = await publish_signal(harness, LINE)  # queued while they read Russian
    await harness.press(user, LanguageButton(language="es").pack(), language_code="ru")
    assert "Idioma: <b>Español</b>" in harness.last_reply(user).text
    async with harness.session() as session:
        assert (await session.get(User, user)).language == "es"  # type: ignore[union-attr]
    await harness.deliver(wait=5)
    with CATALOGUE.use_locale("es"):
        head = plain("signal.cornix.timeframe", timeframe="").split(":")[0]
    assert head in harness.last_reply(user).text  # rendered when sent: in Spanish
    assert signal_id

    # Kept: their app still says Russian, the bot speaks Spanish.
    await harness.send_text(user, "/status", language_code="ru")
    assert "<b>Estado:</b> Activa" in harness.last_reply(user).text


@pytest.mark.parametrize("data", ["lang:de", "lang:", "lang:pt_BR:x", "lang:" + "e" * 200])
async def test_a_forged_language_button_changes_nothing(harness: Harness, data: str) -> None:
    user = 7_600_003
    await harness.send_text(user, "/help", language_code="ru")
    before = await state(harness)
    await harness.press(user, data, language_code="ru")
    async with harness.session() as session:
        assert (await session.get(User, user)).language is None  # type: ignore[union-attr]
    assert await state(harness) == before


async def test_default_language_speaks_to_everyone_else(make_harness: MakeHarness) -> None:
    harness = await make_harness(default_language="es")
    await harness.send_text(7_600_004, "/start", language_code="de")
    await harness.send_text(7_600_005, "/start")
    await harness.send_text(7_600_006, "/start", language_code="ru")
    assert "bienvenida" in harness.last_reply(7_600_004).text
    assert "bienvenida" in harness.last_reply(7_600_005).text
    assert "Добро пожаловать" in harness.last_reply(7_600_006).text


async def test_the_command_menu_is_set_in_every_language(make_harness: MakeHarness) -> None:
    from bot.telegram.setup import set_menus
    from bot.texts.commands import Offered

    harness = await make_harness(default_language="pt-BR")
    await set_menus(
        harness.parts.bot, harness.settings.default_language, Offered.by(harness.settings)
    )
    menus = harness.fake_bot.menus
    assert set(menus) == {"", "en", "ru", "es", "pt"}
    described = {
        code: {c["command"]: c["description"] for c in menu} for code, menu in menus.items()
    }
    assert described[""] == described["pt"]  # the default is DEFAULT_LANGUAGE's
    assert described["ru"]["language"] == "Язык бота и приложения"
    assert described["en"]["language"] == "Language of the bot and the app"
    assert all(set(menu) == set(described["en"]) for menu in described.values())


async def test_the_admins_broadcast_progress_is_in_the_admins_language(harness: Harness) -> None:
    await harness.send_text(ADMIN_ID, "/language", language_code="es")
    await give_access(harness, 7_600_007)
    await harness.send_text(ADMIN_ID, "/broadcast Hola a todos", language_code="es")
    await harness.deliver(wait=5)
    await harness.parts.progress.report()
    progress = [
        call["text"]
        for call in harness.fake_bot.calls_for("sendMessage")
        + harness.fake_bot.calls_for("editMessageText")
        if call.get("chat_id") in (ADMIN_ID, str(ADMIN_ID))
    ]
    assert any("entrega completada" in text for text in progress), progress[-3:]


async def test_the_stripe_fake_refuses_a_locale_stripe_does_not_have(harness: Harness) -> None:
    """Stripe answers 400 for a locale it does not know: the fake as well, so a wrong
    mapping fails the tests instead of every Checkout in production."""
    form = {
        "mode": "subscription",
        "line_items[0][price]": "price_monthly_test",
        "line_items[0][quantity]": "1",
        "success_url": "https://t.me/x",
        "locale": "pt_BR",  # Stripe spells it pt-BR
    }
    async with harness.http.post(
        f"{harness.fake_stripe.base_url}/v1/checkout/sessions",
        data=form,
        headers={"Authorization": "Bearer sk_test_x"},
    ) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "locale"
    assert harness.fake_stripe.checkout_sessions == {}


def test_english_without_babel_writes_what_babel_writes() -> None:
    """English dates and grouped numbers skip Babel's CLDR data (the worker's memory): the
    result must be what Babel would have written."""
    from datetime import timedelta

    from babel.numbers import format_decimal

    from bot.texts import format_date as ours
    from bot.texts import tn

    start = datetime(2024, 1, 1, tzinfo=UTC)
    for day in range(0, 800, 7):
        moment = start + timedelta(days=day)
        assert ours(moment) == format_date(moment, "dd MMM y", locale="en")
    with CATALOGUE.use_locale("en"):
        for count in (0, 7, 999, 1_000, 1_234_567):
            grouped = format_decimal(count, locale="en")
            assert tn("button.send_signal", count) == f"Send to {grouped} subscribers"
    with CATALOGUE.use_locale("ru"):
        assert "1\xa0234\xa0567 подписчиков" in tn("broadcast.queued", 1_234_567)


def test_a_choice_made_in_another_process_is_read_again_soon() -> None:
    now = [100.0]
    chosen = languages.ChosenLanguages(clock=lambda: now[0])
    assert chosen.known(1) == languages.NOT_KNOWN
    chosen.remember(1, None)
    assert chosen.known(1) is None
    now[0] += languages.REMEMBERED_FOR + 0.1
    assert chosen.known(1) == languages.NOT_KNOWN  # asked the database again
