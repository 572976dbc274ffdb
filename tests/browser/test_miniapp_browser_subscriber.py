# ruff: noqa: F811 - the fixtures are imported from miniapp_helpers.py, on the module's loop
"""The Mini App in real headless Chromium against the real app, fake Bot API and fake Stripe,
for a subscriber: the feed, the locked feed and checkout, paying in Stars inside the app
(and an admin refunding it from the timeline), notification settings; and outside
Telegram.
"""

from __future__ import annotations

from playwright.async_api import Browser, expect

from db.models import User
from tests.browser.miniapp_helpers import (
    OUTSIDER,
    SUBSCRIBERS,
    WAIT_MS,
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
from tests.support import stars_player
from tests.support.harness import ADMIN_ID, PRICE_MONTHLY, Harness, MakeHarness
from tests.support.helpers import give_access

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
