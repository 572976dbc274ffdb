# ruff: noqa: F811 - the fixtures are imported from miniapp_helpers.py, on the module's loop
"""The Mini App's admin console in real headless Chromium shows each role only its part:
a poster the composer, an analyst the statistics and the exports (without the audit
log's), support the people search without the refund button, an owner everything."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.browser.miniapp_helpers import (
    SUBSCRIBERS,
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
from tests.support.helpers import give_access

POSTER = 7_900_001
SUPPORT = 7_900_002
ANALYST = 7_900_003
ADMIN_TABS = ("#tab-compose", "#tab-stats", "#tab-subscribers")


async def _staffed(make_harness: MakeHarness) -> Harness:
    harness = await make_harness(poster_ids=[POSTER], support_ids=[SUPPORT], analyst_ids=[ANALYST])
    await give_access(harness, *SUBSCRIBERS)
    return harness


async def _only_tabs(page: Page, shown: tuple[str, ...]) -> None:
    for tab in ADMIN_TABS:
        locator = page.locator(tab)
        if tab in shown:
            await expect(locator).to_be_visible()
        else:
            await expect(locator).to_be_hidden()


async def test_a_poster_sees_only_the_composer(
    make_harness: MakeHarness, browser: Browser
) -> None:
    harness = await _staffed(make_harness)
    app = await open_app(browser, harness, person(POSTER, "Poe"))
    page = app.page
    await _only_tabs(page, ("#tab-compose",))
    await page.get_by_role("tab", name="Post").click()
    await expect(page.locator("#composer")).to_be_visible()
    await expect(page.locator("#desk-empty")).to_be_visible()  # GET /admin/signals answered
    # Stats asked for by hand (a stale link) falls back to the feed, and asks nothing.
    await page.evaluate("document.getElementById('tab-stats').click()")
    await expect(page.locator("#panel-stats")).to_be_hidden()
    assert not [r for r in app.requests if r.startswith("GET /api/v1/admin/stats")]
    await app.screenshot("role-poster")
    await app.assert_clean()


async def test_an_analyst_sees_only_statistics_and_exports(
    make_harness: MakeHarness, browser: Browser, tmp_path: Path
) -> None:
    harness = await _staffed(make_harness)
    app = await open_app(browser, harness, person(ANALYST, "Ana"))
    page = app.page
    await _only_tabs(page, ("#tab-stats",))
    await page.click("#tab-stats")
    await expect(page.locator("#stat-access")).to_contain_text("2")
    exports = page.locator("#exports")
    await expect(exports).to_be_visible()
    await expect(exports.locator("button")).to_have_text(["Subscribers", "Payments", "Signals"])
    async with page.expect_download() as download_info:
        await page.click("#export-subscribers")
    download = await download_info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert download.suggested_filename.startswith("subscribers-")
    assert str(SUBSCRIBERS[0]) in saved.read_text(encoding="utf-8")
    await app.screenshot("role-analyst")
    await app.assert_clean()


async def test_support_sees_the_people_search_without_refunds(
    make_harness: MakeHarness, browser: Browser
) -> None:
    harness = await _staffed(make_harness)
    app = await open_app(browser, harness, person(SUPPORT, "Sue"))
    page = app.page
    await _only_tabs(page, ("#tab-subscribers",))
    await page.get_by_role("tab", name="Subscribers").click()
    search = page.get_by_label("Find a subscriber")
    await search.fill(str(SUBSCRIBERS[0]))
    await search.press("Enter")
    await page.locator("#people-results .person-button").first.click()
    await expect(page.locator("#person")).to_contain_text("Stripe: Active")
    await expect(page.locator("#person-refund")).to_have_count(0)
    await app.assert_clean()


async def test_an_owner_sees_every_tab_and_the_audit_export(
    make_harness: MakeHarness, browser: Browser
) -> None:
    harness = await _staffed(make_harness)
    app = await open_app(browser, harness, person(ADMIN_ID, "Ada"))
    page = app.page
    await _only_tabs(page, ADMIN_TABS)
    await page.click("#tab-stats")
    await expect(page.locator("#exports button")).to_have_text(
        ["Subscribers", "Payments", "Signals", "Audit log"]
    )
    await app.assert_clean()
