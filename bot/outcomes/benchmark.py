"""Holding BTC over the track record's period, shown beside the simulated portfolio (issue
28): the daily closes of BTC in the quote the signals use (statistics.benchmark_pair) on
the day the first signal was published and the day the last one closed, read through the
exchange PRICE_SOURCE names (bot/outcomes/exchange.py), the figure computed by
bot/signals/statistics.holding.

Cached, so a page view does not reach the exchange: an answer is kept until the record's
period changes (a signal closes), and for at most an hour while its last day is today (that
day's candle is still forming); a failure (the exchange away, too slow, no candle) is kept
five minutes, and the page says the comparison is unavailable meanwhile. One read at a time:
views that come while it runs wait for it rather than ask again. A view waits WAIT seconds
at most; a read that takes longer (the first one loads the exchange's markets) goes on in
the background and fills the cache for the next view, rather than being dropped and kept
as a failure. The exchange is opened at the first read (ccxt imported then, in a thread,
not at start-up) and closed with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.core.startup import StartupError
from bot.outcomes.exchange import FeedDownError, PriceFeed, UnlistedError
from bot.outcomes.markets import market_for
from bot.signals import statistics
from bot.signals.statistics import Holding, Trade

log = logging.getLogger(__name__)

FOREVER = datetime.max.replace(tzinfo=UTC)  # past days' closes do not change
FRESH = timedelta(hours=1)  # an answer whose last day is today
RETRY = timedelta(minutes=5)  # a failure
WAIT = 5.0  # seconds a view waits for the exchange at most
READ_LIMIT = 60.0  # seconds a read may take in all before it counts as a failure


@dataclass(frozen=True, slots=True)
class Comparison:
    """What the page shows beside the portfolio: the holding, or None (unavailable now)."""

    holding: Holding | None
    first: datetime
    last: datetime


Key = tuple[str, str, str]  # the pair, the first day and the last day


class Holdings:
    """The cached comparison; `open_feed` opens the exchange (once, when first needed)."""

    def __init__(
        self,
        open_feed: Callable[[], PriceFeed],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        wait: float = WAIT,
    ) -> None:
        self._open_feed = open_feed
        self._feed: PriceFeed | None = None
        self._now = now
        self._wait = wait
        self._kept: tuple[Key, Holding | None, datetime] | None = None
        self._reading: tuple[Key, asyncio.Future[None]] | None = None
        self.reads = 0  # how many times the exchange was asked (tests, logs)

    async def compare(self, trades: Sequence[Trade]) -> Comparison | None:
        """Holding the benchmark over the trades' period; None without trades."""
        span = statistics.period(trades)
        if span is None:
            return None
        first, last = span
        pair = statistics.benchmark_pair(trades)
        key = (pair, _day(first), _day(last))
        kept = self._kept
        if kept is None or kept[0] != key or kept[2] <= self._now():
            reading = self._reading
            if reading is None or reading[0] != key or reading[1].done():
                task = asyncio.ensure_future(self._read(key, pair, first, last))
                reading = self._reading = (key, task)
            try:
                await asyncio.wait_for(asyncio.shield(reading[1]), self._wait)
            except TimeoutError:  # the read goes on and fills the cache for the next view
                log.info("holding %s: still reading after %.0f s", pair, self._wait)
                return Comparison(None, first, last)
            kept = self._kept
        held = kept[1] if kept is not None and kept[0] == key else None
        return Comparison(held, first, last)

    async def _read(self, key: Key, pair: str, first: datetime, last: datetime) -> None:
        """Read the holding and keep it (or the failure) until it is due again."""
        self.reads += 1
        try:
            feed = await self._opened()
            found = await asyncio.wait_for(self._closes(feed, pair, first, last), READ_LIMIT)
        except (FeedDownError, UnlistedError, TimeoutError, StartupError, ImportError) as error:
            log.info("holding %s: unavailable (%s)", pair, type(error).__name__)
            found = None
        now = self._now()
        if found is None:
            self._kept = (key, None, now + RETRY)
            return
        today = last.astimezone(UTC).date() >= now.astimezone(UTC).date()
        self._kept = (key, statistics.holding(pair, *found), now + FRESH if today else FOREVER)

    @staticmethod
    async def _closes(
        feed: PriceFeed, pair: str, first: datetime, last: datetime
    ) -> tuple[Decimal, Decimal] | None:
        """The pair's daily closes on the first and the last day (None: not listed, or
        no candle on one of the days)."""
        market = market_for(pair, await feed.markets())
        if market is None:
            return None
        start, end = await feed.daily_close(market, first), await feed.daily_close(market, last)
        if start is None or end is None or start <= 0:
            return None
        return start, end

    async def _opened(self) -> PriceFeed:
        """The exchange, opened at the first read (ccxt's import, ~2 s of CPU, in a thread
        so the loop keeps serving; not counted in the wait for prices)."""
        if self._feed is None:
            await asyncio.to_thread(importlib.import_module, "ccxt.async_support")
            self._feed = self._open_feed()
        return self._feed

    async def close(self) -> None:
        if self._reading is not None and not self._reading[1].done():
            self._reading[1].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading[1]
        if self._feed is not None:
            await self._feed.close()
            self._feed = None


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()
