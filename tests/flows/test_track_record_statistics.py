"""The public track record's statistics (issue 28), on both databases: every figure from
bot/signals/statistics.py over the closed signals (the same numbers GET /api/v1/performance
carries), by month, symbol, side and timeframe, the simulated portfolio with its method;
nothing of an open signal. Beside the portfolio, holding BTC over the same period when
PRICE_SOURCE is set, its daily closes read from the fake exchange over real HTTP, once
(cached), "unavailable" while the exchange cannot say, and a plain line without a source;
the same figure from the same cache in the Mini App's API and in /performance."""

# ruff: noqa: F811 - `exchange` is a fixture imported from outcomes_helpers.py

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.outcomes import benchmark
from bot.outcomes.benchmark import Holdings
from bot.outcomes.exchange import open_feed
from bot.signals import service, statistics
from bot.signals.statistics import Holding, Trade
from bot.signals.syntax import parse_signal
from tests.flows.outcomes_helpers import exchange
from tests.support.api_client import call, login
from tests.support.fakes.exchange import FakeExchange
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import post_signal_update, publish_signal
from webapp.keys import HOLDINGS

__all__ = ["exchange"]

DAYS_AGO = 3
READER = 7301  # someone without a subscription: the record is open to everyone


async def _page(harness: Harness) -> str:
    async with harness.http.get(harness.base_url + "/track-record?lang=en") as response:
        assert response.status == 200
        return await response.text()


async def _three_closed(harness: Harness) -> None:
    """+2R, -1R, +1R in closing order (entry 65000, stop 63500: 1,500 a risk), the first
    published three days ago; and one still open."""
    async with harness.session() as session, session.begin():
        draft = await service.create_draft(
            session, parse_signal("BTCUSDT long entry 65000 sl 63500 tp 70000 tf 4h"), ADMIN_ID
        )
        await service.publish(session, draft.id, datetime.now(UTC) - timedelta(days=DAYS_AGO))
    await post_signal_update(harness, draft.id, "close 68000")  # +2R
    loss = await publish_signal(harness, "ETHUSDT short entry 3400 sl 3500 tp 3000")
    await post_signal_update(harness, loss, "sl")  # -1R
    win = await publish_signal(harness, "BTCUSDT long entry 65000 sl 63500 tp 70000 tf 4h")
    await post_signal_update(harness, win, "close 66500")  # +1R
    await publish_signal(harness, "XRPUSDT long entry 1.2345 sl 0.9876 tp 1.5555")  # open


async def test_the_page_shows_every_figure_from_the_statistics(harness: Harness) -> None:
    await _three_closed(harness)
    body = await _page(harness)
    section = body.split('<section class="statistics"')[1].split("</section>")[0]
    # Worked out by hand: 2, -1, 1.
    for label, value in [
        ("Win rate", "66.7%"),  # 2 of 3
        ("Average per signal", "+0.67R"),  # 2 / 3
        ("Expectancy", "+0.67R"),  # 2/3 x 1.5 - 1/3 x 1
        ("Profit factor", "3"),  # 3 / 1
        ("Maximum drawdown", "-1R"),  # 2 -> 1
        ("Longest losing streak", "1"),
        ("Sharpe ratio (monthly R, yearly)", "—"),  # one month: no spread yet
    ]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in section, label
    # 10,000 x 1.02 x 0.99 x 1.01 = 10,198.98; the largest fall 10,200 -> 10,098, 1 %.
    assert "Simulated portfolio: 10,000 became 10,198.98 (+1.99%), its largest fall 1%." in (
        section
    )
    assert "How: 1% of the current balance risked on each signal" in section
    assert "No comparison with holding BTC: no exchange is set" in section
    month = datetime.now(UTC).strftime("%Y-%m")
    by_symbol = section.split('class="by by-symbol"')[1].split("</table>")[0]
    assert '<th scope="row">BTCUSDT</th><td>2</td><td>100%</td><td>+1.5R</td><td>+3R</td>' in (
        by_symbol
    )
    assert f'<th scope="row">{month}</th><td>3</td>' in section  # all three closed now
    assert '<th scope="row">LONG</th>' in section and '<th scope="row">SHORT</th>' in section
    assert '<th scope="row">4h</th>' in section and '<th scope="row">—</th>' in section
    for leak in ("XRPUSDT", "1.2345", "0.9876", "1.5555"):
        assert leak not in body


