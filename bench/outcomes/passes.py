"""The watcher's cost: 200 open signals over 50 symbols, read in this process by the app's
own watcher (bot/outcomes/jobs.py, OUTCOMES=auto) from the fake exchange's process over
real HTTP, one pass at a time at chosen moments (no waiting in real time).

The walk is scripted for every symbol from the signals' publication on. The first pass
replays REPLAY_MINUTES of candles (after a restart, an outage); then a reading pass a
minute (one new candle per symbol: what a live watcher does once a minute), and between
two of them an idle pass (the job runs every PRICE_CHECK_SECONDS; no candle closed since,
nothing asked). CPU is this process's (time.process_time: the watcher, ccxt, aiohttp,
SQLAlchemy, and SQLite's own work; PostgreSQL's server is not in it); memory is its
resident set before ccxt is imported, after the first pass, and at its peak. At the end
every signal's recorded events must be what the rules find over the same candles.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench import BOT_TOKEN
from bench.outcomes.exchange import Exchange
from bench.outcomes.market import SYMBOLS, walk, walk_lines
from bench.outcomes.seed import seed
from bench.shared.basics import BenchError
from bot.core.settings import load_settings
from bot.outcomes.jobs import price_watch
from bot.outcomes.rules import Candle, Progress, events
from bot.outcomes.store import first_minute
from bot.signals.spec import spec_of
from bot.transactions.sessions import app_session_factory
from db.engine import create_engine
from db.models import PriceEvent, Signal

REPLAY_MINUTES = 10
CCXT_SEEN_MB = 20  # what importing ccxt adds at least (about 65 MB)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class PassFigures:
    replay_cpu_ms: float  # the first pass: REPLAY_MINUTES candles a symbol
    replay_wall_ms: float
    reading_cpu_ms: list[float]  # a pass that reads one new candle a symbol
    reading_wall_ms: list[float]
    idle_cpu_ms: list[float]  # a pass with no candle closed since the last
    klines: int  # requests for candles, in all
    recorded: int  # events the candles showed (fills, targets, stops)
    rss_before_mb: float  # before ccxt is imported (the app and the seed already)
    rss_after_mb: float  # after the first pass
    peak_mb: float

    def lines(self) -> list[str]:
        reading, idle = self.reading_cpu_ms, self.idle_cpu_ms
        return [
            f"  replay pass ({REPLAY_MINUTES} candles x {len(SYMBOLS)} symbols): "
            f"{self.replay_cpu_ms:.0f} ms CPU, {self.replay_wall_ms:.0f} ms wall",
            f"  reading pass (1 candle x {len(SYMBOLS)} symbols): CPU median "
            f"{statistics.median(reading):.0f} ms, max {max(reading):.0f} ms; wall median "
            f"{statistics.median(self.reading_wall_ms):.0f} ms ({len(reading)} passes)",
            f"  idle pass: CPU median {statistics.median(idle):.1f} ms",
            f"  requests for candles: {self.klines} in {len(reading) + 1} reading passes (one a "
            f"symbol with open signals, none in an idle pass); events recorded: {self.recorded}",
            self._memory(),
        ]

    def _memory(self) -> str:
        if self.rss_after_mb - self.rss_before_mb < CCXT_SEEN_MB:  # ccxt in from a run before
            return f"  memory: peak {self.peak_mb:.0f} MB (ccxt imported by an earlier run)"
        return (
            f"  memory: {self.rss_before_mb:.0f} MB before ccxt, {self.rss_after_mb:.0f} MB "
            f"after the first pass (+{self.rss_after_mb - self.rss_before_mb:.0f} MB), "
            f"peak {self.peak_mb:.0f} MB"
        )


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _timed(
    run: Callable[[datetime], Awaitable[str]], moment: datetime
) -> tuple[float, float]:
    """(CPU ms, wall ms) of one pass."""
    cpu, wall = time.process_time(), time.perf_counter()
    await run(moment)
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


async def measure(
    url: str, exchange: Exchange, *, subscribers: int, minutes: int, seed_value: int
) -> PassFigures:
    """Seed, script the walk, run the passes; figures, once the events are checked."""
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=6)
    published = base + timedelta(seconds=30)
    start = first_minute(published)  # the first candle that counts
    lines = [line for symbol in SYMBOLS for line in walk_lines(symbol)]
    await seed(url, subscribers=subscribers, lines=lines, published=published)
    read = REPLAY_MINUTES + minutes
    at_ms = int(start.timestamp() * 1000)
    await exchange.post("/walk", seed=seed_value, start=at_ms, minutes=read + 1)
    settings = load_settings(
        _env_file=None,
        bot_token=BOT_TOKEN,
        database_url=url,
        price_source="binance",
        price_api_base=exchange.api,
        outcomes="auto",
    )
    engine = create_engine(url)
    rss_before = _status_mb("VmRSS:")
    watch = price_watch(settings, app_session_factory(engine))
    if watch is None:
        raise BenchError("no watcher was built")
    try:
        first = start + REPLAY_MINUTES * MINUTE + timedelta(seconds=5)
        replay = await _timed(watch.watcher.run, first)
        rss_after = _status_mb("VmRSS:")
        reading, idle = [], []
        for minute in range(1, minutes + 1):
            moment = first + minute * MINUTE
            reading.append(await _timed(watch.watcher.run, moment))
            idle.append((await _timed(watch.watcher.run, moment + timedelta(seconds=30)))[0])
        recorded = await _check(engine, seed_value, start, read)
    finally:
        await watch.close()
        await engine.dispose()
    return PassFigures(
        replay_cpu_ms=replay[0],
        replay_wall_ms=replay[1],
        reading_cpu_ms=[cpu for cpu, _ in reading],
        reading_wall_ms=[wall for _, wall in reading],
        idle_cpu_ms=idle,
        klines=await exchange.klines_asked(),
        recorded=recorded,
        rss_before_mb=rss_before,
        rss_after_mb=rss_after,
        peak_mb=_status_mb("VmHWM:"),
    )


async def _check(engine: AsyncEngine, seed_value: int, start: datetime, read: int) -> int:
    """Every signal's recorded events are what the rules find over the same `read`
    candles; how many there are."""
    candles = {
        symbol: [
            Candle(start + minute * MINUTE, *(Decimal(v) for v in ohlc))
            for minute, ohlc in enumerate(walk(index, seed_value, read))
        ]
        for index, symbol in enumerate(SYMBOLS)
    }
    async with AsyncSession(engine) as session:
        signals = list(await session.scalars(select(Signal)))
        stored = (await session.execute(select(PriceEvent.signal_id, PriceEvent.kind))).all()
    found: dict[int, list[str]] = {}
    for signal_id, kind in stored:
        found.setdefault(signal_id, []).append(kind)
    total = 0
    for signal in signals:
        assert signal.published_at is not None
        mine = [c for c in candles[signal.symbol] if c.start >= first_minute(signal.published_at)]
        kinds = [event.kind for event in events(spec_of(signal), Progress(), mine)]
        if sorted(kinds) != sorted(found.get(signal.id, [])):
            raise BenchError(
                f"signal #{signal.id}: recorded {found.get(signal.id)}, rules say {kinds}"
            )
        total += len(kinds)
    return total
