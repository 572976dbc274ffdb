"""The Mini App API and the public track record in the reader's language.

The page asks for its texts with `?lang=` and sends the language it shows as
Accept-Language on every call, so what the server renders (a plan's label, a status) reads
the same; GET /me says which language the chat speaks to the user, and the settings screen
changes it for the chat too. Anything not offered reads DEFAULT_LANGUAGE; no header, tag or
value makes an error page.
"""

from __future__ import annotations

import pytest

from bot.texts import keys
from db.models import User
from tests.support.api_client import call, login
from tests.support.harness import Harness, MakeHarness
from tests.support.helpers import publish_signal, state

ANN_ID = 7_800_001
ANN = {"id": ANN_ID, "first_name": "Ann", "language_code": "es"}


async def test_texts_in_russian_carry_every_plural_category(harness: Harness) -> None:
    status, body, headers = await call(harness, "GET", "/api/v1/texts?lang=ru")
    assert status == 200 and headers["Vary"] == "Accept-Language"
    assert (body["locale"], body["language"]) == ("ru", "ru")
    texts = body["texts"]
    assert set(texts) == {key for key in keys("ru") if key.startswith("app.")}
    assert texts["app.tab.signals"] == "Сигналы"
    # Intl.PluralRules("ru") says one, few, many or other: each has its form.
    assert texts["app.compose.send_to"] == {
        "one": "Отправить {count} подписчику",
        "few": "Отправить {count} подписчикам",
        "many": "Отправить {count} подписчикам",
        "other": "Отправить {count} подписчикам",
    }


@pytest.mark.parametrize(
    ("ask", "locale"),
    [
        ({"lang": "pt-BR"}, "pt-BR"),
        ({"lang": "es-419"}, "es"),
        ({"accept": "pt-BR,pt;q=0.9,en;q=0.8"}, "pt-BR"),
        ({"accept": "ru-RU"}, "ru"),
        ({"accept": "de-DE,de;q=0.9"}, "en"),
        ({"lang": "xx" * 1_000}, "en"),
        ({"lang": "рус"}, "en"),
        ({"lang": "ru", "accept": "es"}, "ru"),  # the page's own choice wins
        ({}, "en"),
    ],
)
async def test_the_language_asked_for_or_the_default(
    harness: Harness, ask: dict[str, str], locale: str
) -> None:
    query = f"?lang={ask['lang']}" if "lang" in ask else ""
    status, body, _ = await call(
        harness, "GET", "/api/v1/texts" + query, language=ask.get("accept")
    )
    assert status == 200 and body["locale"] == locale


async def test_a_default_language_serves_a_language_not_offered(make_harness: MakeHarness) -> None:
    harness = await make_harness(default_language="es")
    _, body, _ = await call(harness, "GET", "/api/v1/texts", language="de")
    assert body["locale"] == "es" and body["texts"]["app.tab.signals"] == "Señales"


async def test_me_says_the_chats_language_and_settings_change_it_for_both(
    harness: Harness,
) -> None:
    # The chat already knows Ann (and remembers she chose nothing): Spanish, from her app.
    await harness.send_text(ANN_ID, "/help", language_code="es")
    token = await login(harness, ANN)
    _, me, _ = await call(harness, "GET", "/api/v1/me", token=token)
    assert me["language"] == "es"
    _, shown, _ = await call(harness, "GET", "/api/v1/settings", token=token)
    assert shown["language"] == "es"
    assert [c["code"] for c in shown["choices"]["language"]] == ["en", "ru", "es", "pt_BR"]

    status, shown, _ = await call(
        harness, "POST", "/api/v1/settings", token=token, body={"language": "ru"}
    )
    assert status == 200 and shown["language"] == "ru"
    _, me, _ = await call(harness, "GET", "/api/v1/me", token=token)
    assert me["language"] == "ru"
    async with harness.session() as session:
        assert (await session.get(User, ANN_ID)).language == "ru"  # type: ignore[union-attr]
    # The chat follows at once, though her app still says Spanish.
    await harness.send_text(ANN_ID, "/status", language_code="es")
    assert "У вас пока нет подписки" in harness.last_reply(ANN_ID).text


