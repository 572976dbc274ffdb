# ruff: noqa: F811 - the fixtures are imported from miniapp_helpers.py, on the module's loop
"""The admins' composer in real headless Chromium at phone width (390x844), light and dark:
a signal filled in field by field with its risk/reward worked out as it is typed (exactly
as bot/signals/results.py counts it), the message subscribers will get, Post behind a
question, the new signal's card with its delivery report, its update buttons (TP1 behind a
question, a close at a price), mistakes shown at their fields, the 7-a-minute guard, and
nothing of it for anyone but the admins.

The page runs against the real app, fake Bot API and fake Stripe, with Telegram's script
replaced by the suite's stub (tests/browser/miniapp_helpers.py). Screenshots go to
test-artifacts/screenshots/composer-*.png; docs/images/make_screenshots.py makes the
documentation's from the same flow.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    ViewportSize,
    expect,
)

from bot.signals.results import ResultOutOfRangeError, result_at
from bot.signals.spec import SignalSpec
from bot.signals.syntax import MAX_TAKE_PROFITS
from bot.texts import cornix
from db.models import Signal, SignalUpdate
from tests.browser.miniapp_helpers import (  # the module's fixtures, on its loop
    TELEGRAM_JS,
    WATCH_CSP,
    browser,  # noqa: F401 - a fixture
    chromium,  # noqa: F401 - a fixture
    fake_bot,  # noqa: F401 - a fixture
    fake_stripe,  # noqa: F401 - a fixture
    harness,  # noqa: F401 - a fixture
    make_harness,  # noqa: F401 - a fixture
    pytestmark,  # noqa: F401 - the tests run on the module's loop
    telegram_stub,
)
from tests.support.api_client import call, login
from tests.support.harness import (
    ADMIN_ID,
    Harness,
)
from tests.support.helpers import count, give_access, publish_signal

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}
Scheme = Literal["light", "dark"]
WAIT_MS = 5_000
SUBSCRIBERS = (7501, 7502)
ADMIN = {"id": ADMIN_ID, "first_name": "Ada", "username": "ada_signals"}
SECONDS = re.compile(r"^[0-9]+\.[0-9] s$")  # a delivery time as the card shows it


def _plain(html_text: str) -> str:
    """What a person reads of a message: its text without the markup."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


@dataclass
class Composer:
    """The Mini App's page, opened by an admin, and what went wrong in it."""

    page: Page
    context: BrowserContext
    scheme: Scheme
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    async def assert_clean(self) -> None:
        """No script errors, no CSP violations, no request outside the app."""
        assert await self.page.evaluate("window.__csp") == []
        assert self.problems == [], self.problems

    async def screenshot(self, name: str, *, path: Path | None = None) -> None:
        """A full-page screenshot, after checking nothing is wider than the phone."""
        widths = await self.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert widths[0] <= widths[1] == PHONE["width"], widths
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = path or SCREENSHOTS / f"composer-{name}-{self.scheme}.png"
        await self.page.screenshot(path=target, full_page=True)


async def open_composer(
    browser: Browser,
    base_url: str,
    user: dict[str, Any] = ADMIN,
    *,
    scheme: Scheme = "light",
    scale: float = 1,
) -> Composer:
    """The app as `user` opens it from Telegram, on a phone; an admin on the Post tab."""
    context = await browser.new_context(
        viewport=PHONE,
        device_scale_factor=scale,
        color_scheme=scheme,
        locale="en-US",
        timezone_id="UTC",
        service_workers="block",
        reduced_motion="reduce",
    )
    context.set_default_timeout(WAIT_MS)
    await context.add_init_script(WATCH_CSP)
    page = await context.new_page()
    app = Composer(page=page, context=context, scheme=scheme)
    stub = telegram_stub(user, scheme=scheme)

    async def route(route: Route) -> None:
        url = route.request.url
        if url == TELEGRAM_JS:
            await route.fulfill(status=200, content_type="text/javascript", body=stub)
        elif url.startswith(base_url + "/"):
            app.requests.append(f"{route.request.method} {url.removeprefix(base_url)}")
            await route.continue_()
        else:
            app.problems.append(f"request outside the app: {url}")
            await route.abort("blockedbyclient")

    def on_console(message: ConsoleMessage) -> None:
        # Chromium logs every 4xx fetch answer; the page handles those on purpose.
        if message.type == "error" and "Failed to load resource" not in message.text:
            app.problems.append(f"console: {message.text}")

    await context.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda error: app.problems.append(f"page error: {error}"))
    await page.goto(f"{base_url}/app/")
    await expect(page.locator("#app")).to_be_visible()
    if user["id"] == ADMIN_ID:
        await page.get_by_role("tab", name="Post").click()
        await expect(page.locator("#composer")).to_be_visible()
    return app


