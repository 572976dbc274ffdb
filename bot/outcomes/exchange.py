"""The exchange PRICE_SOURCE names, read through ccxt: its markets and its one-minute
candles, as the rules take them (bot/outcomes/rules.py).

ccxt is imported here, when the feed is opened, and nowhere else: only a process with
PRICE_SOURCE set pays for it (about 2 s and 65 MB: its package imports every exchange's
class). The async classes speak aiohttp; ccxt's own rate limiter (enableRateLimit) spaces
the requests as the exchange asks. Whatever goes wrong on the way is one of two errors
of ours: the exchange is down for now (FeedDownError: the watcher tries again, and the
candles it missed are replayed), or it does not list the market (UnlistedError).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from bot.core.startup import StartupError
from bot.outcomes.rules import Candle

TIMEFRAME = "1m"
DAILY = "1d"  # the statistics' benchmark reads daily closes (bot/outcomes/benchmark.py)
MINUTE = timedelta(minutes=1)
PAGE = 1000  # candles a request asks for (binance's most; an exchange giving fewer is paged)
TIMEOUT_MS = 10_000  # one request's bound: a hung exchange must not hold the watcher


class FeedDownError(Exception):
    """The exchange did not answer as it should (network, 5xx, maintenance, rate limit)."""


class UnlistedError(Exception):
    """The exchange does not list the market (any more)."""


class PriceFeed(Protocol):
    """What the watcher reads: the exchange's markets (ccxt's unified symbol -> market),
    and the closed one-minute candles of one market that start in [since, until)."""

    name: str

    async def markets(self) -> Mapping[str, Mapping[str, Any]]: ...

    async def candles(self, market: str, since: datetime, until: datetime) -> list[Candle]: ...

    async def daily_close(self, market: str, day: datetime) -> Decimal | None: ...

    async def close(self) -> None: ...


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _candle(row: list[Any]) -> Candle | None:
    """ccxt's [ms, open, high, low, close, volume] (floats) as a Candle of exact decimals
    (a float's shortest repr is the exchange's decimal text); None for an incomplete row."""
    if len(row) < 5 or any(value is None for value in row[:5]):  # noqa: PLR2004 - OHLC
        return None
    start = datetime.fromtimestamp(int(row[0]) / 1000, UTC)
    o, h, low, c = (Decimal(repr(float(value))) for value in row[1:5])
    return Candle(start, o, h, low, c)


class CcxtFeed:
    """A ccxt async exchange as a PriceFeed."""

    def __init__(self, exchange: Any, ccxt: Any) -> None:
        self._exchange = exchange
        self._ccxt = ccxt  # ccxt.async_support: its error classes
        self.name: str = exchange.id

    async def markets(self) -> Mapping[str, Mapping[str, Any]]:
        """Loaded once (ccxt keeps them); a failed load is tried again at the next call."""
        markets: Mapping[str, Mapping[str, Any]] = await self._call(self._exchange.load_markets)
        return markets

    async def candles(self, market: str, since: datetime, until: datetime) -> list[Candle]:
        """Every candle of `market` starting in [since, until), page by page. It stops as
        soon as the exchange shows nothing more before `until` (in steady use one request:
        the minute that closed, and the one still forming, which is left out)."""
        found: list[Candle] = []
        start, end = _ms(since), _ms(until)
        while start < end:
            rows = await self._call(self._exchange.fetch_ohlcv, market, TIMEFRAME, start, PAGE)
            parsed = [c for c in map(_candle, rows) if c is not None]
            page = [c for c in parsed if start <= _ms(c.start) < end]
            if not page:
                break
            found.extend(page)
            start = _ms(page[-1].start + MINUTE)
            if _ms(parsed[-1].start) >= end:  # it went past `until`: nothing more before it
                break
        return found

    async def daily_close(self, market: str, day: datetime) -> Decimal | None:
        """The close of `market`'s daily candle (UTC) of the day `day` falls in (today's:
        the latest price); None when the exchange has no candle for that day."""
        start = day.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        rows = await self._call(self._exchange.fetch_ohlcv, market, DAILY, _ms(start), 2)
        for candle in map(_candle, rows):
            if candle is not None and candle.start == start:
                return candle.close
        return None

    async def _call(self, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        errors = self._ccxt
        try:
            return await method(*args)
        except errors.BadSymbol as error:
            raise UnlistedError(f"{type(error).__name__}: {str(error)[:200]}") from None
        except (errors.BaseError, aiohttp.ClientError, OSError, TimeoutError) as error:
            raise FeedDownError(f"{type(error).__name__}: {str(error)[:200]}") from None

    async def close(self) -> None:
        await self._exchange.close()


def _moved(url: str, base: str) -> str:
    """`url` (an exchange's API URL) with its scheme and host replaced by `base`'s."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{base.rstrip('/')}{parts.path}{query}"


def point_at(urls: Any, base: str) -> Any:
    """An exchange's `urls['api']` (a URL, or nested dicts of them) moved to `base`."""
    if isinstance(urls, str):
        return _moved(urls, base)
    if isinstance(urls, dict):
        return {key: point_at(value, base) for key, value in urls.items()}
    return urls


def open_feed(name: str, api_base: str | None = None) -> CcxtFeed:
    """The exchange PRICE_SOURCE names, through ccxt's async classes; StartupError (one
    line, exit status 2) when ccxt is not installed or has no such exchange."""
    try:
        ccxt = importlib.import_module("ccxt.async_support")
    except ImportError:
        raise StartupError("PRICE_SOURCE: ccxt is not installed (pip install ccxt)") from None
    if name not in ccxt.exchanges:
        raise StartupError(
            f"PRICE_SOURCE: ccxt {ccxt.__version__} has no exchange {name!r} "
            "(for example binance, bybit, okx)"
        )
    exchange = getattr(ccxt, name)({"enableRateLimit": True, "timeout": TIMEOUT_MS})
    if not exchange.has.get("fetchOHLCV"):
        raise StartupError(f"PRICE_SOURCE: {name} gives no candles through ccxt (fetchOHLCV)")
    if api_base is not None:
        exchange.urls["api"] = point_at(exchange.urls["api"], api_base)
    return CcxtFeed(exchange, ccxt)
