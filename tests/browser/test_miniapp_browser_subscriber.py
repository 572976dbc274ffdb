"""The Mini App in real headless Chromium against the real app, fake Bot API and fake Stripe:
subscriber feed, locked feed and checkout, admin compose/preview/send/progress and stats,
syntax errors, outside Telegram, the track record charts, themes and visible errors, and the
page's words coming from the server's catalogue (GET /api/v1/texts) and nowhere else.

Telegram's script is replaced (page routing) by a stub with validly signed initData whose
MainButton, BackButton and openLink record what the app does. Screenshots of each screen go to
test-artifacts/screenshots/ (360x740, light theme, and dark for the track record).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    ViewportSize,
    async_playwright,
    expect,
)

from db.models import OutboxMessage, Signal, User
from tests.support import stars_player
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.stripe_api import FakeStripe
from tests.support.harness import (
    ADMIN_ID,
    BOT_TOKEN,
    PRICE_MONTHLY,
    Harness,
    MakeHarness,
    harness_factory,
    running_fake_bot,
    running_fake_stripe,
)
from tests.support.helpers import count, give_access, post_signal_update, publish_signal
from tests.support.initdata import sign_init_data

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    # A bare `pytest` may skip the browser suite; `make test` (REQUIRE_BROWSER=1, after
    # installing Chromium or saying how) and CI (CI=true) fail instead, never a quiet skip.
    required = os.environ.get("CI", "") + os.environ.get("REQUIRE_BROWSER", "")
    if required.lower() not in {"", "0", "false", "no"}:
        pytest.fail("Chromium is not installed at /usr/bin/chromium", pytrace=False)
    pytest.skip(
        "Chromium not installed at /usr/bin/chromium: apt-get install chromium",
        allow_module_level=True,
    )

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TELEGRAM_JS = "https://telegram.org/js/telegram-web-app.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT: ViewportSize = {"width": 360, "height": 740}
Scheme = Literal["light", "dark"]
WAIT_MS = 5_000

SUBSCRIBERS = (7301, 7302)
OUTSIDER = 7309
LINE = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h note breakout retest"

# Telegram's own default palettes (Telegram Web), as themeParams would carry them.
LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#3390ec",
    "button_color": "#3390ec",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#f4f4f5",
    "header_bg_color": "#ffffff",
    "accent_text_color": "#3390ec",
    "section_bg_color": "#ffffff",
    "section_header_text_color": "#3390ec",
    "subtitle_text_color": "#707579",
    "destructive_text_color": "#e53935",
}
DARK = {
    "bg_color": "#212121",
    "text_color": "#ffffff",
    "hint_color": "#aaaaaa",
    "link_color": "#8774e1",
    "button_color": "#8774e1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#181818",
    "header_bg_color": "#212121",
    "accent_text_color": "#8774e1",
    "section_bg_color": "#212121",
    "section_header_text_color": "#8774e1",
    "subtitle_text_color": "#aaaaaa",
    "destructive_text_color": "#ff595a",
}

# Stands in for telegram-web-app.js: the parts of Telegram.WebApp the app uses, recording calls.
# MainButton/BackButton expose their onClick handlers and a click() that runs them.
STUB = """
(function () {
  var config = __CONFIG__;
  var log = { calls: [], events: {} };
  window.__tg = log;
  window.__opened = [];
  window.__invoices = [];
  function record(name, args) {
    log.calls.push([name].concat(Array.prototype.slice.call(args)));
  }
  function button(name) {
    var b = { text: "", isVisible: false, isActive: true, isProgressVisible: false,
              handlers: [] };
    function method(key, apply) {
      b[key] = function () { record(name + "." + key, arguments); apply.apply(b, arguments);
                             return b; };
    }
    method("setText", function (text) { b.text = text; });
    method("show", function () { b.isVisible = true; });
    method("hide", function () { b.isVisible = false; });
    method("enable", function () { b.isActive = true; });
    method("disable", function () { b.isActive = false; });
    method("showProgress", function () { b.isProgressVisible = true; });
    method("hideProgress", function () { b.isProgressVisible = false; });
    method("setParams", function (p) {
      if ("text" in p) b.text = p.text;
      if ("is_visible" in p) b.isVisible = !!p.is_visible;
      if ("is_active" in p) b.isActive = !!p.is_active;
    });
    method("onClick", function (cb) { b.handlers.push(cb); });
    method("offClick", function (cb) {
      b.handlers = b.handlers.filter(function (h) { return h !== cb; });
    });
    b.click = function () { b.handlers.slice().forEach(function (cb) { cb(); }); };
    return b;
  }
  var webApp = {
    initData: config.initData,
    initDataUnsafe: config.initDataUnsafe,
    version: "8.0",
    platform: "tdesktop",
    colorScheme: config.colorScheme,
    themeParams: config.themeParams,
    isExpanded: false,
    MainButton: button("MainButton"),
    BackButton: button("BackButton"),
    ready: function () { record("ready", arguments); },
    expand: function () { record("expand", arguments); webApp.isExpanded = true; },
    openLink: function (url) { record("openLink", arguments); window.__opened.push(url); },
    openInvoice: function (url, done) {
      record("openInvoice", arguments);
      window.__invoices.push(url);
      window.__invoiceDone = done;
    },
    onEvent: function (type, cb) {
      record("onEvent", [type]);
      (log.events[type] = log.events[type] || []).push(cb);
    },
    offEvent: function (type, cb) {
      log.events[type] = (log.events[type] || []).filter(function (h) { return h !== cb; });
    },
    isVersionAtLeast: function () { return true; }
  };
  log.emit = function (type) {
    (log.events[type] || []).forEach(function (cb) { cb.call(webApp); });
  };
  window.Telegram = { WebApp: webApp };
})();
"""

# Added through the DevTools protocol, so the page's CSP does not apply to it.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def telegram_stub(
    user: dict[str, Any] | None, *, scheme: Scheme = "light", bot_token: str = BOT_TOKEN
) -> str:
    """The stub script; without a user, initData is empty as outside Telegram."""
    init_data = sign_init_data(bot_token, user) if user else ""
    config = {
        "initData": init_data,
        "initDataUnsafe": {"user": user} if user else {},
        "colorScheme": scheme,
        "themeParams": DARK if scheme == "dark" else LIGHT,
    }
    return STUB.replace("__CONFIG__", json.dumps(config))


@dataclass
class MiniApp:
    """One page of the Mini App plus everything that went wrong in it."""

    page: Page
    context: BrowserContext
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # "GET /api/v1/me", without queries
    urls: list[str] = field(default_factory=list)  # the same, with them
    csp: str = ""

    async def assert_clean(self) -> None:
        """No script errors, no CSP violations, no request outside the app."""
        violations = await self.page.evaluate("window.__csp")
        assert violations == [], violations
        assert self.problems == [], self.problems

    async def screenshot(self, name: str) -> None:
        """Save a full-page screenshot, after checking nothing is wider than the viewport."""
        widths = await self.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert widths[0] <= widths[1] == VIEWPORT["width"], widths
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    async def main_button(self) -> dict[str, Any]:
        state: dict[str, Any] = await self.page.evaluate(
            "(() => { const b = Telegram.WebApp.MainButton;"
            " return {text: b.text, visible: b.isVisible, active: b.isActive,"
            " handlers: b.handlers.length}; })()"
        )
        return state

    async def back_visible(self) -> bool:
        return bool(await self.page.evaluate("Telegram.WebApp.BackButton.isVisible"))


# One Chromium for each browser module (starting Playwright's driver and the browser costs
# about a second): the module's tests run on one event loop, the browser's, and so do the
# harness's fixtures they use, declared again here on that loop. Every test still gets a
# fresh database, fakes, app and browser context.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module")
async def fake_bot() -> AsyncIterator[FakeBotAPI]:
    async with running_fake_bot() as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope="module")
async def fake_stripe() -> AsyncIterator[FakeStripe]:
    async with running_fake_stripe() as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope="module")
async def make_harness(
    database_url: str, fake_bot: FakeBotAPI, fake_stripe: FakeStripe
) -> AsyncIterator[MakeHarness]:
    async with harness_factory(database_url, fake_bot, fake_stripe) as factory:
        yield factory


@pytest_asyncio.fixture(loop_scope="module")
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def browser(chromium: Browser) -> AsyncIterator[Browser]:
    """The module's Chromium; what a test opened in it is closed after the test."""
    yield chromium
    for context in chromium.contexts:
        await context.close()


