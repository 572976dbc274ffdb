# ruff: noqa: F811 - the fixtures are imported from miniapp_helpers.py, on the module's loop
"""The risk disclaimer in the Mini App, in real headless Chromium at a phone's width: a
first Subscribe (Stripe Checkout or Stars) shows the text with Accept; Back makes nothing;
Accept records it and goes on to pay."""

from __future__ import annotations

from playwright.async_api import Browser, expect
from sqlalchemy import select

from bot.texts import disclaimer
from db.models import Consent
from tests.browser.miniapp_helpers import (
    OUTSIDER,
    SUBSCRIBERS,
    VIEWPORT,
    WAIT_MS,
    browser,  # noqa: F401 - a fixture
    chromium,  # noqa: F401 - a fixture
    fake_bot,  # noqa: F401 - a fixture
    fake_stripe,  # noqa: F401 - a fixture
    make_harness,  # noqa: F401 - a fixture
    open_app,
    person,
    pytestmark,  # noqa: F401 - the tests run on the module's loop
)
from tests.support.harness import ADMIN_ID, Harness, MakeHarness

SUBSCRIBER = SUBSCRIBERS[0]


async def _accepted(harness: Harness) -> list[tuple[int, str]]:
    async with harness.session() as session:
        return [(c.user_id, c.version) for c in await session.scalars(select(Consent))]


async def test_accept_before_checkout(make_harness: MakeHarness, browser: Browser) -> None:
    harness = await make_harness(stars_price=250, auto_consent=False)
    app = await open_app(browser, harness, person(OUTSIDER, "Olga"))
    page = app.page
    assert VIEWPORT["width"] <= 400  # a phone

    subscribe = page.get_by_role("button", name="Subscribe to Pro Signals — $49.00 / month")
    await subscribe.click()
    slot = page.locator("#consent-slot")
    await expect(slot).to_contain_text("Trading is risky")
    accept = slot.get_by_role("button", name="I accept")
    await expect(accept).to_be_focused()
    await app.screenshot("consent")
    assert harness.fake_stripe.checkout_sessions == {} and await _accepted(harness) == []

    # Back: nothing made, nothing recorded, the plans usable again.
    await slot.get_by_role("button", name="Back").click()
    await expect(slot.get_by_role("button", name="I accept")).to_have_count(0)
    await expect(subscribe).to_be_enabled()
    assert harness.fake_stripe.checkout_sessions == {} and await _accepted(harness) == []

    await subscribe.click()
    await slot.get_by_role("button", name="I accept").click()
    await page.wait_for_function("() => window.__opened.length > 0", timeout=WAIT_MS)
    (url,) = await page.evaluate("window.__opened")
    (session,) = harness.fake_stripe.checkout_sessions.values()
    assert session["url"] == url
    assert await _accepted(harness) == [(OUTSIDER, disclaimer.version())]
    await expect(slot.get_by_role("button", name="I accept")).to_have_count(0)

    # Accepted once: Stars goes straight to the invoice.
    await page.get_by_role("button", name="Pay 250 Stars for 30 days").click()
    await page.wait_for_function("() => window.__invoices.length > 0", timeout=WAIT_MS)
    await expect(slot.get_by_role("button", name="I accept")).to_have_count(0)
    await app.assert_clean()


async def test_accept_before_stars(make_harness: MakeHarness, browser: Browser) -> None:
    harness = await make_harness(stars_price=250, payment_rails="stars", auto_consent=False)
    app = await open_app(browser, harness, person(OUTSIDER, "Olga"))
    page = app.page
    await page.get_by_role("button", name="Pay 250 Stars for 30 days").click()
    slot = page.locator("#consent-slot")
    await expect(slot).to_contain_text("Trading is risky")
    assert harness.fake_bot.calls_for("createInvoiceLink") == []
    await slot.get_by_role("button", name="I accept").click()
    await page.wait_for_function("() => window.__invoices.length > 0", timeout=WAIT_MS)
    assert len(harness.fake_bot.calls_for("createInvoiceLink")) == 1
    assert await _accepted(harness) == [(OUTSIDER, disclaimer.version())]
    await app.assert_clean()


async def test_the_admin_sees_the_acceptance(make_harness: MakeHarness, browser: Browser) -> None:
    harness = await make_harness(auto_consent=False)
    await harness.send_text(OUTSIDER, "/start", first_name="Olga")
    await harness.send_text(SUBSCRIBER, "/start", first_name="Sam")
    await harness.accept_disclaimer(OUTSIDER)
    app = await open_app(browser, harness, person(ADMIN_ID, "Ada"))
    page = app.page
    for user_id, expected in (
        (OUTSIDER, f"version {disclaimer.version()}"),
        (SUBSCRIBER, "not accepted"),
    ):
        await page.get_by_role("tab", name="Subscribers").click()
        await page.get_by_label("Find a subscriber").fill(str(user_id))
        await page.get_by_role("button", name="Search").click()
        await page.locator("#people-results .person-button").first.click()
        await expect(page.locator("#person-consent")).to_contain_text(expected)
        await page.evaluate("Telegram.WebApp.BackButton.click()")
    await app.assert_clean()
