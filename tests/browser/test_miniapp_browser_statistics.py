# ruff: noqa: F811 - the fixtures are imported from miniapp_helpers.py, on the module's loop
"""The Mini App's statistics (issue 28) in real headless Chromium at phone width, light and
dark: the figures as bot/signals/statistics.py computed them (the page formats them), the
simulated portfolio with its method, holding BTC beside it with PRICE_SOURCE (the fake
exchange's daily closes, the public page's figure), and R by month drawn as bars beside the
equity curve in R, each an SVG the page's own script builds."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from playwright.async_api import Browser, expect

from bot.signals import service, statistics
from bot.signals.syntax import parse_signal
from bot.signals.updates import parse_update
from tests.browser.miniapp_helpers import (
    SUBSCRIBERS,
    VIEWPORT,
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
from tests.support.fakes.exchange import FakeExchange
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import give_access

NOW = datetime.now(UTC)
# Closed 70 and 35 days ago and now (each more than a month apart): +2R, -1R, +3R, in three
# calendar months or four.
SERIES = [
    ("BTCUSDT long entry 100 sl 90 tp 120", "tp1", 70),  # +2R
    ("ETHUSDT short entry 50 sl 55 tp 40", "sl", 35),  # -1R
    ("SOLUSDT long entry 20 sl 19 tp 21 25", "close 23", 0),  # +3R
]


@pytest_asyncio.fixture(loop_scope="module")
async def exchange() -> AsyncIterator[FakeExchange]:
    async with FakeExchange() as fake:
        fake.market("BTCUSDT", "BTC", "USDT")
        yield fake


async def _months_of_signals(harness: Harness) -> list[str]:
    """The series, each published an hour before it closes; the months of R the server
    computes for them (statistics.monthly_r, which the Mini App is sent)."""
    for line, how, days in SERIES:
        closed = NOW - timedelta(days=days)
        async with harness.session() as session, session.begin():
            draft = await service.create_draft(session, parse_signal(line), ADMIN_ID)
            await service.publish(session, draft.id, closed - timedelta(hours=1))
        async with harness.session() as session, session.begin():
            update = parse_update(f"{draft.id} {how}")
            await service.post_update(session, update, ADMIN_ID, closed)
    async with harness.session() as session:
        closed_rows = await service.closed_signals(session)
    return list(statistics.monthly_r(statistics.trades_of(closed_rows)))


async def test_the_statistics_and_the_monthly_bars_light_and_dark(
    harness: Harness, browser: Browser
) -> None:
    months = await _months_of_signals(harness)
    assert 3 <= len(months) <= 4  # noqa: PLR2004 - 70 days span three months or four
    await give_access(harness, SUBSCRIBERS[0])
    for scheme in ("light", "dark"):
        app = await open_app(browser, harness, person(SUBSCRIBERS[0], "Sam"), scheme=scheme)
        page = app.page
        await page.click("#tab-performance")
        figures = page.locator("#perf-figures")
        # 2, -1, 3: two of three won, profit factor 5 / 1, expectancy 2/3 x 2.5 - 1/3 x 1.
        await expect(figures).to_contain_text("Win rate66.7%")
        await expect(figures).to_contain_text("Profit factor5.00")
        await expect(figures).to_contain_text("Expectancy+1.33R")
        await expect(figures).to_contain_text("Maximum drawdown\u22121.00R")
        await expect(figures).to_contain_text("Longest losing streak1")
        # 10,000 x 1.02 x 0.99 x 1.03 = 10,400.94
        await expect(page.locator("#perf-portfolio")).to_contain_text(
            "10,000 became 10,400.94 (+4.01%)"
        )
        await expect(page.locator("#perf-method")).to_contain_text(
            "1% of the balance risked on each signal in closing order"
        )
        await expect(page.locator("#perf-holding")).to_be_hidden()  # no PRICE_SOURCE
        bars = page.get_by_role("img", name=re.compile(r"^R by month"))
        await expect(bars).to_have_id("months-svg")
        await expect(bars.locator("rect")).to_have_count(len(months))
        await expect(bars.locator("rect.bar-neg")).to_have_count(1)
        await expect(bars).to_have_attribute(
            "aria-label", re.compile(rf"From {months[0]} to {months[-1]}: best month \+3\.00R")
        )
        await expect(page.locator("svg#equity-svg path.line")).to_have_count(1)
        for chart in ("#months-svg", "#equity-svg", "#perf-stats"):
            box = await page.locator(chart).bounding_box()
            assert box is not None and box["width"] <= VIEWPORT["width"], chart
        negative = await bars.locator("rect.bar-neg").evaluate("r => getComputedStyle(r).fill")
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert negative != background
        await app.screenshot(f"statistics-{scheme}")
        await app.assert_clean()


async def test_no_signal_closed_yet_hides_the_statistics(
    harness: Harness, browser: Browser
) -> None:
    await give_access(harness, SUBSCRIBERS[0])
    app = await open_app(browser, harness, person(SUBSCRIBERS[0], "Sam"))
    await app.page.click("#tab-performance")
    await expect(app.page.locator("#months-chart")).to_contain_text(
        "The months appear with the first closed signal."
    )
    await expect(app.page.locator("#perf-stats")).to_be_hidden()
    await app.assert_clean()


async def test_holding_btc_beside_the_portfolio_with_a_price_source(
    make_harness: MakeHarness, exchange: FakeExchange, browser: Browser
) -> None:
    harness = await make_harness(
        price_source="binance", price_api_base=exchange.base_url, outcomes="manual"
    )
    first = NOW - timedelta(days=SERIES[0][2], hours=1)  # the first one's publication
    for late in (timedelta(0), timedelta(days=1)):  # the same if midnight passes meanwhile
        exchange.day("BTCUSDT", first + late, 40_000)
        exchange.day("BTCUSDT", NOW + late, 50_000)
    await _months_of_signals(harness)
    await give_access(harness, SUBSCRIBERS[0])
    app = await open_app(browser, harness, person(SUBSCRIBERS[0], "Sam"))
    await app.page.click("#tab-performance")
    # 10,000 in BTC at 40,000, valued at 50,000: the public page's 12,500 (+25 %).
    await expect(app.page.locator("#perf-holding")).to_have_text(
        "Holding BTC over the same period instead: 10,000 became 12,500.00 (+25.00%)."
    )
    await app.assert_clean()