async def open_app(
    browser: Browser,
    harness: Harness,
    user: dict[str, Any] | None,
    *,
    scheme: Scheme = "light",
    telegram_script: bool = True,
    expect_screen: str = "#app",
    texts: Callable[[Route], Awaitable[None]] | None = None,
) -> MiniApp:
    """A page of the app; `texts`, if given, answers GET /api/v1/texts instead of the app."""
    context = await browser.new_context(
        viewport=VIEWPORT,
        color_scheme=scheme,
        locale="en-US",
        timezone_id="UTC",
        service_workers="block",
        reduced_motion="reduce",
    )
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS * 2)
    await context.add_init_script(WATCH_CSP)
    page = await context.new_page()
    app = MiniApp(page=page, context=context)
    stub = telegram_stub(user, scheme=scheme)

    async def route(route: Route) -> None:
        url = route.request.url
        if url == TELEGRAM_JS:
            if telegram_script:
                await route.fulfill(status=200, content_type="text/javascript", body=stub)
            else:
                await route.abort("internetdisconnected")
        elif url.startswith(harness.base_url + "/"):
            called = f"{route.request.method} {url.removeprefix(harness.base_url)}"
            app.urls.append(called)
            app.requests.append(called.split("?", maxsplit=1)[0])
            await route.continue_()
        else:
            app.problems.append(f"request outside the app: {url}")
            await route.abort("blockedbyclient")

    await context.route("**/*", route)

    def on_console(message: ConsoleMessage) -> None:
        # Chromium logs every 4xx/5xx fetch answer; the app handles those deliberately.
        if message.type == "error" and "Failed to load resource" not in message.text:
            if not telegram_script and "telegram-web-app.js" in message.text:
                return
            app.problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: app.problems.append(f"page error: {error}"))
    if texts is not None:
        await page.route("**/api/v1/texts*", texts)
    response = await page.goto(f"{harness.base_url}/app/")
    assert response is not None and response.ok
    app.csp = await response.header_value("content-security-policy") or ""
    await expect(page.locator(expect_screen)).to_be_visible()
    return app


