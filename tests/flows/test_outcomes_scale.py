"""200 open signals over 50 symbols are read in one pass, one request a symbol (the
exchange's markets once per process), and no symbol is asked twice within a minute."""

# ruff: noqa: F811 - `exchange` is a fixture imported from outcomes_helpers.py

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from db.models import PriceEvent, SignalUpdate
from tests.flows.outcomes_helpers import at, exchange, watching
from tests.support.fakes.exchange import FakeExchange
from tests.support.harness import ADMIN_ID, Harness, MakeHarness

__all__ = ["exchange"]
SYMBOLS = [f"C{n:02d}USDT" for n in range(50)]
PER_SYMBOL = 4


async def _post_all(harness: Harness, moment: datetime) -> None:
    async with harness.session() as session, session.begin():
        for symbol in SYMBOLS:
            for n in range(PER_SYMBOL):
                line = f"{symbol} long entry {100 + n} sl 90 tp 120 130"
                draft = await signals.create_draft(session, parse_signal(line), ADMIN_ID)
                await signals.publish(session, draft.id, moment)


async def _count(harness: Harness, model: type[PriceEvent] | type[SignalUpdate]) -> int:
    async with harness.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_two_hundred_signals_over_fifty_symbols_in_one_pass(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    async with watching(make_harness, exchange) as (harness, watcher):
        for number, symbol in enumerate(SYMBOLS):
            exchange.market(symbol, symbol.removesuffix("USDT"), "USDT")
            exchange.candle(symbol, at(1), (104, 105, 99, 101))  # fills every entry
            top = 121 if number % 2 else 110  # tp1 on every other symbol
            exchange.candle(symbol, at(2), (101, top, 100, 105))
        await _post_all(harness, at(0.5))

        line = await watcher.run(at(3))
        assert line.startswith("50 of 50 symbols read")
        assert exchange.klines_asked() == len(SYMBOLS)
        assert all(exchange.klines_asked(symbol) == 1 for symbol in SYMBOLS)
        assert exchange.requests["/api/v3/exchangeInfo"] == 1
        assert await _count(harness, PriceEvent) == 200 + 100  # every fill, 100 targets
        assert await _count(harness, SignalUpdate) == 100  # each tp1 recorded

        await watcher.run(at(3.5))  # no candle has closed since: nothing asked
        assert exchange.klines_asked() == len(SYMBOLS)
        await watcher.run(at(4.1))
        assert exchange.klines_asked() == 2 * len(SYMBOLS)
        assert exchange.requests["/api/v3/exchangeInfo"] == 1
