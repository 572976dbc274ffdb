"""Make docs/images/miniapp.png, the README's picture of the Mini App, run by hand:

    .venv/bin/python docs/images/make_screenshots.py      (after `make install-dev`)

The real app against the suite's fake Bot API and fake Stripe (tests/support/harness.py),
on a fresh SQLite file, with a subscriber and a few signals in its feed; Debian's Chromium
(/usr/bin/chromium) driven by Playwright opens the page at phone width with validly signed
initData, as the browser suites do (tests/browser/miniapp_helpers.py), and the feed is
photographed.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
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
from tests.support.harness import (  # noqa: E402
    harness_factory,
    running_fake_bot,
    running_fake_stripe,
)
from tests.support.helpers import give_access, post_signal_update, publish_signal  # noqa: E402

OUT = Path(__file__).resolve().parent / "miniapp.png"
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
        url = f"sqlite+aiosqlite:///{folder}/screenshots.db"
        engine = create_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()
        async with (
            running_fake_bot() as fake_bot,
            running_fake_stripe() as fake_stripe,
            harness_factory(url, fake_bot, fake_stripe) as make_harness,
        ):
            harness = await make_harness()
            await give_access(harness, SUBSCRIBER_ID)
            for line, updates in SIGNALS:
                signal_id = await publish_signal(harness, line)
                for how in updates:
                    await post_signal_update(harness, signal_id, how)
            await photograph(harness.base_url)
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size:,} bytes")  # noqa: T201


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


if __name__ == "__main__":
    asyncio.run(main())
