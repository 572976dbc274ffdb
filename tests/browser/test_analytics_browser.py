# ruff: noqa: F811 - the fixtures are imported from miniapp_helpers.py, on the module's loop
"""The Mini App's Analytics section in real headless Chromium at phone width, for an admin,
over a history told in signed Stripe webhooks: MRR by rail, the subscribers-in-and-out
chart (drawn by the page as SVG) by month and by week, the rates, revenue by plan and by
month, the cohorts; nothing wider than the phone."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.miniapp_helpers import (
    browser,  # noqa: F401 - a fixture
    chromium,  # noqa: F401 - a fixture
    fake_bot,  # noqa: F401 - a fixture
    fake_stripe,  # noqa: F401 - a fixture
    harness,  # noqa: F401 - a fixture
    make_harness,  # noqa: F401 - a fixture
    open_app,
    person,
    pytestmark,  # noqa: F401 - the tests run on the module's loop
)
from tests.flows.analytics_helpers import stripe_story
from tests.support.harness import ADMIN_ID, Harness


async def test_admin_reads_the_analytics_with_charts(harness: Harness, browser: Browser) -> None:
    await stripe_story(harness)
    app = await open_app(browser, harness, person(ADMIN_ID, "Ada"))
    page = app.page
    await page.click("#tab-stats")

    # Ana monthly and Cat upgraded to yearly (49000 / 12): 4900 + 4083.33 cents a month.
    await expect(page.locator("#analytics-mrr")).to_contain_text("Card (Stripe)")
    await expect(page.locator("#analytics-mrr")).to_contain_text("$89.83")
    await expect(page.locator("#analytics-paying .big")).to_have_text("2")

    chart = page.locator("#movement-svg")
    await expect(chart).to_be_visible()
    # Ana, Cat, Don in; Don out, his payment failed and never recovered.
    label = "New 3 · Cancelled 0 · Payment failed 1 · Net 2"
    await expect(chart).to_have_attribute("aria-label", f"{page_title(label)}")
    assert await chart.locator("rect.bar-pos").count() >= 1
    assert await chart.locator("rect.bar-neg").count() == 1
    await expect(page.locator("#analytics-unit-month")).to_have_attribute("aria-pressed", "true")
    await page.click("#analytics-unit-week")
    await expect(page.locator("#analytics-unit-week")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#movement-svg")).to_be_visible()
    assert await page.locator("#movement-svg rect.bar-neg").count() == 1

    await expect(page.locator("#analytics-trials")).to_contain_text("50%")
    await expect(page.locator("#analytics-trials")).to_contain_text("1 of 2")
    await expect(page.locator("#analytics-dunning")).to_contain_text("1 of 2")
    await expect(page.locator("#analytics-revenue")).to_contain_text("Pro Signals Yearly")
    await expect(page.locator("#analytics-revenue")).to_contain_text("$490.00")
    await expect(page.locator("#revenue-svg-usd")).to_be_visible()
    cohorts = page.locator("#analytics-cohorts tbody tr")
    assert await cohorts.count() >= 1
    await expect(page.locator("#analytics-cohorts")).to_contain_text("100%")
    await expect(page.locator("#analytics-body figcaption")).to_have_text(
        "Net revenue by month · USD"
    )
    await app.screenshot("analytics")  # and nothing is wider than the phone
    await app.assert_clean()  # no script error, no CSP violation


def page_title(description: str) -> str:
    """The chart's accessible name: its title, then its description."""
    return "New (up) and churned (down) per period; net as a line. " + description
