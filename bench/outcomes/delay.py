"""From a touch to the subscribers' update, end to end, in real time: `python -m bot` with
PRICE_SOURCE=binance at the fake exchange, OUTCOMES=auto and PRICE_CHECK_SECONDS=5, the
fake Bot API and the fake exchange each in a process of their own, 200 open signals over
50 symbols and N subscribers.

Every symbol trades flat at 100 (the signals' entries fill at once). For each touch, one
symbol's forming candle is scripted to reach 105.5, one signal's first target; the delay
runs from that candle's close (the first moment any watcher can know it: a candle counts
once closed) to the fake Bot API accepting the threaded update, for the first subscriber
and for the last. Each touch takes a minute or so of waiting for the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import BOT_TOKEN
from bench.delivery.fake import Fake, running_fake
from bench.outcomes.exchange import Exchange
from bench.outcomes.market import SYMBOLS, flat_lines
from bench.outcomes.seed import counts, seed
from bench.shared.basics import READY_TIMEOUT, BenchError
from bench.shared.measures import cpu_seconds, peak_rss_mb, tail_of_log
from bench.shared.servers import child_env
from tests.support.processes import free_port, start_bot_logged, stop_process, wait_http_ready

CHECK_SECONDS = 5
TOUCH_TIMEOUT = 120.0
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class DelayFigures:
    first_s: list[float]  # candle close -> the first subscriber's update accepted
    last_s: list[float]  # ... the last subscriber's
    subscribers: int
    bot_cpu_share: float | None  # the bot's CPU over the touches, a share of one core
    bot_peak_mb: float | None

    def lines(self) -> list[str]:
        first = ", ".join(f"{s:.1f}" for s in self.first_s)
        last = ", ".join(f"{s:.1f}" for s in self.last_s)
        cpu = "?" if self.bot_cpu_share is None else f"{self.bot_cpu_share * 100:.1f} %"
        peak = "?" if self.bot_peak_mb is None else f"{self.bot_peak_mb:.0f} MB"
        return [
            f"  touch -> first subscriber's update: median {statistics.median(self.first_s):.1f} s"
            f" ({first})",
            f"  touch -> all {self.subscribers} subscribers' updates: median "
            f"{statistics.median(self.last_s):.1f} s ({last})",
            f"  python -m bot while watching: {cpu} of a core, peak RSS {peak}",
        ]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@contextlib.asynccontextmanager
async def _running_bot(
    url: str, bot_api: str, exchange: str, workdir: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    port = free_port()
    env = child_env(
        BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_API_BASE=bot_api,
        DATABASE_URL=url,
        WEB_HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="WARNING",
        PUBLIC_URL="",
        PRICE_SOURCE="binance",
        PRICE_API_BASE=exchange,
        OUTCOMES="auto",
        PRICE_CHECK_SECONDS=str(CHECK_SECONDS),
    )
    log = workdir / "bot.log"
    with log.open("ab") as out:
        proc = await start_bot_logged([], env, workdir, out)
    try:
        problem = await wait_http_ready(proc, f"http://127.0.0.1:{port}", within=READY_TIMEOUT)
        if problem is not None:
            raise BenchError(f"python -m bot {problem}: {tail_of_log(log)}")
        yield proc
        if proc.returncode is not None:
            raise BenchError(f"python -m bot exited early: {tail_of_log(log)}")
    finally:
        await stop_process(proc, grace=15.0, sig=signal.SIGTERM)


async def _until(check: Callable[[], Awaitable[bool]], what: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise BenchError(f"{what} not within {within:.0f} s")
        await asyncio.sleep(0.1)


async def _touch(
    exchange: Exchange, bot_api: Fake, symbol: str, subscribers: int
) -> tuple[float, float]:
    """Script a touch in the minute now forming, wait for every subscriber's update;
    (first, last) seconds from the candle's close."""
    second = datetime.now(UTC).second + datetime.now(UTC).microsecond / 1e6
    if not 5 <= second <= 40:  # well inside the minute: from its 5th second
        await asyncio.sleep((65 - second) % 60)
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    sent_before = len((await bot_api.records()).sends)
    await exchange.post(
        "/candle", symbol=symbol, start=_ms(minute), ohlc=["100", "105.5", "100", "100"]
    )
    close = minute + MINUTE
    close_mono = time.monotonic() + (close.timestamp() - time.time())

    async def all_sent() -> bool:
        return len((await bot_api.records()).sends) >= sent_before + subscribers

    await _until(all_sent, f"{symbol}'s updates to {subscribers} subscribers", TOUCH_TIMEOUT)
    new = sorted(at for _chat, _message, at in (await bot_api.records()).sends[sent_before:])
    if new[0] < close_mono:
        raise BenchError(f"{symbol}: an update went out before its candle closed")
    return new[0] - close_mono, new[-1] - close_mono


async def measure(
    url: str, exchange: Exchange, workdir: Path, *, subscribers: int, touches: int
) -> DelayFigures:
    base = datetime.now(UTC).replace(second=0, microsecond=0)
    lines = [line for symbol in SYMBOLS for line in flat_lines(symbol)]
    await seed(url, subscribers=subscribers, lines=lines, published=base - 3 * MINUTE)
    end = base + (3 * touches + 15) * MINUTE
    await exchange.post("/flat", start=_ms(base - 10 * MINUTE), end=_ms(end), price="100")
    async with (
        running_fake(workdir) as bot_api,
        _running_bot(url, bot_api.api, exchange.api, workdir) as proc,
    ):

        async def caught_up() -> bool:
            return (await counts(url))[0] >= len(lines)  # every entry's fill recorded

        await _until(caught_up, "the first pass (every fill)", READY_TIMEOUT + 60)
        cpu_before, started = cpu_seconds(proc.pid), time.monotonic()
        figures = [
            await _touch(exchange, bot_api, SYMBOLS[n], subscribers) for n in range(touches)
        ]
        cpu_after, elapsed = cpu_seconds(proc.pid), time.monotonic() - started
        peak = peak_rss_mb(proc.pid)
    share = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / elapsed
    if (await counts(url))[1] != touches:
        raise BenchError(f"expected {touches} updates recorded, found {(await counts(url))[1]}")
    return DelayFigures(
        [f for f, _ in figures], [last for _, last in figures], subscribers, share, peak
    )
