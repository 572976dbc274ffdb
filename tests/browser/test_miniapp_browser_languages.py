# ruff: noqa: F811 - `browser` and `pseudo` are fixtures imported from the modules that own them
"""The Mini App in Chromium in each language, and a pseudo-language run over its screens.

A subscriber whose Telegram app is set to a language sees the page in it: the fixed words,
what the server renders (statuses, plans), dates and figures (Intl, in the page's locale),
and plural forms by the language's rules. The settings screen switches the language on the
spot and for the chat. Screenshots per language go to test-artifacts/screenshots/.
In the pseudo-language every visible word must come from the catalogue.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from bot.texts import CATALOGUE, plain
from db.models import User
from tests.browser.miniapp_helpers import (  # noqa: F401 (fixtures, on the module's loop)
    browser,
    chromium,
    fake_bot,
    fake_stripe,
    harness,
    make_harness,
    open_app,
    pytestmark,
)
from tests.flows.test_pseudo_language import PSEUDO, leaks, pseudo  # noqa: F401
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import give_access, post_signal_update, publish_signal

LINE = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000"
SUBSCRIBER = 7_900_001
# How each language's app reports it, and its html lang.
CODES = {
    "en": ("en", "en"),
    "ru": ("ru", "ru"),
    "es": ("es-419", "es"),
    "pt_BR": ("pt-br", "pt-BR"),
}


def _someone(user_id: int, language_code: str) -> dict[str, Any]:
    return {"id": user_id, "first_name": "Ann", "language_code": language_code}


def _said(language: str, key: str) -> str:
    with CATALOGUE.use_locale(language):
        return plain(key)


@pytest.mark.parametrize("language", list(CODES))
async def test_the_app_in_each_language(harness: Harness, browser: Browser, language: str) -> None:
    code, lang = CODES[language]
    await give_access(harness, SUBSCRIBER)
    signal_id = await publish_signal(harness, LINE)
    await post_signal_update(harness, signal_id, "tp1")
    app = await open_app(browser, harness, _someone(SUBSCRIBER, code))
    page = app.page

    assert await page.evaluate("document.documentElement.lang") == lang
    await expect(page.locator("#tab-signals")).to_have_text(_said(language, "app.tab.signals"))
    item = page.locator(f'#feed [data-signal-id="{signal_id}"]')
    await expect(item).to_contain_text("65000")  # the signal's fields as posted
    entry = CATALOGUE.gettext("app.signal.levels", locale=language).split(" {")[0]
    await expect(item).to_contain_text(f"{entry} 65000")
    await app.screenshot(f"language-{language}-signals")

    await page.locator("#tab-subscription").click()
    await expect(page.locator("#settings-language")).to_have_value(language)
    await app.screenshot(f"language-{language}-subscription")
    await page.locator("#tab-performance").click()
    await expect(page.locator("#panel-performance")).to_be_visible()
    await app.screenshot(f"language-{language}-track-record")
    assert any(url.startswith(f"GET /api/v1/texts?lang={code}") for url in app.urls)
    await app.assert_clean()


async def test_the_settings_screen_switches_the_language_at_once(
    harness: Harness, browser: Browser
) -> None:
    await give_access(harness, SUBSCRIBER)
    app = await open_app(browser, harness, _someone(SUBSCRIBER, "en"))
    page = app.page
    await page.locator("#tab-subscription").click()
    await page.locator("#settings-language").select_option("ru")
    await expect(page.locator("#tab-signals")).to_have_text("Сигналы")
    await expect(page.locator("#settings-status")).to_have_text(_said("ru", "app.settings.saved"))
    assert await page.evaluate("document.documentElement.lang") == "ru"
    async with harness.session() as session:
        assert (await session.get(User, SUBSCRIBER)).language == "ru"  # type: ignore[union-attr]
    await app.screenshot("language-switched-to-ru")

    # Reopened from an app still set to English: the chosen language, from /me.
    again = await open_app(browser, harness, _someone(SUBSCRIBER, "en"))
    await expect(again.page.locator("#tab-signals")).to_have_text("Сигналы")
    await app.assert_clean()
    await again.assert_clean()


# What the page shows that is not ours to say: the signal's own fields, a person's name,
# Stripe's plan names, the languages' own names, dates the browser writes (Intl has no
# pseudo-language: it falls back to English month names), and R, a unit.
THEIRS = re.compile(
    r"BTCUSDT|Pro Signals( Yearly)?|Ann|English|Русский|Español|Português \(Brasil\)|Pseudo"
    r"|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b|\bAM\b|\bPM\b"
    r"|(?<=\d)R\b"  # R, the unit of risk: "+1.33R" in every language
)


async def _visible_words(harness: Harness, browser: Browser, user: dict[str, Any]) -> list[str]:
    """Every visible text node and label on each tab the user can open."""
    app = await open_app(browser, harness, user)
    page = app.page
    words: list[str] = []
    tabs = ["subscription", "signals", "performance"]
    if user["id"] == ADMIN_ID:
        tabs += ["compose", "stats", "subscribers"]
    for tab in tabs:
        await page.locator(f"#tab-{tab}").click()
        await expect(page.locator(f"#panel-{tab}")).to_be_visible()
        await page.wait_for_load_state("networkidle")
        # What is rendered (innerText skips hidden elements), and the labels of what is.
        words += await page.evaluate(
            """() => [document.body.innerText].concat(
              Array.from(document.querySelectorAll("[aria-label],[placeholder],[title]"))
                .filter((el) => el.checkVisibility())
                .flatMap((el) => ["aria-label", "placeholder", "title"]
                  .filter((name) => el.hasAttribute(name))
                  .map((name) => el.getAttribute(name))))"""
        )
    await app.assert_clean()
    return [THEIRS.sub(" ", word) for word in words]


async def test_every_word_on_the_page_comes_from_the_catalogue(
    pseudo: None,
    harness: Harness,
    browser: Browser,
) -> None:
    await give_access(harness, SUBSCRIBER)
    signal_id = await publish_signal(harness, LINE)
    await post_signal_update(harness, signal_id, "tp1")
    words = await _visible_words(harness, browser, _someone(SUBSCRIBER, PSEUDO))
    words += await _visible_words(harness, browser, _someone(ADMIN_ID, PSEUDO))
    assert len(words) > 10 and sum(map(len, words)) > 2_000
    assert leaks(words) == []
