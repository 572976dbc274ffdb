"""The public track record marks each closed signal's outcome: from market prices (the
watcher's, or an admin's Confirm of one), or declared by the provider (/update)."""

# ruff: noqa: F811 - `exchange` is a fixture imported from outcomes_helpers.py

from __future__ import annotations

from tests.flows.outcomes_helpers import LONG, at, exchange, post, watching
from tests.support.fakes.exchange import FakeExchange
from tests.support.harness import MakeHarness
from tests.support.helpers import post_signal_update

__all__ = ["exchange"]


async def test_the_track_record_marks_who_declared_each_outcome(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    async with watching(make_harness, exchange) as (harness, watcher):
        by_prices = await post(harness, LONG)
        by_hand = await post(harness, "ETHUSDT long entry 3400 sl 3300 tp 3500")
        exchange.candle("BTCUSDT", at(1), (65500, 65600, 64900, 65200))  # filled
        exchange.candle("BTCUSDT", at(2), (65200, 65300, 63000, 63200))  # the stop
        await watcher.run(at(3))
        await post_signal_update(harness, by_hand, "close 3450")
        async with harness.http.get(f"{harness.base_url}/track-record?lang=en") as response:
            page = await response.text()
    items = page.split('<li class="signal">')[1:]
    marks = {
        int(item.split("#", 1)[1].split(" ", 1)[0]): item.split('class="source">')[1].split("<")[0]
        for item in items
    }
    assert marks == {
        by_prices: "outcome from market prices",
        by_hand: "outcome declared by the provider",
    }
