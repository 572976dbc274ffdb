"""The public track record at /track-record: no login, cacheable, readable outside Telegram.

Closed signals with the time each was posted and each update, the win rate, R per signal
and the equity curve (inline SVG); open signals only as a count, so nothing a subscriber
pays for leaks. Signals cannot be edited or deleted once published (only cancelled, which
shows here), so the record is what subscribers saw. Open Graph tags carry the headline
figures for link previews. Server-rendered HTML from the catalogue's words, in the reader's
language (`?lang=ru`, else the browser's Accept-Language); no script.
"""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from aiohttp import web
from sqlalchemy import func, select

from bot.chat.texts import babel_locale, plain, plain_n
from bot.chat.texts.signals import status_label
from bot.languages import bcp47
from bot.signals.service import summarise
from bot.signals.syntax import plain_number
from db.models import Signal, SignalStatus, SignalUpdate
from webapp.keys import UNIT_OF_WORK

routes = web.RouteTableDef()
CACHE = "public, max-age=60"  # the same for everyone; a minute old at worst
SHOWN = 200  # the newest closed signals listed (the figures count them all)
CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; " + (
    "form-action 'none'; frame-ancestors 'none'"
)
_W, _H = 600, 160  # the equity curve's viewBox


def _r(value: Decimal | None) -> str:
    if value is None:
        return "—"
    sign = "+" if value > 0 else ""
    return f"{sign}{plain_number(value)}R"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _curve(closed: list[Signal]) -> str:
    """The equity curve in R as an SVG polyline (nothing when there are no results)."""
    points, total = [Decimal(0)], Decimal(0)
    for row in closed:
        total += row.result_r or Decimal(0)
        points.append(total)
    if len(points) < 2:  # noqa: PLR2004 - a line needs two points
        return ""
    low, high = min(points), max(points)
    span = (high - low) or Decimal(1)
    step = Decimal(_W) / (len(points) - 1)
    coords = " ".join(
        f"{float(i * step):.1f},{float(_H - (p - low) / span * _H):.1f}"
        for i, p in enumerate(points)
    )
    label = html.escape(plain("track.curve_label", total=_r(total)))
    return (
        f'<svg class="curve" viewBox="0 0 {_W} {_H}" role="img" aria-label="{label}">'
        f'<polyline fill="none" stroke="currentColor" stroke-width="2" points="{coords}"/></svg>'
    )


def _signal_item(row: Signal, updates: list[SignalUpdate]) -> str:
    cancelled = row.status == SignalStatus.CANCELLED
    head = html.escape(f"#{row.id} {row.side.upper()} {row.symbol}")
    result = plain("track.cancelled") if cancelled else _r(row.result_r)
    lines = [
        f'<li class="signal"><p class="head"><b>{head}</b> · {status_label(row)} · '
        f"{html.escape(result)}</p>",
        f'<p class="when">{html.escape(plain("track.posted", when=_when(row.published_at)))}</p>',
        '<ul class="updates">',
    ]
    for update in updates:
        price = f" @ {plain_number(update.price)}" if update.price is not None else ""
        what = html.escape(f"{_when(update.created_at)} — {update.kind}{price}")
        lines.append(f"<li>{what}</li>")
    lines.append("</ul></li>")
    return "".join(lines)


async def _load(request: web.Request) -> tuple[list[Signal], dict[int, list[SignalUpdate]], int]:
    async with request.app[UNIT_OF_WORK]() as session:
        closed = list(
            await session.scalars(
                select(Signal)
                .where(Signal.published_at.is_not(None), Signal.closed_at.is_not(None))
                .order_by(Signal.closed_at, Signal.id)
            )
        )
        open_count = await session.scalar(
            select(func.count()).where(
                Signal.published_at.is_not(None), Signal.closed_at.is_(None)
            )
        )
        shown_ids = [row.id for row in closed[-SHOWN:]]
        updates: dict[int, list[SignalUpdate]] = defaultdict(list)
        if shown_ids:
            for update in await session.scalars(
                select(SignalUpdate)
                .where(SignalUpdate.signal_id.in_(shown_ids))
                .order_by(SignalUpdate.created_at, SignalUpdate.id)
            ):
                updates[update.signal_id].append(update)
    return closed, updates, int(open_count or 0)


@routes.get("/track-record")
async def track_record(request: web.Request) -> web.Response:
    closed, updates, open_count = await _load(request)
    results = [
        row for row in closed if row.status != SignalStatus.CANCELLED and row.result_r is not None
    ]
    [overall] = [w for w in summarise(results, datetime.now(UTC)) if w.label == "all"]
    rate = f"{plain_number(overall.win_rate)}%" if overall.win_rate is not None else "—"
    headline = plain_n("track.headline", overall.count, rate=rate, total=_r(overall.total_r))
    title = html.escape(plain("track.title"))
    items = "".join(_signal_item(row, updates[row.id]) for row in reversed(closed[-SHOWN:]))
    body = f"""<!doctype html>
<html lang="{bcp47(babel_locale())}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta property="og:title" content="{title}">
<meta property="og:description" content="{html.escape(headline)}">
<meta property="og:type" content="website">
<link rel="stylesheet" href="/app/track-record.css">
</head><body><main>
<h1>{title}</h1>
<p class="headline">{html.escape(headline)}</p>
<p class="open">{html.escape(plain("track.open", count=open_count))}</p>
{_curve(results)}
<p class="honest">{html.escape(plain("track.honest"))}</p>
<h2>{html.escape(plain("track.closed"))}</h2>
<ul class="signals">{items or "<li>" + html.escape(plain("track.none")) + "</li>"}</ul>
</main></body></html>"""
    # In the reader's language (webapp/language.py): a cache keeps one copy per language.
    headers = {
        "Cache-Control": CACHE,
        "Content-Security-Policy": CSP,
        "Content-Language": bcp47(babel_locale()),
        "Vary": "Accept-Language",
    }
    return web.Response(text=body, content_type="text/html", headers=headers)