async def test_the_same_figures_as_the_statistics_module(harness: Harness) -> None:
    """The page writes what statistics.figures says for the closed signals (no sum of its
    own): changing a stored result changes the page the same way."""
    await _three_closed(harness)
    async with harness.session() as session:
        figures = statistics.figures(statistics.trades_of(await service.closed_signals(session)))
    body = await _page(harness)
    assert f"<dt>Expectancy</dt><dd>+{figures.expectancy_r}R</dd>" in body
    assert figures.expectancy_r is not None


async def test_an_empty_record_has_no_statistics(harness: Harness) -> None:
    assert 'class="statistics"' not in await _page(harness)


async def test_holding_btc_beside_the_portfolio_from_the_exchange(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    harness = await make_harness(
        price_source="binance", price_api_base=exchange.base_url, outcomes="manual"
    )
    now = datetime.now(UTC)
    for late in (timedelta(0), timedelta(days=1)):  # the same if midnight passes meanwhile
        exchange.day("BTCUSDT", now - timedelta(days=DAYS_AGO) + late, 40_000)
        exchange.day("BTCUSDT", now + late, 50_000)
    await _three_closed(harness)
    body = await _page(harness)
    # 10,000 in BTC at 40,000 is 0.25 BTC; at 50,000, 12,500: +25 %.
    assert "Holding BTC over the same period instead: 10,000 became 12,500 (+25%)." in body
    assert "How: BTC/USDT bought at the daily close of" in body
    assert "(40,000) and valued at the daily close of" in body and "(50,000); no fees." in body
    asked = exchange.klines_asked("BTCUSDT")
    assert asked == 2  # the two days' closes
    for _ in range(3):
        assert "10,000 became 12,500 (+25%)" in await _page(harness)
    assert exchange.klines_asked("BTCUSDT") == asked  # cached: no request per view


async def _statistics(harness: Harness) -> dict[str, Any]:
    token = await login(harness, {"id": READER, "first_name": "Rae"})
    status, body, _ = await call(harness, "GET", "/api/v1/performance", token=token)
    assert status == 200
    figures: dict[str, Any] = body["statistics"]
    return figures


async def _performance(harness: Harness) -> str:
    await harness.send_text(READER, "/performance")
    return harness.last_reply(READER).text


async def test_the_mini_app_and_performance_show_the_pages_holding(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    """GET /api/v1/performance and /performance carry the page's holding figure, from the
    one cache the composition root builds (the exchange asked once for all three)."""
    harness = await make_harness(
        price_source="binance", price_api_base=exchange.base_url, outcomes="manual"
    )
    assert harness.parts.dispatcher["holdings"] is harness.parts.web_app[HOLDINGS]
    now = datetime.now(UTC)
    for late in (timedelta(0), timedelta(days=1)):
        exchange.day("BTCUSDT", now - timedelta(days=DAYS_AGO) + late, 40_000)
        exchange.day("BTCUSDT", now + late, 50_000)
    await _three_closed(harness)
    assert "10,000 became 12,500 (+25%)" in await _page(harness)
    held = (await _statistics(harness))["holding"]
    assert (held["pair"], held["start"], held["end"]) == ("BTC/USDT", "10000", "12500.00")
    prices = (Decimal(held["first_price"]), Decimal(held["last_price"]))
    assert prices == (Decimal(40_000), Decimal(50_000)) and held["return_pct"] == "25.00"
    assert held["first"] < held["last"]
    text = await _performance(harness)
    assert "Holding BTC over the same period instead: 10,000 → 12,500.00 (+25.00 %)" in text
    assert "Risking 1 % of the balance on each signal: 10,000 → 10,198.98 (+1.99 %)" in text
    assert exchange.klines_asked("BTCUSDT") == 2  # the page's two reads, no more


async def test_without_a_price_source_the_mini_app_and_performance_say_nothing_of_it(
    harness: Harness,
) -> None:
    await _three_closed(harness)
    assert HOLDINGS not in harness.parts.web_app
    assert harness.parts.dispatcher["holdings"] is None
    assert "holding" not in await _statistics(harness)
    text = await _performance(harness)
    assert "Risking 1 % of the balance" in text and "Holding" not in text and "BTC" not in text


async def test_no_price_for_a_day_is_said_and_the_rest_stands(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    """The exchange answers but has no daily candle for the first day: the comparison is
    unavailable (said so), the statistics and the portfolio are there as ever."""
    harness = await make_harness(
        price_source="binance", price_api_base=exchange.base_url, outcomes="manual"
    )
    exchange.day("BTCUSDT", datetime.now(UTC), 50_000)  # today only
    await _three_closed(harness)
    body = await _page(harness)
    assert "The comparison with holding BTC is unavailable right now" in body
    assert "Simulated portfolio: 10,000 became 10,198.98" in body
    asked = exchange.klines_asked("BTCUSDT")
    await _page(harness)
    assert exchange.klines_asked("BTCUSDT") == asked  # the failure is kept a while
    statistics_json = await _statistics(harness)
    assert statistics_json["holding"] is None and statistics_json["portfolio"]["end"]
    text = await _performance(harness)
    assert "The comparison with holding BTC is unavailable right now" in text
    assert "Risking 1 % of the balance on each signal: 10,000 → 10,198.98" in text
    assert exchange.klines_asked("BTCUSDT") == asked


class _Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


def _trades(first: datetime, last: datetime) -> list[Trade]:
    return [
        Trade(last, Decimal(1), "BTCUSDT", "long", None, first),
        Trade(last, Decimal(-1), "ETHUSDT", "short", None, last),
    ]


async def test_the_cache_keeps_an_answer_and_a_failure_as_long_as_it_says(
    exchange: FakeExchange,
) -> None:
    """Holdings over real HTTP with a clock of the test's: an answer whose last day is
    today is kept an hour, a failure five minutes, past days' closes for good; a new
    period (a signal closed since) is read again."""
    clock = _Clock()
    today, before = clock.at, clock.at - timedelta(days=10)
    exchange.day("BTCUSDT", before, 20_000)
    exchange.day("BTCUSDT", today, 30_000)
    holdings = Holdings(lambda: open_feed("binance", exchange.base_url), now=clock)

    async def held(last: datetime) -> Holding | None:
        found = await holdings.compare(_trades(before, last))
        assert found is not None
        return found.holding

    try:
        first = await held(today)
        assert first is not None and holdings.reads == 1
        assert (first.end, first.return_pct) == (Decimal("15000.00"), Decimal("50.00"))
        clock.at += benchmark.FRESH - timedelta(seconds=1)
        assert await held(today) == first and holdings.reads == 1  # kept
        clock.at += timedelta(seconds=2)
        await exchange.down("503")
        assert await held(today) is None and holdings.reads == 2  # read again: away
        await exchange.up()
        clock.at += benchmark.RETRY - timedelta(seconds=1)
        assert await held(today) is None and holdings.reads == 2  # the failure kept
        clock.at += timedelta(seconds=2)
        assert await held(today) == first and holdings.reads == 3
        # A period that ended before today: its closes never change.
        yesterday = today - timedelta(days=1)
        exchange.day("BTCUSDT", yesterday, 25_000)
        past = await held(yesterday)
        assert past is not None and past.return_pct == Decimal("25.00")
        clock.at += timedelta(days=30)
        assert await held(yesterday) == past and holdings.reads == 4
        assert await holdings.compare([]) is None
    finally:
        await holdings.close()


async def test_a_read_slower_than_a_view_waits_fills_the_cache_for_the_next_view(
    exchange: FakeExchange,
) -> None:
    """A view waits `wait` seconds at most; the read goes on (the first one loads the
    exchange's markets) and the next view has the figure, from that one read."""
    clock = _Clock()
    today, before = clock.at, clock.at - timedelta(days=10)
    exchange.day("BTCUSDT", before, 20_000)
    exchange.day("BTCUSDT", today, 30_000)
    holdings = Holdings(lambda: open_feed("binance", exchange.base_url), now=clock, wait=0.0)
    try:
        found = await holdings.compare(_trades(before, today))
        assert found is not None and found.holding is None  # unavailable for this view
        for _ in range(200):  # the read is still going: no view starts another
            found = await holdings.compare(_trades(before, today))
            assert found is not None
            if found.holding is not None:
                break
            await asyncio.sleep(0.05)
        assert found.holding is not None and found.holding.return_pct == Decimal("50.00")
        assert holdings.reads == 1
    finally:
        await holdings.close()
