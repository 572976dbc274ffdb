# ruff: noqa: F811 - the fixtures are imported from miniapp_helpers.py, on the module's loop
"""The Mini App in real headless Chromium against the real app, fake Bot API and fake Stripe:
the track record's charts, themes (light, dark, and a switch while open), errors shown, and
the page's words coming from the server's catalogue (GET /api/v1/texts) and nowhere else.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from playwright.async_api import Browser, Route, expect

from tests.browser.miniapp_helpers import (
    DARK,
    OUTSIDER,
    SUBSCRIBERS,
    VIEWPORT,
    browser,  # noqa: F401 - a fixture
    chromium,  # noqa: F401 - a fixture
    fake_bot,  # noqa: F401 - a fixture
    fake_stripe,  # noqa: F401 - a fixture
    harness,  # noqa: F401 - a fixture
    make_harness,  # noqa: F401 - a fixture
    open_app,
    person,
    publish,
    pytestmark,  # noqa: F401 - the tests run on the module's loop
)
from tests.support.harness import Harness, MakeHarness
from tests.support.helpers import give_access, post_signal_update

# --- track record ---------------------------------------------------------------------------


async def _closed_signals(harness: Harness) -> None:
    win = await publish(harness, "BTCUSDT long entry 100 sl 90 tp 120")
    loss = await publish(harness, "ETHUSDT short entry 50 sl 55 tp 40")
    closed = await publish(harness, "SOLUSDT long entry 20 sl 19 tp 21 25")
    await publish(harness, "XRPUSDT long entry 1 sl 0.9 tp 1.2")  # still open
    await post_signal_update(harness, win, "tp1")  # +2R
    await post_signal_update(harness, loss, "sl")  # -1R
    await post_signal_update(harness, closed, "close 23")  # +3R


async def test_track_record_draws_the_charts(harness: Harness, browser: Browser) -> None:
    await _closed_signals(harness)
    await give_access(harness, SUBSCRIBERS[0])
    app = await open_app(browser, harness, person(SUBSCRIBERS[0], "Sam"))
    page = app.page
    await page.get_by_role("tab", name="Track record").click()

    await expect(page.locator("#perf-headline")).to_contain_text("66.7%")
    await expect(page.locator("#perf-headline")).to_contain_text("+4.00R")
    await expect(page.locator("#perf-rows tr")).to_have_count(4)
    await expect(page.locator("#perf-rows tr").last).to_contain_text("All time")

    bars = page.get_by_role("img", name=re.compile(r"^R per closed signal"))
    await expect(bars).to_have_id("bars-svg")
    await expect(bars).to_have_attribute("role", "img")
    await expect(bars).to_have_attribute("aria-label", re.compile(r"3 closed signals: 2 won"))
    await expect(bars.locator("rect.bar-pos")).to_have_count(2)
    await expect(bars.locator("rect.bar-neg")).to_have_count(1)
    assert await bars.locator("title").first.text_content() == "R per closed signal"
    equity = page.locator("svg#equity-svg")
    await expect(equity).to_have_attribute("aria-label", re.compile(r"Equity curve in R\. .*\+4"))
    await expect(equity.locator("path.line")).to_have_count(1)
    await expect(equity.locator("circle.dot")).to_have_count(3)
    # Built with the DOM in the SVG namespace, not parsed from markup.
    namespace = await page.evaluate("document.querySelector('#equity-svg path').namespaceURI")
    assert namespace == "http://www.w3.org/2000/svg"
    box = await bars.bounding_box()
    assert box is not None and box["width"] <= VIEWPORT["width"]
    await app.screenshot("track-record")

    # Telegram switches to its dark theme while the app is open.
    background = "getComputedStyle(document.body).backgroundColor"
    assert await page.evaluate(background) == "rgb(244, 244, 245)"
    await page.evaluate(
        f"Telegram.WebApp.themeParams = {json.dumps(DARK)};"
        " Telegram.WebApp.colorScheme = 'dark'; window.__tg.emit('themeChanged');"
    )
    assert await page.evaluate(background) == "rgb(24, 24, 24)"
    await app.assert_clean()

    dark = await open_app(browser, harness, person(SUBSCRIBERS[0], "Sam"), scheme="dark")
    await dark.page.click("#tab-performance")
    await expect(dark.page.locator("svg#equity-svg")).to_be_visible()
    assert await dark.page.evaluate(background) == "rgb(24, 24, 24)"
    variable = "getComputedStyle(document.documentElement).getPropertyValue('--tg-theme-bg-color')"
    assert (await dark.page.evaluate(variable)).strip() == DARK["bg_color"]
    await dark.screenshot("track-record-dark")
    await dark.page.click("#tab-signals")
    await expect(dark.page.locator("#feed li")).to_have_count(4)
    await dark.screenshot("signals-dark")
    await dark.assert_clean()


# --- errors ---------------------------------------------------------------------------------


async def test_errors_are_shown(
    harness: Harness, make_harness: MakeHarness, browser: Browser
) -> None:
    await give_access(harness, SUBSCRIBERS[0])
    app = await open_app(browser, harness, person(SUBSCRIBERS[0], "Sam"))
    page = app.page

    # The network drops.
    await page.route("**/api/v1/performance", lambda route: route.abort("internetdisconnected"))
    await page.click("#tab-performance")
    await expect(page.locator("#perf-error")).to_contain_text("Network error")
    await expect(page.locator("#notice")).to_contain_text("Network error")
    await page.unroute("**/api/v1/performance")
    await page.click("#notice-retry")
    await expect(page.locator("#perf-error")).to_be_hidden()
    await expect(page.locator("#perf-rows tr")).to_have_count(4)

    # Billing answers 503 not_configured.
    async def not_configured(route: Route) -> None:
        body = {"error": {"code": "not_configured", "message": "payments are not set up"}}
        await route.fulfill(status=503, content_type="application/json", body=json.dumps(body))

    async def with_customer(route: Route) -> None:
        # As if this subscriber had paid through Stripe: Manage billing is offered.
        response = await route.fetch()
        me = await response.json()
        me["can_manage_billing"] = True
        await route.fulfill(response=response, json=me)

    await page.route("**/api/v1/me", with_customer)
    await page.route("**/api/v1/billing/portal", not_configured)
    await page.click("#tab-subscription")
    await page.click("#manage-billing")
    await expect(page.locator("#sub-error")).to_contain_text("Billing is not configured")

    # The token expires and the initData can no longer be exchanged: reopen the app.
    async def unauthorized(route: Route) -> None:
        body = {"error": {"code": "unauthorized", "message": "expired"}}
        await route.fulfill(status=401, content_type="application/json", body=json.dumps(body))

    await page.route("**/api/v1/signals", unauthorized)
    await page.route("**/api/v1/miniapp/exchange-initdata", unauthorized)
    await page.click("#tab-signals")
    expired = page.locator("#fatal")
    await expect(expired).to_contain_text("Session expired")
    await expect(expired).to_contain_text("reopen it from the bot")
    await expect(page.locator("#fatal-retry")).to_be_hidden()
    await expect(page.locator("#app")).to_be_hidden()
    assert (await app.main_button())["visible"] is False
    await app.screenshot("session-expired")
    await app.assert_clean()

    # A bot without Stripe: plans are not offered and the page says why.
    plain = await make_harness(stripe_api_key=None, stripe_price_ids=[])
    other = await open_app(browser, plain, person(OUTSIDER, "Olga"))
    await expect(other.page.locator("#plans-note")).to_contain_text("Payments are not set up")
    await expect(other.page.locator("#plans .plan")).to_have_count(0)
    await other.screenshot("billing-not-configured")
    await other.assert_clean()


# --- the page's words -----------------------------------------------------------------------


# The page's own words, as they reach the page: data-text elements show their text (its
# `code` and **bold** as elements), data-text-<attribute> set that attribute.
SHOWN_TEXTS = """(() => {
  const shown = [];
  for (const node of document.querySelectorAll("[data-text]")) {
    shown.push([node.getAttribute("data-text"), node.textContent]);
  }
  for (const attr of ["aria-label", "placeholder", "title"]) {
    for (const node of document.querySelectorAll("[data-text-" + attr + "]")) {
      shown.push([node.getAttribute("data-text-" + attr), node.getAttribute(attr)]);
    }
  }
  return shown;
})()"""


HOSTILE_LABEL = 'Track <img src="x" onerror="window.__pwned = 1"> record'


async def test_the_page_shows_the_words_of_the_texts_route(
    harness: Harness, browser: Browser
) -> None:
    """Change the catalogue's words on their way to the page: the page shows the new ones,
    placeholders filled by the front end, and markup in a text stays text."""
    await give_access(harness, SUBSCRIBERS[0])
    await publish(harness)
    served: dict[str, Any] = {}

    async def reworded(route: Route) -> None:
        response = await route.fetch()
        body = await response.json()
        body["texts"] |= {
            "app.tab.signals": "Feed",
            "app.tab.subscription": "My plan",
            "app.tab.performance": HOSTILE_LABEL,
            "app.signal.levels": "In at {entry}, out at {stop_loss} or {take_profits}",
            "app.name": "SignalDesk (reworded)",
        }
        served.update(body["texts"])
        await route.fulfill(response=response, json=body)

    app = await open_app(browser, harness, person(SUBSCRIBERS[0], "Sam"), texts=reworded)
    page = app.page
    tabs = page.get_by_role("tab")
    await expect(tabs).to_have_text(["My plan", "Feed", HOSTILE_LABEL])
    await expect(page.get_by_role("tab", name="Feed")).to_have_attribute("aria-selected", "true")
    # The feed's template came from the route too, and the front end filled it.
    await expect(page.locator("#feed")).to_contain_text(
        "In at 65000, out at 63500 or 67000 / 69000"
    )
    # A text is text: no element was made of it, nothing of it ran.
    await expect(page.locator("#tab-performance img")).to_have_count(0)
    assert await page.evaluate("window.__pwned") is None
    assert await page.title() == "SignalDesk (reworded)"
    assert await page.evaluate("document.documentElement.lang") == "en"

    # Every element that names a text shows exactly that text.
    shown = await page.evaluate(SHOWN_TEXTS)
    assert len(shown) > 40
    for key, text in shown:
        assert isinstance(served[key], str), key
        assert text == served[key].replace("`", "").replace("**", ""), key
    # And what the page shows holds no id and no unfilled placeholder.
    visible = await page.evaluate("document.body.innerText")
    assert "app." not in visible and "{" not in visible
    await app.assert_clean()


async def test_nothing_but_a_spinner_until_the_texts_come(
    harness: Harness, browser: Browser
) -> None:
    await give_access(harness, SUBSCRIBERS[0])
    release = asyncio.Event()

    async def held(route: Route) -> None:
        await release.wait()
        await route.continue_()

    app = await open_app(
        browser, harness, person(SUBSCRIBERS[0]), texts=held, expect_screen="#loading"
    )
    page = app.page
    await expect(page.locator("#loading .spinner")).to_be_visible()
    assert (await page.evaluate("document.body.innerText")).strip() == ""
    assert not [r for r in app.requests if "/api/" in r]  # no sign-in before the words
    release.set()
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.get_by_role("tab", name="Signals")).to_have_attribute(
        "aria-selected", "true"
    )
    await app.assert_clean()


async def test_without_the_texts_a_short_fallback_on_the_fatal_screen(
    harness: Harness, browser: Browser
) -> None:
    await give_access(harness, SUBSCRIBERS[0])
    down = True

    async def unreachable(route: Route) -> None:
        if down:
            await route.abort("internetdisconnected")
        else:
            await route.continue_()

    app = await open_app(
        browser, harness, person(SUBSCRIBERS[0]), texts=unreachable, expect_screen="#fatal"
    )
    page = app.page
    await expect(page.locator("#fatal-title")).to_have_text("Something went wrong")
    await expect(page.locator("#fatal-text")).to_contain_text("Network error")
    retry = page.locator("#fatal-retry")
    await expect(retry).to_have_text("Try again")
    await expect(page.locator("#app")).to_be_hidden()
    assert not [r for r in app.requests if "/api/" in r]  # no sign-in without the words
    await app.screenshot("texts-unreachable")

    down = False
    await retry.click()
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.get_by_role("tab", name="Signals")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(page.locator("#signals-empty")).to_contain_text("No signals yet")
    assert "POST /api/v1/miniapp/exchange-initdata" in app.requests
    await app.assert_clean()