async def publish(harness: Harness, line: str = LINE) -> int:
    return await publish_signal(harness, line)


def person(user_id: int, first_name: str = "Ann") -> dict[str, Any]:
    return {"id": user_id, "first_name": first_name, "username": f"user{user_id}"}


# --- subscriber -----------------------------------------------------------------------------


async def test_subscriber_sees_the_feed(harness: Harness, browser: Browser) -> None:
    await give_access(harness, SUBSCRIBERS[0])
    signal_id = await publish(harness)
    app = await open_app(browser, harness, person(SUBSCRIBERS[0], "Sam"))
    page = app.page

    await expect(page.locator("#tab-signals")).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#tab-compose")).to_be_hidden()
    item = page.locator(f'#feed [data-signal-id="{signal_id}"]')
    await expect(item).to_contain_text("BTCUSDT")
    await expect(item).to_contain_text("Entry 65000")
    await expect(item).to_contain_text("TP 67000 / 69000")
    await expect(item).to_contain_text("Open")
    await app.screenshot("signals")

    # The token was exchanged once and used as a bearer; it is kept nowhere but memory.
    exchange = app.requests.index("POST /api/v1/miniapp/exchange-initdata")
    assert exchange < app.requests.index("GET /api/v1/me")
    # The words came first, once (they are fetched at boot, before anything is shown).
    assert app.requests.index("GET /api/v1/texts") < exchange
    assert "GET /api/v1/me" in app.requests and "GET /api/v1/signals" in app.requests
    # The page really runs under the strict policy that assert_clean() checks against.
    for directive in (
        "default-src 'self'",
        "script-src 'self' https://telegram.org",
        "style-src 'self'",
        "connect-src 'self'",
    ):
        assert directive in app.csp, app.csp
    storage = await page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]")
    assert storage == [0, 0, ""]
    assert "token" not in page.url
    calls = [c[0] for c in await page.evaluate("window.__tg.calls")]
    assert "ready" in calls and "expand" in calls
    assert await app.back_visible() is False

    # A detail view, left with Telegram's BackButton.
    await item.click()
    await expect(page.locator("#detail")).to_contain_text("Stop loss")
    await expect(page.locator("#detail")).to_contain_text("breakout retest")
    await expect(page.locator("#detail")).to_contain_text("5×")
    assert await app.back_visible() is True
    await app.screenshot("signal-detail")
    await page.evaluate("Telegram.WebApp.BackButton.click()")
    await expect(page.locator("#feed")).to_be_visible()
    await expect(page.locator("#panel-detail")).to_be_hidden()
    assert await app.back_visible() is False

    # Subscription: state and renewal date, no plans to buy.
    await page.click("#tab-subscription")
    await expect(page.locator("#sub-status")).to_have_text("Active")
    await expect(page.locator("#sub-state")).to_contain_text("Renews on")
    await expect(page.locator("#sub-state")).to_contain_text("Pro Signals")
    await expect(page.locator("#plans-title")).to_be_hidden()
    await app.screenshot("subscription-active")

    # Keyboard: arrows move between tabs.
    await page.focus("#tab-subscription")
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("#tab-signals")).to_be_focused()
    await expect(page.locator("#tab-signals")).to_have_attribute("aria-selected", "true")
    assert app.requests.count("GET /api/v1/texts") == 1
    await app.assert_clean()


