"""What the tests of outcomes from market prices share: the fake exchange (BTC/USDT and
ETH/USDT listed), a harness watching it (PRICE_SOURCE=binance, ccxt pointed at the fake
over real HTTP), signals posted at a chosen minute, and what the database then holds.

Time: the signals are posted at T0 (three hours ago, on the minute, plus 30 s) and the
watcher's passes are run at chosen moments after it (`at(minutes)`); the candles are
scripted for those minutes. Nothing waits in real time.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from bot.outcomes.jobs import price_watch
from bot.outcomes.watcher import PriceWatcher
from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from db.models import OutboxMessage, PriceEvent, Signal, SignalUpdate
from tests.support.fakes.exchange import FakeExchange, minute_of
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import give_access

T0 = minute_of(datetime.now(UTC)) - timedelta(hours=3)
SUBSCRIBERS = (7101, 7102)
LONG = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000 71000"


def at(minutes: float) -> datetime:
    """T0 plus `minutes`: a candle's start, or a pass's moment."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
async def exchange() -> AsyncIterator[FakeExchange]:
    async with FakeExchange() as fake:
        fake.market("BTCUSDT", "BTC", "USDT")
        fake.market("ETHUSDT", "ETH", "USDT")
        yield fake


@contextlib.asynccontextmanager
async def watching(
    make_harness: MakeHarness, exchange: FakeExchange, *, outcomes: str = "auto", **more: Any
) -> AsyncIterator[tuple[Harness, PriceWatcher]]:
    """A harness with PRICE_SOURCE=binance at the fake, subscribers with access, and the
    watcher `python -m bot` would run (its exchange closed at the end)."""
    harness = await make_harness(
        price_source="binance", price_api_base=exchange.base_url, outcomes=outcomes, **more
    )
    await give_access(harness, *SUBSCRIBERS)
    async with another_watcher(harness) as watcher:
        yield harness, watcher


@contextlib.asynccontextmanager
async def another_watcher(harness: Harness) -> AsyncIterator[PriceWatcher]:
    """A watcher as a (re)started process builds it: nothing kept in memory."""
    watch = price_watch(harness.settings, harness.parts.session_factory)
    assert watch is not None
    try:
        yield watch.watcher
    finally:
        await watch.close()


async def post(harness: Harness, line: str = LONG, *, minute: float = 0.5) -> int:
    """A signal published at(minute) (by default 30 s into T0's minute: its first candle
    that counts is T0 + 1 min); its id."""
    async with harness.session() as session, session.begin():
        draft = await signals.create_draft(session, parse_signal(line), ADMIN_ID)
        await signals.publish(session, draft.id, at(minute))
        return draft.id


async def updates(harness: Harness, signal_id: int) -> list[tuple[str, str, str]]:
    """The signal's updates: (kind, price, source) each."""
    async with harness.session() as session:
        rows = await session.scalars(
            select(SignalUpdate)
            .where(SignalUpdate.signal_id == signal_id)
            .order_by(SignalUpdate.id)
        )
        return [(row.kind, _text(row.price), row.source) for row in rows]


def _text(price: Decimal | None) -> str:
    return format(price.normalize(), "f") if price is not None else ""


async def price_events(harness: Harness, signal_id: int) -> list[tuple[str, datetime, bool]]:
    """What the candles showed: (kind, candle start, decided) each."""
    async with harness.session() as session:
        rows = await session.scalars(
            select(PriceEvent).where(PriceEvent.signal_id == signal_id).order_by(PriceEvent.id)
        )
        return [(row.kind, row.candle_at, row.decided_at is not None) for row in rows]


async def status(harness: Harness, signal_id: int) -> str:
    async with harness.session() as session:
        signal = await session.get(Signal, signal_id)
        assert signal is not None
        return signal.status


async def admin_notices(harness: Harness, kind: str) -> list[OutboxMessage]:
    async with harness.session() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == ADMIN_ID, OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        )
        return list(rows)


def threaded(harness: Harness, chat: int) -> list[str]:
    """The texts of the follow-ups a subscriber got, each checked to be a reply to their
    own copy of the signal (their first message)."""
    original, *follow_ups = harness.replies(chat)
    for message in follow_ups:
        assert message.params["reply_parameters"]["message_id"] == original.message_id
    return [message.text for message in follow_ups]