# One Chromium for the module, and the harness's fixtures on its event loop (as in
# tests/browser/miniapp_helpers.py); every test gets a fresh database and app.
# --- the form, as an admin fills it ----------------------------------------------------------


def tp_row(page: Page, n: int) -> Any:
    return page.locator("#composer-tp-rows li").nth(n - 1)


def r_of(side: str, entry: str, stop: str, target: str) -> str:
    """What the track record would count for `target` (results.py), shown to 2 places."""
    low, _, high = entry.partition("-")
    spec = SignalSpec(
        "BTCUSDT", side, Decimal(low), Decimal(high or low), Decimal(stop), (Decimal(target),)
    )
    r = result_at(spec, Decimal(target))[1].quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{'−' if r < 0 else ''}{abs(r)}R"


async def fill_signal(app: Composer) -> None:
    """BTCUSDT long 65000, stop 63500, targets 67000 and 69000, 5x, 4h, with a note; the
    risk/reward checked as each field comes."""
    page = app.page
    await page.get_by_label("Symbol").fill("BTCUSDT")
    await page.get_by_label("Entry", exact=True).fill("65000")
    await page.get_by_label("Stop loss").fill("63500")
    await page.get_by_label("Take-profit 1").fill("67000")
    await expect(tp_row(page, 1).locator("output")).to_have_text(
        r_of("long", "65000", "63500", "67000")
    )
    await page.get_by_role("button", name="Add a take-profit").click()
    await expect(page.get_by_label("Take-profit 2")).to_be_focused()
    await page.get_by_label("Take-profit 2").fill("69000")
    await expect(tp_row(page, 2).locator("output")).to_have_text("2.67R")
    await page.get_by_label("Leverage").fill("5")
    await page.get_by_label("Timeframe").fill("4h")
    await page.get_by_label("Note").fill("breakout retest")


