"""No touch is missed: an exchange outage (503, then connection refused) and a restart are
followed by a replay of the candles since the last one read (each symbol's checkpoint in
the database); a symbol the exchange does not list is reported to the admins once."""

# ruff: noqa: F811 - `exchange` is a fixture imported from outcomes_helpers.py

from __future__ import annotations

import logging

import pytest

from db.models import PriceSymbol
from tests.flows.outcomes_helpers import (
    LONG,
    admin_notices,
    another_watcher,
    at,
    exchange,
    post,
    price_events,
    updates,
    watching,
)
from tests.support.fakes.exchange import FakeExchange
from tests.support.harness import MakeHarness

__all__ = ["exchange"]


async def test_an_outage_is_replayed_and_the_touch_during_it_recorded(
    make_harness: MakeHarness, exchange: FakeExchange, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.outcomes")
    async with watching(make_harness, exchange) as (harness, watcher):
        signal_id = await post(harness, LONG)
        exchange.candle("BTCUSDT", at(1), (65500, 65600, 64900, 65200))  # filled
        await watcher.run(at(2))
        assert [e[0] for e in await price_events(harness, signal_id)] == ["entry"]

        await exchange.down("503")
        exchange.candle("BTCUSDT", at(2), (65200, 67100, 65100, 66800))  # tp1, unseen
        assert "exchange away" in await watcher.run(at(3))
        await exchange.down("refused")
        exchange.candle("BTCUSDT", at(3), (66800, 66900, 66500, 66600))
        assert "exchange away" in await watcher.run(at(4))
        assert "exchange away" in await watcher.run(at(5))
        assert await updates(harness, signal_id) == []

        await exchange.up()
        exchange.candle("BTCUSDT", at(4), (66600, 66700, 66400, 66500))
        await watcher.run(at(6))
        assert await updates(harness, signal_id) == [("tp1", "67000", "prices")]
        tp1 = [e for e in await price_events(harness, signal_id) if e[0] == "tp1"]
        assert tp1 == [("tp1", at(2), True)]  # the candle during the outage
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) == 1  # said once for the whole outage, not every pass
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_a_new_watcher_replays_from_the_stored_checkpoint(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    async with watching(make_harness, exchange) as (harness, watcher):
        signal_id = await post(harness, LONG)
        exchange.candle("BTCUSDT", at(1), (65500, 65600, 64900, 65200))  # filled
        exchange.candle("BTCUSDT", at(2), (65200, 67100, 65100, 66800))  # tp1
        await watcher.run(at(3))
        async with harness.session() as session:
            checkpoint = await session.get(PriceSymbol, "BTCUSDT")
            assert checkpoint is not None and checkpoint.checked_until == at(3)
    # The process is down from minute 3 to 9; meanwhile tp2 is touched.
    exchange.candle("BTCUSDT", at(5), (67000, 69050, 66900, 68900))
    exchange.candle("BTCUSDT", at(8), (68900, 69000, 68500, 68600))
    async with another_watcher(harness) as restarted:
        await restarted.run(at(9.5))
    assert await updates(harness, signal_id) == [
        ("tp1", "67000", "prices"),
        ("tp2", "69000", "prices"),
    ]
    kinds = [e[0] for e in await price_events(harness, signal_id)]
    assert kinds == ["entry", "tp1", "tp2"]  # nothing found twice


async def test_a_symbol_the_exchange_does_not_list_is_reported_once(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    async with watching(make_harness, exchange) as (harness, watcher):
        first = await post(harness, "XRPUSDT long entry 0.5 sl 0.45 tp 0.6")
        second = await post(harness, "XRPUSDT long entry 0.52 sl 0.46 tp 0.62")
        assert "not listed: XRPUSDT" in await watcher.run(at(2))
        await watcher.run(at(3))
        (notice,) = await admin_notices(harness, "symbol_unlisted")
        assert notice.params == {
            "symbol": "XRPUSDT",
            "source": "binance",
            "signals": [first, second],
        }
        assert exchange.klines_asked("XRPUSDT") == 0
        await harness.deliver()
        assert "binance does not list XRPUSDT" in harness.replies(notice.chat_id)[-1].text
    async with another_watcher(harness) as restarted:  # a restart does not say it again
        await restarted.run(at(4))
    assert len(await admin_notices(harness, "symbol_unlisted")) == 1


async def test_a_symbol_delisted_while_watched_is_reported_once(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    async with watching(make_harness, exchange) as (harness, watcher):
        signal_id = await post(harness, "ETHUSDT long entry 3400 sl 3300 tp 3500")
        exchange.candle("ETHUSDT", at(1), (3420, 3430, 3390, 3410))
        await watcher.run(at(2))  # the markets are loaded, ETH/USDT among them
        exchange.delist("ETHUSDT")  # its klines now answer "Invalid symbol"
        exchange.candle("ETHUSDT", at(2), (3410, 3600, 3400, 3550))
        assert "not listed: ETHUSDT" in await watcher.run(at(3))
        asked = exchange.klines_asked("ETHUSDT")
        await watcher.run(at(4))
        assert exchange.klines_asked("ETHUSDT") == asked  # left alone until a restart
        assert len(await admin_notices(harness, "symbol_unlisted")) == 1
        assert await updates(harness, signal_id) == []


async def test_a_gap_longer_than_the_replay_window_is_read_from_its_end(
    make_harness: MakeHarness, exchange: FakeExchange, caplog: pytest.LogCaptureFixture
) -> None:
    """Away for four days: the last three are read (the log says so, once); a touch
    before them is not seen, one within them is."""
    caplog.set_level(logging.WARNING, logger="bot.outcomes")
    async with watching(make_harness, exchange) as (harness, watcher):
        signal_id = await post(harness, LONG)
        exchange.candle("BTCUSDT", at(1), (65500, 65600, 64900, 65200))  # filled: not seen
        day = 24 * 60
        exchange.candle("BTCUSDT", at(day + 10), (65300, 65400, 64950, 65100))  # filled
        exchange.candle("BTCUSDT", at(day + 11), (65100, 67100, 65000, 66900))  # tp1
        await watcher.run(at(4 * day))
        await watcher.run(at(4 * day + 1))
    assert await updates(harness, signal_id) == [("tp1", "67000", "prices")]
    assert [e[:2] for e in await price_events(harness, signal_id)] == [
        ("entry", at(day + 10)),
        ("tp1", at(day + 11)),
    ]
    cut = [r for r in caplog.records if "reading its last" in r.getMessage()]
    assert len(cut) == 1
