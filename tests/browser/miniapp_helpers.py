"""What the browser suites share: headless Chromium (one for each module, its tests on one
event loop, and the harness's fixtures declared again on that loop), the Mini App opened in
it as Telegram opens it, and everything that went wrong in the page.

Telegram's script is replaced (page routing) by a stub with validly signed initData whose
MainButton, BackButton and openLink record what the app does. Screenshots of each screen go to
test-artifacts/screenshots/ (360x740, light theme, and dark for the track record).
"""

from __future__ import annotations

import json
import os
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

from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.stripe_api import FakeStripe
from tests.support.harness import (
    BOT_TOKEN,
    Harness,
    MakeHarness,
    harness_factory,
    running_fake_bot,
    running_fake_stripe,
)
from tests.support.helpers import publish_signal
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
    """A page of the app; `texts`, if given, answers GET /api/v1/texts instead of the app.
    The user has accepted the risk disclaimer unless the harness has auto_consent off."""
    if user is not None:
        await harness.consented(int(user["id"]))
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
