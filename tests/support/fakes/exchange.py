"""A fake Binance on 127.0.0.1 for ccxt's binance class: scripted one-minute candles per
symbol, an outage switch and delisting. PRICE_API_BASE points ccxt at it
(bot/outcomes/exchange.py moves every API URL of the exchange onto this host).

It answers what ccxt 4.5's binance asks for to load markets (GET /api/v3/exchangeInfo,
and the futures' /fapi/v1 and /dapi/v1 exchangeInfo, which list nothing here) and for
candles (GET /api/v3/klines?symbol=&interval=1m&startTime=&limit=), in Binance's shapes:
a kline is [open time, "open", "high", "low", "close", "volume", close time, ...]; an
unknown symbol is HTTP 400 {"code": -1121, "msg": "Invalid symbol."}, as Binance says it.

Candles are scripted, not simulated: `market()` lists a symbol, `candle()` sets one
minute, `flat()` fills minutes at one price; a minute without a script has no candle (an
exchange may skip minutes without trades; Binance's real klines would repeat the last
price). `day()` sets one daily candle (GET /api/v3/klines?interval=1d: the statistics'
holding of BTC reads daily closes). `down("503")` answers every
request with 503, `down("refused")` closes the port (connection refused) until `up()`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
MAX_LIMIT = 1000
Price = Decimal | int | str


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def minute_of(moment: datetime) -> datetime:
    """The start of the one-minute candle `moment` falls in."""
    return moment.replace(second=0, microsecond=0)


@dataclass
class _Market:
    base: str
    quote: str
    candles: dict[int, tuple[str, str, str, str]] = field(default_factory=dict)
    days: dict[int, tuple[str, str, str, str]] = field(default_factory=dict)
    listed: bool = True


class FakeExchange:
    """`async with FakeExchange() as fake:` serves on 127.0.0.1; `fake.base_url` is what
    PRICE_API_BASE takes. `requests` counts the paths asked for (klines per symbol too)."""

    def __init__(self) -> None:
        self._markets: dict[str, _Market] = {}
        self.requests: Counter[str] = Counter()
        self.outage: Literal["503", "refused"] | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    # --- the script ------------------------------------------------------------------

    def market(self, symbol: str, base: str, quote: str) -> None:
        """List a market (BTCUSDT: base BTC, quote USDT)."""
        self._markets.setdefault(symbol, _Market(base, quote)).listed = True

    def delist(self, symbol: str) -> None:
        """The market is gone: not in exchangeInfo, and its klines are "Invalid symbol"."""
        self._markets[symbol].listed = False

    def candle(
        self, symbol: str, start: datetime, ohlc: tuple[Price, Price, Price, Price]
    ) -> None:
        """The candle of the minute `start` falls in: (open, high, low, close)."""
        o, h, low, c = (str(value) for value in ohlc)
        self._markets[symbol].candles[_ms(minute_of(start))] = (o, h, low, c)

    def flat(self, symbol: str, start: datetime, end: datetime, price: Price) -> None:
        """A candle at `price` for every minute from `start` up to (not including) `end`."""
        moment = minute_of(start)
        while moment < end:
            self.candle(symbol, moment, (price, price, price, price))
            moment += MINUTE

    def day(self, symbol: str, moment: datetime, close: Price) -> None:
        """The daily candle (UTC) of the day `moment` falls in, closing at `close`."""
        start = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        text = str(close)
        self._markets[symbol].days[_ms(start)] = (text, text, text, text)

    def klines_asked(self, symbol: str | None = None) -> int:
        """How many klines requests came (for `symbol`, or in all)."""
        if symbol is None:
            return sum(n for key, n in self.requests.items() if key.startswith("klines:"))
        return self.requests[f"klines:{symbol}"]

    # --- the server ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    async def __aenter__(self) -> FakeExchange:
        await self._start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._stop()

    async def down(self, how: Literal["503", "refused"] = "503") -> None:
        self.outage = how
        if how == "refused":
            await self._stop()

    async def up(self) -> None:
        if self.outage == "refused":
            await self._start()
        self.outage = None

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v3/exchangeInfo", self._spot_info)
        app.router.add_get("/fapi/v1/exchangeInfo", self._no_markets)
        app.router.add_get("/dapi/v1/exchangeInfo", self._no_markets)
        app.router.add_get("/api/v3/klines", self._klines)
        app.middlewares.append(self._outage)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port).start()
        self._port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _outage(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests[request.path] += 1
        if self.outage is not None:
            return web.Response(status=503, text="Service Unavailable")
        response: web.StreamResponse = await handler(request)
        return response

    async def _spot_info(self, _request: web.Request) -> web.Response:
        symbols = [
            {
                "symbol": symbol,
                "status": "TRADING",
                "baseAsset": market.base,
                "baseAssetPrecision": 8,
                "quoteAsset": market.quote,
                "quotePrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"],
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "permissions": ["SPOT"],
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": "0.00000001",
                        "maxPrice": "10000000.00000000",
                        "tickSize": "0.00000001",
                    }
                ],
            }
            for symbol, market in self._markets.items()
            if market.listed
        ]
        body = {"timezone": "UTC", "serverTime": _ms(datetime.now(UTC)), "symbols": symbols}
        return web.json_response(body)

    async def _no_markets(self, _request: web.Request) -> web.Response:
        return web.json_response({"timezone": "UTC", "symbols": []})

    async def _klines(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "")
        self.requests[f"klines:{symbol}"] += 1
        market = self._markets.get(symbol)
        if market is None or not market.listed:
            body = json.dumps({"code": -1121, "msg": "Invalid symbol."})
            return web.Response(status=400, text=body, content_type="application/json")
        start = int(request.query.get("startTime", "0"))
        limit = min(int(request.query.get("limit", "500")), MAX_LIMIT)
        end = int(request.query.get("endTime", str(2**62)))
        daily = request.query.get("interval") == "1d"
        script = market.days if daily else market.candles
        starts = sorted(t for t in script if start <= t <= end)[:limit]
        length = DAY if daily else MINUTE
        return web.json_response([self._kline(t, script[t], length) for t in starts])

    @staticmethod
    def _kline(start: int, prices: tuple[str, str, str, str], length: timedelta) -> list[Any]:
        o, h, low, c = prices
        close_time = start + int(length.total_seconds() * 1000) - 1
        return [start, o, h, low, c, "1.0", close_time, "1.0", 1, "0.5", "0.5", "0"]