async def test_non_subscriber_sees_it_locked_and_can_subscribe(
    harness: Harness, browser: Browser
) -> None:
    await publish(harness)
    app = await open_app(browser, harness, person(OUTSIDER, "Olga"))
    page = app.page

    # Without access the app opens on the plans.
    await expect(page.locator("#tab-subscription")).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#sub-state")).to_contain_text("not subscribed")
    await expect(page.locator("#plans .plan")).to_have_count(2)
    await expect(page.locator("#manage-wrap")).to_be_hidden()
    await app.screenshot("subscription")

    await page.get_by_role("tab", name="Signals").click()
    locked = page.locator("#signals-locked")
    await expect(locked).to_be_visible()
    await expect(locked).to_contain_text("Signals are for subscribers")
    await expect(page.locator("#feed li")).to_have_count(0)
    await app.screenshot("signals-locked")

    await page.click("#locked-subscribe")
    await expect(page.locator("#tab-subscription")).to_have_attribute("aria-selected", "true")
    subscribe = page.get_by_role("button", name="Subscribe to Pro Signals — $49.00 / month")
    await expect(subscribe).to_have_attribute("data-price-id", PRICE_MONTHLY)
    await expect(subscribe).to_be_focused()
    await subscribe.click()
    await page.wait_for_function("() => window.__opened.length > 0", timeout=WAIT_MS)
    (url,) = await page.evaluate("window.__opened")
    assert url.startswith("https://checkout.stripe.com/")
    (session,) = harness.fake_stripe.checkout_sessions.values()
    assert session["url"] == url and session["client_reference_id"] == str(OUTSIDER)
    assert session["line_items"]["data"] == [{"price": PRICE_MONTHLY, "quantity": 1}]
    await expect(subscribe).to_be_enabled()
    await app.assert_clean()


async def test_paying_in_stars_inside_the_app(make_harness: MakeHarness, browser: Browser) -> None:
    harness = await make_harness(stars_price=250)
    app = await open_app(browser, harness, person(OUTSIDER, "Olga"))
    page = app.page
    await expect(page.locator("#plans .plan")).to_have_count(3)  # Stars and two Stripe plans
    pay_stars = page.get_by_role("button", name="Pay 250 Stars for 30 days")
    await expect(page.locator("#plans .plan").first).to_contain_text("250 ⭐ / 30 days")
    await app.screenshot("subscription-stars")
    await pay_stars.click()
    await page.wait_for_function("() => window.__invoices.length > 0", timeout=WAIT_MS)
    (link,) = await page.evaluate("window.__invoices")
    assert link.startswith("https://t.me/$")

    # The user pays in Telegram: the bot is asked, says yes, and books the payment.
    assert await stars_player.pay(harness, OUTSIDER, link) is not None
    await page.evaluate("window.__invoiceDone('paid')")
    await expect(page.locator("#sub-status")).to_have_text("Active")
    await expect(page.locator("#sub-state")).to_contain_text("Telegram Stars")
    await expect(page.locator("#plans .plan")).to_have_count(0)
    await app.screenshot("subscription-stars-active")
    await app.assert_clean()


async def test_admin_refunds_a_stars_payment_from_the_timeline(
    make_harness: MakeHarness, browser: Browser
) -> None:
    harness = await make_harness(stars_price=250)
    link = await stars_player.invoice_link(harness, OUTSIDER)
    assert await stars_player.pay(harness, OUTSIDER, link) is not None
    app = await open_app(browser, harness, person(ADMIN_ID, "Ada"))
    page = app.page
    await page.get_by_role("tab", name="Subscribers").click()
    await page.get_by_label("Find a subscriber").fill(str(OUTSIDER))
    await page.get_by_role("button", name="Search").click()
    await page.locator("#people-results .person-button").first.click()
    refund = page.locator("#person-refund")
    await expect(refund).to_have_text("Refund the latest Stars payment")
    await refund.click()  # the first tap only arms it
    await expect(refund).to_have_text("Tap again to refund")
    assert harness.fake_bot.calls_for("refundStarPayment") == []
    await refund.click()
    await expect(page.locator("#person-refund-result")).to_have_text(
        "Refunded 250 ⭐; their Stars access has ended and they have been told."
    )
    [call] = harness.fake_bot.calls_for("refundStarPayment")
    assert call["user_id"] == OUTSIDER
    await app.screenshot("subscriber-refunded")
    await app.assert_clean()