async def test_compose_post_and_update_a_signal(
    harness: Harness, browser: Browser, scheme: Scheme
) -> None:
    await give_access(harness, *SUBSCRIBERS)
    app = await open_composer(browser, harness.base_url, scheme=scheme)
    page = app.page
    await expect(page.locator("#desk-empty")).to_have_text("No signals posted yet.")
    await expect(page.locator("#composer-status")).to_contain_text("Fill in the symbol")
    await expect(page.get_by_label("Symbol")).to_be_focused()
    await fill_signal(app)

    # Live: a moved stop changes every R at once, before any answer from the server.
    await page.get_by_label("Stop loss").fill("64000")
    await expect(tp_row(page, 1).locator("output")).to_have_text("2.00R")
    await expect(tp_row(page, 2).locator("output")).to_have_text("4.00R")
    # A zone: R from its midpoint.
    await page.get_by_label("A zone: two prices").check()
    await page.get_by_label("Upper end of the entry zone").fill("65500")
    await expect(tp_row(page, 1).locator("output")).to_have_text(
        r_of("long", "65000-65500", "64000", "67000")
    )
    await page.get_by_label("A zone: two prices").uncheck()
    await page.get_by_label("Stop loss").fill("63500")

    # The message subscribers will get, as the server renders it in SIGNAL_STYLE.
    message = page.locator("#composer-message")
    await expect(message).to_be_visible()
    spec = SignalSpec(
        "BTCUSDT",
        "long",
        Decimal(65000),
        Decimal(65000),
        Decimal(63500),
        (Decimal(67000), Decimal(69000)),
        Decimal(5),
        "4h",
        "breakout retest",
    )
    expected = _plain(cornix.body(spec))
    await expect(message).to_have_text(expected)
    await expect(message.locator("strong").first).to_have_text("BTC/USDT")
    post = page.locator("#composer-post")
    await expect(post).to_have_text("Post to 2 subscribers")
    assert await count(harness, Signal) == 0  # previews store nothing
    await app.screenshot("form")

    # Post asks first; nothing goes out until the answer is yes.
    await post.click()
    question = page.locator("#composer-confirm .confirm")
    await expect(question).to_contain_text("Post BTCUSDT long to 2 subscribers now?")
    await expect(page.get_by_role("button", name="Post now")).to_be_focused()
    assert await count(harness, Signal) == 0
    await page.get_by_role("button", name="Back").click()
    await expect(question).to_be_hidden()
    assert await count(harness, Signal) == 0
    await post.click()
    await app.screenshot("confirm")
    await page.get_by_role("button", name="Post now").click()

    card = page.locator("#desk .desk-card").first
    await expect(card).to_contain_text("BTCUSDT")
    signal_id = int(await card.get_attribute("data-signal-id") or 0)
    await expect(page.locator("#composer-status")).to_have_text(
        f"Signal #{signal_id} is out: its card is below."
    )
    await expect(page.get_by_label("Symbol")).to_have_value("")  # ready for the next one
    assert await count(harness, Signal) == 1

    # The delivery report, followed live until the last subscriber has it.
    await harness.deliver()
    report = card.locator(".delivery")
    await expect(report).to_have_attribute("data-done", "true")
    await expect(report.locator(".delivery-sent dd")).to_have_text("2")
    await expect(report.locator(".delivery-failed dd")).to_have_text("0")
    await expect(report.locator(".delivery-blocked dd")).to_have_text("0")
    await expect(report.locator(".delivery-time dd")).to_have_text(SECONDS)
    for chat in SUBSCRIBERS:
        (sent,) = harness.fake_bot.sent_messages(chat)
        assert _plain(sent.text) == expected.replace(" Long", f" Long #{signal_id}", 1)
    await card.scroll_into_view_if_needed()
    await app.screenshot("card")

    # TP1, behind its question, through the same service as /update.
    await card.get_by_role("button", name="TP1 hit").click()
    await expect(card.locator(".confirm")).to_contain_text(
        f"Report TP1 hit on #{signal_id} at 67000?"
    )
    assert await count(harness, SignalUpdate) == 0
    await app.screenshot("confirm-tp1")
    await card.get_by_role("button", name="Report TP1").click()
    card = page.locator(f'#desk [data-signal-id="{signal_id}"]')
    await expect(card.locator(".card-status")).to_have_text(
        "Recorded: 2 subscribers will be told."
    )
    await expect(card.locator(".badge")).to_have_text("TP1 hit")
    await expect(card.locator(".update-buttons button")).to_have_text(
        ["TP2 hit", "Stop hit", "Close at a price…"]
    )
    await expect(card).to_contain_text("+1.33R")
    assert await count(harness, SignalUpdate) == 1
    await harness.deliver(wait=5)
    for chat in SUBSCRIBERS:
        original, follow_up = harness.fake_bot.sent_messages(chat)
        assert follow_up.params["reply_parameters"]["message_id"] == original.message_id
    await app.screenshot("after-tp1")

    # Close at a price: asked for, checked by /update's rules, shown at the price.
    await card.get_by_role("button", name="Close at a price…").click()
    price = card.get_by_label("Exit price")
    await expect(price).to_be_focused()
    await price.fill("68,000")
    await card.get_by_role("button", name="Close the trade").click()
    await expect(price).to_have_attribute("aria-invalid", "true")
    await expect(card.locator(".confirm .field-error")).to_contain_text(
        "close price must be a positive number"
    )
    await price.fill("68000")
    await price.press("Enter")
    await expect(card.locator(".badge")).to_have_text("Closed")
    await expect(card.locator(".update-buttons")).to_be_hidden()
    await expect(card).to_contain_text("+2.00R")
    assert await count(harness, SignalUpdate) == 2
    await app.assert_clean()


