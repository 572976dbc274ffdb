"""Make the documentation's pictures of the Mini App, run by hand:

    .venv/bin/python docs/images/make_screenshots.py      (after `make install-dev`)

The real app against the suite's fake Bot API and fake Stripe (tests/support/harness.py),
on a fresh SQLite file, with a subscriber and a few signals in its feed; Debian's Chromium
(/usr/bin/chromium) driven by Playwright opens the page at phone width with validly signed
initData, as the browser suites do (tests/browser/miniapp_helpers.py). docs/images/miniapp.png
is the README's, the feed; composer-light.png and composer-dark.png are docs/miniapp.md's,
the admins' composer as tests/browser/test_composer_browser.py drives it (390 px wide): the
form with its message, and a posted signal's card with its delivery report and TP1 asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.async_api import Route, async_playwright, expect  # noqa: E402

from db import migrate  # noqa: E402
from db.engine import create_engine  # noqa: E402
from tests.browser.miniapp_helpers import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    TELEGRAM_JS,
    VIEWPORT,
    telegram_stub,
)
from tests.browser.test_composer_browser import fill_signal, open_composer  # noqa: E402
from tests.support.fakes.bot_api import FakeBotAPI  # noqa: E402
from tests.support.fakes.stripe_api import FakeStripe  # noqa: E402
from tests.support.harness import (  # noqa: E402
    Harness,
    harness_factory,
    running_fake_bot,
    running_fake_stripe,
)
from tests.support.helpers import give_access, post_signal_update, publish_signal  # noqa: E402

OUT = Path(__file__).resolve().parent / "miniapp.png"
COMPOSER = Path(__file__).resolve().parent / "composer-{scheme}.png"
SUBSCRIBER_ID = 7301
SUBSCRIBER = {"id": SUBSCRIBER_ID, "first_name": "Sam", "username": "sam_trades"}
# Oldest first: the feed shows the newest at the top.
SIGNALS = [
    ("LINKUSDT long entry 14.2 sl 13.6 tp 15.0 15.8", ["tp1", "tp2"]),
    ("SOLUSDT long entry 142 sl 136 tp 150 158 tf 4h", ["sl"]),
    ("ETHUSDT short entry 3400-3450 sl 3520 tp 3300 3200 3100", ["tp1", "tp2", "tp3"]),
    ("XRPUSDT long entry 0.52 sl 0.49 tp 0.56 0.60 tf 1d", ["close 0.575"]),
    ("BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h note breakout retest", ["tp1"]),
    ("BNBUSDT short entry 610 sl 628 tp 590 575 tf 1h", []),
]


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with running_fake_bot() as fake_bot, running_fake_stripe() as fake_stripe:
            async with app_on(folder, "feed", fake_bot, fake_stripe) as harness:
                await give_access(harness, SUBSCRIBER_ID)
                for line, updates in SIGNALS:
                    signal_id = await publish_signal(harness, line)
                    for how in updates:
                        await post_signal_update(harness, signal_id, how)
                await photograph(harness.base_url)
            # The composer on a bot of its own: two subscribers, nothing waiting to go out.
            async with app_on(folder, "composer", fake_bot, fake_stripe) as harness:
                await give_access(harness, SUBSCRIBER_ID, SUBSCRIBER_ID + 1)
                await photograph_composer(harness)
    for path in (OUT, *(Path(str(COMPOSER).format(scheme=s)) for s in ("light", "dark"))):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")  # noqa: T201


@contextlib.asynccontextmanager
async def app_on(
    folder: str, name: str, fake_bot: FakeBotAPI, fake_stripe: FakeStripe
) -> AsyncIterator[Harness]:
    """The app on a fresh SQLite file of its own."""
    url = f"sqlite+aiosqlite:///{folder}/{name}.db"
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    async with harness_factory(url, fake_bot, fake_stripe) as make_harness:
        yield await make_harness()


async def photograph(base_url: str) -> None:
    stub = telegram_stub(SUBSCRIBER)

    async def route(route: Route) -> None:
        if route.request.url == TELEGRAM_JS:
            await route.fulfill(status=200, content_type="text/javascript", body=stub)
        elif route.request.url.startswith(base_url + "/"):
            await route.continue_()
        else:
            await route.abort("blockedbyclient")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        context = await browser.new_context(
            viewport=VIEWPORT,
            device_scale_factor=1.5,
            color_scheme="light",
            locale="en-US",
            timezone_id="UTC",
            reduced_motion="reduce",
        )
        await context.route("**/*", route)
        page = await context.new_page()
        await page.goto(f"{base_url}/app/")
        await expect(page.locator("#feed li")).to_have_count(len(SIGNALS))
        await page.wait_for_timeout(300)  # fonts and layout settle
        await page.screenshot(path=OUT)
        await browser.close()


async def photograph_composer(harness: Harness) -> None:
    """Light: the form filled in and the message it makes. Dark: the signal posted from it,
    delivered, its card with the report and TP1 being asked."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        light = await open_composer(browser, harness.base_url, scale=1.5)
        await fill_signal(light)
        await expect(light.page.locator("#composer-post")).to_be_visible()
        await light.page.evaluate("document.activeElement.blur()")  # no focus ring
        # From the form's top to the message's card's bottom, in the page's coordinates.
        clip = await light.page.evaluate(
            """(() => {
              const top = document.getElementById("composer").getBoundingClientRect();
              const end = document.getElementById("composer-preview").getBoundingClientRect();
              const y = top.top + window.scrollY - 8;
              return {x: 0, y: y, width: 390, height: end.bottom + window.scrollY + 8 - y};
            })()"""
        )
        await light.page.screenshot(
            path=str(COMPOSER).format(scheme="light"), clip=clip, full_page=True
        )
        await light.page.locator("#composer-post").click()
        await light.page.get_by_role("button", name="Post now").click()
        await expect(light.page.locator("#composer-status")).to_contain_text("is out")
        await harness.deliver()
        dark = await open_composer(browser, harness.base_url, scheme="dark", scale=1.5)
        card = dark.page.locator("#desk .desk-card").first
        await expect(card.locator(".delivery")).to_have_attribute("data-done", "true")
        await card.get_by_role("button", name="TP1 hit").click()
        await expect(card.locator(".confirm")).to_be_visible()
        await dark.page.locator("#desk-title").scroll_into_view_if_needed()
        await dark.page.wait_for_timeout(300)  # fonts and layout settle
        await dark.page.screenshot(path=str(COMPOSER).format(scheme="dark"))
        await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