async def test_notification_settings_in_the_app(harness: Harness, browser: Browser) -> None:
    app = await open_app(browser, harness, person(OUTSIDER, "Olga"))
    page = app.page
    form = page.locator("#settings-form")
    await expect(form).to_be_visible()
    await expect(page.locator("#settings-updates-on")).to_be_checked()
    await page.get_by_role("group", name="Their updates").get_by_label("Off").check()
    await expect(page.locator("#settings-status")).to_have_text("Saved.")
    await expect(page.locator("#settings-updates-off")).to_be_checked()
    async with harness.session() as session:
        user = await session.get(User, OUTSIDER)
        assert user is not None and user.notify_updates == "off"
    await app.screenshot("settings")
    await app.assert_clean()


# --- admin ----------------------------------------------------------------------------------


async def test_admin_composes_previews_sends_and_sees_progress(
    harness: Harness, browser: Browser
) -> None:
    await give_access(harness, *SUBSCRIBERS)
    app = await open_app(browser, harness, person(ADMIN_ID, "Ada"))
    page = app.page
    await expect(page.locator("#tab-performance")).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#tab-stats")).to_be_visible()

    await page.get_by_role("tab", name="Post").click()
    assert await app.back_visible() is True
    await page.get_by_label("New signal").fill(LINE)
    await page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    await expect(preview).to_be_visible()
    await expect(preview).to_contain_text("BTCUSDT")
    await expect(preview).to_contain_text("63500")
    await expect(page.locator("#preview-canonical")).to_contain_text("/signal BTCUSDT long")
    await expect(page.locator("#send-button")).to_have_text("Send to 2 subscribers")
    assert await app.main_button() == {
        "text": "Send to 2 subscribers",
        "visible": True,
        "active": True,
        "handlers": 1,
    }
    assert await count(harness, Signal) == 0  # a preview stores nothing
    await app.screenshot("compose-preview")

    await page.evaluate("Telegram.WebApp.MainButton.click()")
    progress = page.locator("#progress")
    await expect(progress).to_be_visible()
    await expect(page.locator("#progress-text")).to_contain_text("of 2")
    assert (await app.main_button())["visible"] is False
    assert await count(harness, Signal) == 1

    await harness.deliver()
    for chat in SUBSCRIBERS:
        (message,) = harness.fake_bot.sent_messages(chat)
        assert "BTCUSDT" in message.text and "65000" in message.text
    await expect(progress).to_have_attribute("data-done", "true")
    await expect(page.locator("#progress-text")).to_contain_text("Done: delivered to 2 of 2")
    await expect(page.locator("#progress-bar")).to_have_attribute("value", "2")
    await app.screenshot("compose-progress")
    polls = [r for r in app.requests if r.startswith("GET /api/v1/admin/broadcasts/")]
    assert 1 <= len(polls) <= 10

    # Stats, then the BackButton leaves the admin screens.
    await page.click("#tab-stats")
    await expect(page.locator("#stat-access")).to_contain_text("2")
    await expect(page.locator("#stat-mrr")).to_contain_text("$98.00")
    await expect(page.locator("#state-rows")).to_contain_text("Active")
    await app.screenshot("stats")
    await page.evaluate("Telegram.WebApp.BackButton.click()")
    # Back to where the admin started: the track record, as the admin has no subscription.
    await expect(page.locator("#tab-performance")).to_have_attribute("aria-selected", "true")
    assert await app.back_visible() is False
    await app.assert_clean()