@pytest.fixture(params=["light", "dark"])
def scheme(request: pytest.FixtureRequest) -> Scheme:
    value: Scheme = request.param
    return value


# --- mistakes at their fields ----------------------------------------------------------------


async def test_a_mistake_shows_at_its_field(harness: Harness, browser: Browser) -> None:
    await give_access(harness, SUBSCRIBERS[0])
    app = await open_composer(browser, harness.base_url)
    page = app.page
    await fill_signal(app)
    await expect(page.locator("#composer-post")).to_be_visible()

    # The stop on the wrong side for a short: at the stop, and no message, no Post.
    await page.locator("label[for=composer-short]").click()
    await expect(tp_row(page, 1).locator("output")).to_have_text("−1.33R")
    stop = page.get_by_label("Stop loss")
    await expect(stop).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#composer-stop-error")).to_have_text(
        "for a short, sl must be above the entry"
    )
    await expect(page.locator("#composer-message")).to_be_hidden()
    await expect(page.locator("#composer-post")).to_be_hidden()
    await expect(page.locator("#composer-status")).to_have_text(
        "Fix the marked field to see the message."
    )
    await app.screenshot("error-stop")
    await page.locator("label[for=composer-long]").click()
    await expect(stop).not_to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#composer-post")).to_be_visible()

    # A target below the entry of a long: at its own row.
    await page.get_by_label("Take-profit 2").fill("64000")
    await expect(tp_row(page, 2).locator(".field-error")).to_have_text(
        "for a long, every tp must be above the entry"
    )
    await expect(page.get_by_label("Take-profit 2")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Take-profit 1")).not_to_have_attribute("aria-invalid", "true")
    await page.get_by_role("button", name="Remove TP2").click()
    await expect(page.locator("#composer-tp-rows li")).to_have_count(1)
    await expect(page.locator("#composer-post")).to_be_visible()

    # Leverage, the timeframe, the note, a zone upside down: each at its field.
    for label, value, error_box in (
        ("Leverage", "500", "#composer-leverage-error"),
        ("Timeframe", "soon", "#composer-timeframe-error"),
        ("Note", "take profit at the top", "#composer-note-error"),
    ):
        box = page.get_by_label(label)
        before = await box.input_value()
        await box.fill(value)
        await expect(page.locator(error_box)).to_be_visible()
        await expect(box).to_have_attribute("aria-invalid", "true")
        await box.fill(before)
        await expect(page.locator(error_box)).to_be_hidden()
    await page.get_by_label("A zone: two prices").check()
    await page.get_by_label("Upper end of the entry zone").fill("64000")
    await expect(page.locator("#composer-entry-error")).to_have_text(
        "an entry range goes from low to high, e.g. 3400-3450"
    )

    # Up to the syntax's most take-profits, and no more.
    await page.get_by_label("A zone: two prices").uncheck()
    add = page.get_by_role("button", name="Add a take-profit")
    for _ in range(MAX_TAKE_PROFITS - 1):
        await add.click()
    await expect(page.locator("#composer-tp-rows li")).to_have_count(MAX_TAKE_PROFITS)
    await expect(add).to_be_disabled()
    await expect(page.locator("#composer-max-tps")).to_have_text(
        f"At most {MAX_TAKE_PROFITS} take-profits."
    )
    assert await count(harness, Signal) == 0
    await app.assert_clean()


async def test_the_eighth_signal_in_a_minute_waits(harness: Harness, browser: Browser) -> None:
    await give_access(harness, SUBSCRIBERS[0])
    for n in range(7):
        await publish_signal(harness, f"ETHUSDT long entry 340{n} sl 3300 tp 3500")
    app = await open_composer(browser, harness.base_url)
    page = app.page
    await expect(page.locator("#desk .desk-card")).to_have_count(7)
    await fill_signal(app)
    await page.locator("#composer-post").click()
    await page.get_by_role("button", name="Post now").click()
    problem = page.locator("#composer-confirm .field-error")
    await expect(problem).to_contain_text("Not posted: too many signals went out in the last")
    text = await problem.text_content() or ""
    assert text.rstrip(".").split(" in ")[-1].removesuffix(" s").isdigit(), text
    await expect(page.get_by_role("button", name="Post now")).to_be_enabled()  # still asked
    assert await count(harness, Signal) == 7
    await app.screenshot("too-many")
    await app.assert_clean()


# --- only for admins -------------------------------------------------------------------------


async def test_a_subscriber_never_sees_the_composer(harness: Harness, browser: Browser) -> None:
    await give_access(harness, SUBSCRIBERS[0])
    signal_id = await publish_signal(harness, "BTCUSDT long entry 65000 sl 63500 tp 67000")
    user = {"id": SUBSCRIBERS[0], "first_name": "Sam"}
    app = await open_composer(browser, harness.base_url, user)
    page = app.page
    await expect(page.locator("#tab-signals")).to_have_attribute("aria-selected", "true")
    for hidden in ("#tab-compose", "#panel-compose", "#composer", "#desk"):
        await expect(page.locator(hidden)).to_be_hidden()
    assert not [r for r in app.requests if "/api/v1/admin/" in r]
    # And the API says no, whatever a page would try.
    token = await login(harness, user)
    for method, path, body in (
        ("GET", "/api/v1/admin/signals", None),
        ("POST", "/api/v1/admin/signals/preview", {"text": "BTCUSDT long entry 2 sl 1 tp 3"}),
        ("POST", f"/api/v1/admin/signals/{signal_id}/updates", {"kind": "tp1"}),
    ):
        status, payload, _ = await call(harness, method, path, token=token, body=body)
        assert (status, payload["error"]["code"]) == (403, "not_allowed")
    assert await count(harness, SignalUpdate) == 0
    await app.assert_clean()


# --- the page's R is the track record's ------------------------------------------------------

Case = tuple[str, list[str], str, str]  # side, entries, stop, target
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**7), places=4)
# Ties at the fourth and at the second place, a zone's odd midpoint, a huge R.
EDGES: list[Case] = [
    ("long", ["100"], "99.99995", "100.0001"),
    ("long", ["1"], "0.5", "1.00250"),
    ("short", ["3400", "3450"], "3520", "3300"),
    ("long", ["0.00000001"], "0.000000005", "999999999999"),
]


