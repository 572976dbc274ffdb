"""The public track record at /track-record: no login, cacheable, readable outside Telegram.

Closed signals with the time each was posted and each update, the win rate, R per signal
and the equity curve (inline SVG, and /track-record.png for link previews), the statistics
(webapp/track_statistics.py; holding BTC beside them with PRICE_SOURCE); open signals
only as a count, so nothing a subscriber pays for leaks (the verifiable record's entries,
webapp/track_chain.py, show each one's number, time and commitment, never its levels
before it closes). Signals cannot be edited or deleted once published (only cancelled,
which shows here), so the record is what subscribers saw. The words are the catalogue's,
in the reader's language (`?lang=ru`, else the browser's Accept-Language), rendered by
webapp/track_page.py; no script.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal

from aiogram.exceptions import AiogramError
from aiohttp import web

from bot.core.languages import bcp47
from bot.signals import record, record_store, statistics
from bot.signals.service import closed_signals, summarise
from bot.signals.statistics import Trade
from bot.signals.syntax import plain_number
from bot.telegram.client import bot_username
from bot.texts import babel_locale, plain, plain_n
from db.models import SignalStatus
from webapp import track_page
from webapp.keys import BOT, HOLDINGS, SETTINGS, UNIT_OF_WORK
from webapp.track_image import curve_png
from webapp.track_statistics import Benchmark

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
CACHE = "public, max-age=60"  # the same for everyone; a minute old at worst
SHOWN = 200  # the newest closed signals listed (the figures count them all)
CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; " + (
    "form-action 'none'; frame-ancestors 'none'"
)
BOT_NAME_WAIT = 2.0  # seconds the page waits for getMe (once: aiogram keeps the answer)
DEEP_LINK = "track"  # /start's payload from the page's Subscribe button
_images: dict[tuple[Decimal, ...], bytes] = {}  # the last curve drawn, by its points


async def _load(request: web.Request) -> tuple[record.Closed, record_store.Recent]:
    async with request.app[UNIT_OF_WORK].reading() as session:
        return await record.load(session, shown=SHOWN), await record_store.recent(session, SHOWN)


@routes.get("/track-record")
async def track_record(request: web.Request) -> web.Response:
    loaded, chain = await _load(request)
    closed, updates, open_count = loaded.signals, loaded.updates, loaded.open_count
    results = [
        row for row in closed if row.status != SignalStatus.CANCELLED and row.result_r is not None
    ]
    [overall] = [w for w in summarise(results, datetime.now(UTC)) if w.label == "all"]
    rate = f"{plain_number(overall.win_rate)}%" if overall.win_rate is not None else "—"
    total = track_page.r_text(overall.total_r)
    page = track_page.Page(
        title=plain("track.title"),
        headline=plain_n("track.headline", overall.count, rate=rate, total=total),
        open_count=open_count,
        results=results,
        closed=closed[-SHOWN:],
        updates=updates,
        subscribe=await _subscribe_link(request),
        image=f"{_origin(request)}/track-record.png" if results else None,
        chain=chain,
        benchmark=await _benchmark(request, statistics.trades_of(results)),
        reveal_hours=request.app[SETTINGS].record_reveal_hours,
    )
    # In the reader's language (webapp/language.py): a cache keeps one copy per language.
    headers = {
        "Cache-Control": CACHE,
        "Content-Security-Policy": CSP,
        "Content-Language": bcp47(babel_locale()),
        "Vary": "Accept-Language",
    }
    return web.Response(text=track_page.render(page), content_type="text/html", headers=headers)


@routes.get("/track-record.png")
async def track_record_image(request: web.Request) -> web.Response:
    """The equity curve as a picture, for a shared link's preview."""
    async with request.app[UNIT_OF_WORK].reading() as session:
        results = await closed_signals(session)
    points = tuple(track_page.curve_points(results))
    image = _images.get(points)
    if image is None:
        image = await asyncio.to_thread(curve_png, points)  # ~0.1 s of drawing
        _images.clear()
        _images[points] = image
    return web.Response(body=image, content_type="image/png", headers={"Cache-Control": CACHE})


async def _benchmark(request: web.Request, trades: list[Trade]) -> Benchmark:
    """Holding BTC over the record's period, when PRICE_SOURCE names an exchange (read
    through bot/outcomes/benchmark.py's cache, not per view)."""
    holdings = request.app.get(HOLDINGS)
    if holdings is None:
        return Benchmark(enabled=False)
    return Benchmark(enabled=True, comparison=await holdings.compare(trades))


async def _subscribe_link(request: web.Request) -> str | None:
    """The bot's deep link for the Subscribe button; None while Telegram cannot say the
    bot's name (the page is served without the button rather than not at all)."""
    try:
        username = await asyncio.wait_for(bot_username(request.app[BOT]), BOT_NAME_WAIT)
    except (AiogramError, TimeoutError) as error:
        log.info("track record without its Subscribe button: %s", type(error).__name__)
        return None
    return f"https://t.me/{username}?start={DEEP_LINK}" if username else None


def _origin(request: web.Request) -> str:
    """Where the page is reached: PUBLIC_URL, else the request's own origin."""
    public = request.app[SETTINGS].public_url
    return public or f"{request.scheme}://{request.host}"