@pytest.mark.parametrize(
    "body",
    [
        {"language": "de"},
        {"language": 5},
        {"language": ""},
        {"language": ["ru"]},
        {"language": "ru", "colour": "red"},
        {"language": "pt_BR\u0000"},
    ],
)
async def test_a_bad_language_is_refused_and_changes_nothing(
    harness: Harness, body: dict[str, object]
) -> None:
    token = await login(harness, ANN)
    before = await state(harness)
    status, answer, _ = await call(harness, "POST", "/api/v1/settings", token=token, body=body)
    assert status == 400 and answer["error"]["code"] == "bad_request"
    async with harness.session() as session:
        assert (await session.get(User, ANN_ID)).language is None  # type: ignore[union-attr]
    assert await state(harness) == before


async def test_plans_are_labelled_in_the_language_of_the_page(harness: Harness) -> None:
    token = await login(harness, ANN)
    _, english, _ = await call(harness, "GET", "/api/v1/plans", token=token, language="en")
    _, russian, _ = await call(harness, "GET", "/api/v1/plans", token=token, language="ru")
    assert english["plans"][0]["label"] == "Pro Signals — $49.00 / month"
    assert russian["plans"][0]["label"] == "Pro Signals — 49,00\xa0$ / 1 месяц"


async def test_checkout_from_the_app_opens_in_the_pages_language(harness: Harness) -> None:
    token = await login(harness, ANN)
    _, plans, _ = await call(harness, "GET", "/api/v1/plans", token=token)
    price = plans["plans"][0]["price_id"]
    status, _, _ = await call(
        harness,
        "POST",
        "/api/v1/billing/checkout",
        token=token,
        body={"price_id": price},
        language="pt-BR",
    )
    assert status == 200
    [session] = harness.fake_stripe.checkout_sessions.values()
    assert session["locale"] == "pt-BR"


@pytest.mark.parametrize(
    ("query", "accept", "lang", "title"),
    [
        ("?lang=es", None, "es", "SignalDesk: historial de resultados"),
        ("", "ru-RU,ru;q=0.9", "ru", None),
        ("", "de", "en", "SignalDesk: track record"),
    ],
)
async def test_the_public_track_record_reads_in_the_readers_language(
    harness: Harness, query: str, accept: str | None, lang: str, title: str | None
) -> None:
    await publish_signal(harness, "BTCUSDT long entry 65000 sl 63500 tp 67000")
    headers = {"Accept-Language": accept} if accept else {}
    async with harness.http.get(f"{harness.base_url}/track-record{query}", headers=headers) as r:
        page = await r.text()
        assert r.status == 200
        assert r.headers["Content-Language"] == lang and r.headers["Vary"] == "Accept-Language"
    assert f'<html lang="{lang}">' in page
    if title:
        assert f"<h1>{title}</h1>" in page


async def test_the_cached_feed_is_kept_per_language(harness: Harness) -> None:
    """The feed is rendered once and shared, but its statuses are words: a Russian reader
    must not get the English copy the first reader made (nor the other way round)."""
    from tests.support.helpers import give_access

    await give_access(harness, ANN_ID)
    await publish_signal(harness, "BTCUSDT long entry 65000 sl 63500 tp 67000")
    token = await login(harness, ANN)
    labels: dict[str, set[str]] = {}
    for language in ("en", "ru", "en", "es"):
        status, feed, _ = await call(
            harness, "GET", "/api/v1/signals", token=token, language=language
        )
        assert status == 200
        labels.setdefault(language, set()).add(feed["signals"][0]["status_label"])
    assert labels == {"en": {"open"}, "ru": {"открыт"}, "es": {"abierta"}}