def _cases() -> list[Case]:
    """Signals of every shape (hypothesis, the same every run), and the edges above."""
    found: list[Case] = []

    @settings(database=None, derandomize=True, max_examples=300, deadline=None)
    @given(
        side=st.sampled_from(["long", "short"]),
        low=prices,
        width=st.one_of(st.just(Decimal(0)), prices),
        stop=prices,
        target=prices,
    )
    def collect(side: str, low: Decimal, width: Decimal, stop: Decimal, target: Decimal) -> None:
        entries = [f"{low:f}"] if not width else [f"{low:f}", f"{low + width:f}"]
        found.append((side, entries, f"{stop:f}", f"{target:f}"))

    collect()
    return found + EDGES


def _expected(side: str, entries: list[str], stop: str, target: str) -> str | None:
    low, high = Decimal(entries[0]), Decimal(entries[-1])
    spec = SignalSpec("BTCUSDT", side, low, high, Decimal(stop), (Decimal(target),))
    if spec.entry_mid == spec.stop_loss:
        return None
    try:
        r = result_at(spec, Decimal(target))[1]
    except ResultOutOfRangeError as error:
        r = error.r.quantize(Decimal("0.0001"), ROUND_HALF_UP)
    shown = r.quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{abs(shown) if shown == 0 else shown:f}"  # Decimal's -0.00 is 0.00 on the page


async def test_the_pages_risk_reward_is_the_track_records(
    harness: Harness, browser: Browser
) -> None:
    app = await open_composer(browser, harness.base_url)
    cases = _cases()
    found = await app.page.evaluate(
        """async (cases) => {
          const { rewardToRisk } = await import("/app/js/risk.js");
          return cases.map(([side, entries, stop, target]) =>
            rewardToRisk(side, entries, stop, target));
        }""",
        cases,
    )
    expected = [_expected(*case) for case in cases]
    wrong = [(c, f, e) for c, f, e in zip(cases, found, expected, strict=True) if f != e]
    assert wrong == [], wrong[:5]
    assert len(cases) > 300
    await app.assert_clean()
