"""OUTCOMES=auto against the fake exchange over real HTTP: the watcher records each
take-profit and the stop when its candle has closed, as /update does (subscribers get the
threaded update), marked as from prices; a target and the stop in one candle are the stop;
gaps count at the level; OUTCOMES=manual runs no watcher at all."""

# ruff: noqa: F811 - `exchange` is a fixture imported from outcomes_helpers.py

from __future__ import annotations

from bot.outcomes.jobs import price_watch
from tests.flows.outcomes_helpers import (
    LONG,
    SUBSCRIBERS,
    at,
    exchange,
    post,
    price_events,
    status,
    threaded,
    updates,
    watching,
)
from tests.support.fakes.exchange import FakeExchange
from tests.support.harness import MakeHarness
from tests.support.helpers import post_signal_update

__all__ = ["exchange"]


async def test_targets_then_the_stop_each_at_its_moment(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    async with watching(make_harness, exchange) as (harness, watcher):
        signal_id = await post(harness, LONG)  # at T0 + 30 s
        await harness.deliver()
        fake = exchange
        # T0's candle started before the signal: its touch of the entry does not count.
        fake.candle("BTCUSDT", at(0), (65500, 65600, 64900, 65000))
        fake.candle("BTCUSDT", at(1), (66000, 66100, 65800, 66000))  # above the entry
        fake.candle("BTCUSDT", at(2), (66000, 66000, 64950, 65100))  # filled by a wick
        fake.candle("BTCUSDT", at(3), (65100, 67050, 65000, 66900))  # tp1 by a wick

        # At 3:30 the candle of minute 3 is still forming: only the fill is known.
        await watcher.run(at(3.5))
        assert [e[:2] for e in await price_events(harness, signal_id)] == [("entry", at(2))]
        assert await updates(harness, signal_id) == []

        await watcher.run(at(4.1))
        assert await updates(harness, signal_id) == [("tp1", "67000", "prices")]
        await harness.deliver(wait=3)
        for chat in SUBSCRIBERS:
            (tp1,) = threaded(harness, chat)
            assert "TP1" in tp1

        fake.candle("BTCUSDT", at(4), (66900, 68000, 66500, 67800))
        fake.candle("BTCUSDT", at(5), (67800, 69100, 67700, 68800))  # tp2
        fake.candle("BTCUSDT", at(6), (68800, 68900, 68000, 68100))
        fake.candle("BTCUSDT", at(7), (68100, 68200, 63000, 63400))  # the stop
        await watcher.run(at(6.1))
        assert await updates(harness, signal_id) == [
            ("tp1", "67000", "prices"),
            ("tp2", "69000", "prices"),
        ]
        await watcher.run(at(8.1))
        assert (await updates(harness, signal_id))[-1] == ("sl", "63500", "prices")
        assert await status(harness, signal_id) == "stopped"
        await harness.deliver(wait=6)
        for chat in SUBSCRIBERS:
            assert len(threaded(harness, chat)) == 3

        # Over: the symbol is not asked again.
        asked = exchange.klines_asked("BTCUSDT")
        fake.candle("BTCUSDT", at(8), (63400, 72000, 60000, 70000))
        assert "0 of 0 symbols" in await watcher.run(at(10))
        assert exchange.klines_asked("BTCUSDT") == asked
        assert len(await updates(harness, signal_id)) == 3


async def test_a_target_and_the_stop_in_one_candle_are_the_stop(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    async with watching(make_harness, exchange) as (harness, watcher):
        signal_id = await post(harness, LONG)
        exchange.candle("BTCUSDT", at(1), (65500, 65600, 64900, 65200))  # filled
        exchange.candle("BTCUSDT", at(2), (65200, 67500, 63400, 64000))  # tp1 and the stop
        await watcher.run(at(3))
        assert await updates(harness, signal_id) == [("sl", "63500", "prices")]
        assert await status(harness, signal_id) == "stopped"


async def test_gaps_count_at_the_level_and_missing_minutes_change_nothing(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    async with watching(make_harness, exchange) as (harness, watcher):
        signal_id = await post(harness, LONG)
        exchange.candle("BTCUSDT", at(1), (65300, 65400, 64800, 65100))  # filled
        # Minutes 2 to 9 have no candle (no trades); minute 10 opens above tp1 and tp2.
        exchange.candle("BTCUSDT", at(10), (70000, 70100, 69500, 69900))
        await watcher.run(at(11))
        assert await updates(harness, signal_id) == [
            ("tp1", "67000", "prices"),
            ("tp2", "69000", "prices"),
        ]
        # The stop gapped through: recorded at the stop's level, not the open.
        exchange.candle("BTCUSDT", at(11), (61000, 61500, 60500, 61000))
        await watcher.run(at(12))
        assert (await updates(harness, signal_id))[-1] == ("sl", "63500", "prices")


async def test_a_short_and_a_signal_filled_by_hand_declared_targets(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    """A short mirrors a long; a take-profit declared with /update is not found again."""
    async with watching(make_harness, exchange) as (harness, watcher):
        short = await post(harness, "ETHUSDT short entry 3400-3450 sl 3520 tp 3300 3200")
        exchange.candle("ETHUSDT", at(1), (3380, 3410, 3370, 3400))  # up into the zone
        exchange.candle("ETHUSDT", at(2), (3400, 3420, 3290, 3300))  # tp1 by its low
        await watcher.run(at(3))
        assert await updates(harness, short) == [("tp1", "3300", "prices")]
        events = await price_events(harness, short)
        assert [kind for kind, _, _ in events] == ["entry", "tp1"]

        long = await post(harness, LONG, minute=3.5)
        await post_signal_update(harness, long, "tp1")  # the admin, by hand
        exchange.candle("BTCUSDT", at(4), (66000, 67500, 65800, 67200))  # tp1 again
        exchange.candle("BTCUSDT", at(5), (67200, 69200, 67000, 69000))  # tp2
        await watcher.run(at(6))
        assert await updates(harness, long) == [
            ("tp1", "67000", "admin"),
            ("tp2", "69000", "prices"),
        ]


async def test_manual_runs_no_watcher_and_unset_none_either(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    manual = await make_harness(
        price_source="binance", price_api_base=exchange.base_url, outcomes="manual"
    )
    assert price_watch(manual.settings, manual.parts.session_factory) is None
    unset = await make_harness()
    assert price_watch(unset.settings, unset.parts.session_factory) is None
    assert exchange.requests == {}
