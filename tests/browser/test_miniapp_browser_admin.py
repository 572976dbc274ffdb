# ruff: noqa: F811 - the fixtures are imported from miniapp_helpers.py, on the module's loop
"""The Mini App in real headless Chromium against the real app, fake Bot API and fake Stripe,
for an admin: compose, preview, send and progress, stats, finding a subscriber and their
timeline, and a signal's syntax error shown with nothing stored.
"""

from __future__ import annotations

from playwright.async_api import Browser, expect

from db.models import OutboxMessage, Signal
from tests.browser.miniapp_helpers import (
    LINE,
    SUBSCRIBERS,
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
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import count, give_access


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
        assert "BTC/USDT" in message.text and "65000" in message.text
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