async def test_admin_finds_a_subscriber_and_reads_the_timeline(
    harness: Harness, browser: Browser
) -> None:
    await give_access(harness, *SUBSCRIBERS)
    await give_access(harness, 7303, blocked=True)
    app = await open_app(browser, harness, person(ADMIN_ID, "Ada"))
    page = app.page
    await page.get_by_role("tab", name="Subscribers").click()
    assert await app.back_visible() is True
    search = page.get_by_label("Find a subscriber")
    await expect(search).to_be_focused()

    await search.fill("nobody")
    await search.press("Enter")
    await expect(page.locator("#people-results")).to_have_text("Nobody matches nobody.")

    await search.fill("User730")
    await page.get_by_role("button", name="Search").click()
    results = page.locator("#people-results .person-button")
    await expect(results).to_have_count(3)
    blocked = results.filter(has_text="7303")
    await expect(blocked).to_contain_text("Blocked the bot")
    await app.screenshot("subscribers-search")

    await results.filter(has_text="7301").click()
    person_card = page.locator("#person")
    await expect(person_card).to_be_visible()
    await expect(page.locator("#person-title")).to_have_text("User7301")
    await expect(person_card).to_contain_text("Premium")
    await expect(person_card).to_contain_text("User 7301, joined")
    await expect(person_card.locator(".timeline li.active")).to_contain_text("Stripe: Active")
    await expect(page.locator("#people-results")).to_be_hidden()
    await app.screenshot("subscriber-timeline")

    # The BackButton leaves the timeline for the results first, then the admin screens.
    await page.evaluate("Telegram.WebApp.BackButton.click()")
    await expect(person_card).to_be_hidden()
    await expect(results).to_have_count(3)
    await page.evaluate("Telegram.WebApp.BackButton.click()")
    await expect(page.locator("#tab-performance")).to_have_attribute("aria-selected", "true")
    searches = [r for r in app.urls if r.startswith("GET /api/v1/admin/subscribers")]
    assert searches == [
        "GET /api/v1/admin/subscribers?q=nobody",
        "GET /api/v1/admin/subscribers?q=User730",
        "GET /api/v1/admin/subscribers/7301",
    ]
    await app.assert_clean()


async def test_bad_signal_shows_the_token_and_stores_nothing(
    harness: Harness, browser: Browser
) -> None:
    await give_access(harness, *SUBSCRIBERS)
    app = await open_app(browser, harness, person(ADMIN_ID, "Ada"))
    page = app.page
    await page.click("#tab-compose")

    await page.fill("#compose-text", "BTCUSDT long entry 65000 sl 66000 tp 67000")
    await page.click("#preview-button")
    error = page.locator("#compose-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("66000")
    await expect(error).to_contain_text("sl must be below the entry")
    await expect(page.locator("#compose-text")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#preview")).to_be_hidden()
    assert (await app.main_button())["visible"] is False
    await app.screenshot("compose-error")

    # Pressing where the MainButton would be does nothing without a valid preview.
    await page.evaluate("Telegram.WebApp.MainButton.click()")
    await page.fill("#compose-text", "BTCUSDT long entry 65000 sl 63500 tp 67000")
    await expect(error).to_be_hidden()
    await page.click("#preview-button")
    await expect(page.locator("#preview")).to_be_visible()
    assert (await app.main_button())["visible"] is True
    # Editing after the preview withdraws it: only previewed text is ever sent.
    await page.fill("#compose-text", "BTCUSDT long entry 65000 sl 63500 tp 67000 lev")
    await expect(page.locator("#preview")).to_be_hidden()
    assert (await app.main_button())["visible"] is False
    await page.evaluate("Telegram.WebApp.MainButton.click()")
    await page.click("#preview-button")
    await expect(error).to_contain_text("lev")

    assert await count(harness, Signal) == 0
    assert await count(harness, OutboxMessage) == 0
    assert not any(r.startswith("POST /api/v1/admin/signals ") for r in app.requests)
    assert "POST /api/v1/admin/signals" not in app.requests
    await app.assert_clean()


# --- outside Telegram -----------------------------------------------------------------------


async def test_outside_telegram_says_to_open_it_from_the_bot(
    harness: Harness, browser: Browser
) -> None:
    app = await open_app(browser, harness, None, expect_screen="#outside")
    await expect(app.page.locator("#outside")).to_contain_text("Open SignalDesk from the bot")
    await expect(app.page.locator("#app")).to_be_hidden()
    # The page's words, public, and nothing else: no initData exchange, no bearer call.
    assert [r for r in app.requests if "/api/" in r] == ["GET /api/v1/texts"]
    await app.screenshot("outside-telegram")
    await app.assert_clean()

    # Telegram's script did not load at all (a plain browser offline): the same message.
    bare = await open_app(browser, harness, None, telegram_script=False, expect_screen="#outside")
    await expect(bare.page.locator("#outside")).to_contain_text("Open SignalDesk from the bot")
    assert [r for r in bare.requests if "/api/" in r] == ["GET /api/v1/texts"]
    await bare.assert_clean()


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
