"""The public track record's HTML: the provider's shop window, in the reader's language.

Pure rendering over loaded rows (webapp/track_record.py loads them and serves the page):
R and prices written as the language writes numbers, each update in words ("Stop loss at
3,520", not "sl @ 3520"), the equity curve with its axes, a Subscribe button that opens the
bot, and a friendly page while nothing has closed yet.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from babel.numbers import format_decimal

from bot.core.languages import bcp47
from bot.signals import statistics
from bot.signals.record_store import Recent
from bot.texts import babel_locale, disclaimer, format_date, format_moment, plain
from bot.texts.outcomes import declared_by
from bot.texts.signals import status_label
from db.models import Signal, SignalStatus, SignalUpdate
from webapp import track_chain, track_statistics
from webapp.track_statistics import Benchmark

_W, _H = 640, 220  # the equity curve's viewBox
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 8, 10, 28  # room for the axes' labels
_CENT = Decimal("0.01")
# The catalogue's ids, spelled out (tests/project/test_texts.py finds every id in the code).
_UPDATES = {
    "sl": "track.update.sl",
    "close": "track.update.close",
    "cancel": "track.update.cancel",
}


@dataclass(frozen=True)
class Page:
    """What the page shows; `subscribe` is the bot's deep link (None: unknown now)."""

    title: str
    headline: str
    open_count: int
    results: list[Signal]
    closed: list[Signal]
    updates: dict[int, list[SignalUpdate]]
    subscribe: str | None
    image: str | None  # the absolute URL of the curve as a PNG, for link previews
    chain: Recent | None = None  # the verifiable record's newest entries (track_chain.py)
    benchmark: Benchmark = Benchmark(enabled=False)  # holding BTC beside the portfolio
    reveal_hours: int | None = None  # RECORD_REVEAL_HOURS, said in the chain's section


def r_text(value: Decimal | None) -> str:
    """+1.33R, -0.5R: two decimals at most, in the reader's digits."""
    if value is None:
        return "—"
    number = format_decimal(abs(value).quantize(_CENT), "#,##0.##", locale=babel_locale())
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return f"{sign}{number}R"


def price_text(value: Decimal) -> str:
    return str(format_decimal(value, "#,##0.##########", locale=babel_locale()))


def update_words(update: SignalUpdate) -> str:
    """One update as a person says it: "Take-profit 1 hit at 67,000"."""
    at = plain("track.at", price=price_text(update.price)) if update.price is not None else ""
    if update.kind.startswith("tp"):
        return plain("track.update.tp", n=update.kind[2:], at=at)
    key = _UPDATES.get(update.kind)
    return plain(key, at=at) if key else update.kind


def render(page: Page) -> str:
    title = html.escape(page.title)
    description = page.headline if page.closed else plain("track.empty")
    image = f'<meta property="og:image" content="{html.escape(page.image)}">' if page.image else ""
    return f"""<!doctype html>
<html lang="{bcp47(babel_locale())}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta property="og:title" content="{title}">
<meta property="og:description" content="{html.escape(description)}">
<meta property="og:type" content="website">
{image}
<link rel="stylesheet" href="/app/track-record.css">
</head><body><main>
<h1>{title}</h1>
{_body(page)}
</main></body></html>"""


def _body(page: Page) -> str:
    chain = track_chain.section(page.chain, page.reveal_hours) if page.chain else ""
    return f"{_results(page)}\n{chain}\n{_disclaimer()}"


def _disclaimer() -> str:
    """The risk disclaimer subscribers accept before paying, for every reader to see."""
    paragraphs = "".join(
        f"<p>{html.escape(line)}</p>" for line in disclaimer.text().split("\n") if line.strip()
    )
    title = html.escape(plain("track.disclaimer"))
    return f'<aside class="disclaimer" id="disclaimer"><h2>{title}</h2>{paragraphs}</aside>'


def _results(page: Page) -> str:
    button = _subscribe(page.subscribe)
    open_line = html.escape(plain("track.open", count=page.open_count))
    if not page.closed:
        empty = html.escape(plain("track.empty"))
        return f'<p class="empty">{empty}</p>\n<p class="open">{open_line}</p>\n{button}'
    items = "".join(_signal_item(row, page.updates[row.id]) for row in reversed(page.closed))
    return f"""<p class="headline">{html.escape(page.headline)}</p>
<p class="open">{open_line}</p>
{button}
{curve_svg(page.results)}
<p class="honest">{html.escape(plain("track.honest"))}</p>
{track_statistics.section(statistics.trades_of(page.results), page.benchmark)}
<h2>{html.escape(plain("track.closed"))}</h2>
<ul class="signals">{items}</ul>"""


def _subscribe(link: str | None) -> str:
    if link is None:
        return ""
    words = html.escape(plain("track.subscribe"))
    return f'<p><a class="subscribe" href="{html.escape(link)}">{words}</a></p>'


def _signal_item(row: Signal, updates: list[SignalUpdate]) -> str:
    cancelled = row.status == SignalStatus.CANCELLED
    head = html.escape(f"#{row.id} {row.side.upper()} {row.symbol}")
    result = plain("track.cancelled") if cancelled else r_text(row.result_r)
    posted = plain("track.posted", when=_moment(row.published_at))
    lines = [
        f'<li class="signal"><p class="head"><b>{head}</b> · {status_label(row)} · '
        f"{html.escape(result)}</p>",
        f'<p class="when">{html.escape(posted)}</p>',
        _declared(row, updates),
        '<ul class="updates">',
    ]
    for update in updates:
        what = f"{_moment(update.created_at)} — {update_words(update)}"
        lines.append(f"<li>{html.escape(what)}</li>")
    lines.append("</ul></li>")
    return "".join(lines)


def _declared(row: Signal, updates: list[SignalUpdate]) -> str:
    """Who said how the signal ended: the exchange's prices, or the provider by hand
    (a cancelled signal had no outcome)."""
    if row.status == SignalStatus.CANCELLED:
        return ""
    return f'<p class="source">{html.escape(declared_by(updates))}</p>'


def _moment(moment: datetime | None) -> str:
    return f"{format_moment(moment)} UTC" if moment else "—"


def curve_points(results: Sequence[Signal]) -> list[Decimal]:
    """Cumulative R after each closed signal, from 0 (the statistics' equity curve)."""
    return statistics.equity_r(statistics.trades_of(results))


def curve_svg(results: Sequence[Signal]) -> str:
    """The equity curve in R with its axes: R at the top, bottom and zero on the left, the
    first and last closing dates below (nothing when there are no results)."""
    points = curve_points(results)
    if len(points) < 2:  # noqa: PLR2004 - a line needs two points
        return ""
    low, high = min([*points, Decimal(0)]), max([*points, Decimal(0)])
    span = (high - low) or Decimal(1)
    width, height = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def y(value: Decimal) -> float:
        return float(_TOP + height - (value - low) / span * height)

    step = width / (len(points) - 1)
    coords = " ".join(f"{_LEFT + i * step:.1f},{y(p):.1f}" for i, p in enumerate(points))
    ticks = "".join(
        f'<text x="{_LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">'
        f"{html.escape(r_text(v))}</text>"
        for v in sorted({low, Decimal(0), high})
    )
    first, last = results[0].closed_at, results[-1].closed_at
    dates = (
        f'<text x="{_LEFT}" y="{_H - 8}">{html.escape(format_date(first))}</text>'
        f'<text x="{_W - _RIGHT}" y="{_H - 8}" text-anchor="end">'
        f"{html.escape(format_date(last))}</text>"
        if first and last
        else ""
    )
    label = html.escape(plain("track.curve_label", total=r_text(points[-1])))
    zero = y(Decimal(0))
    return (
        f'<svg class="curve" viewBox="0 0 {_W} {_H}" role="img" aria-label="{label}">'
        f'<g class="axis"><line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + height}"/>'
        f'<line class="zero" x1="{_LEFT}" y1="{zero:.1f}" x2="{_W - _RIGHT}" y2="{zero:.1f}"/>'
        f"{ticks}{dates}</g>"
        f'<polyline fill="none" stroke="currentColor" stroke-width="2" points="{coords}"/></svg>'
    )
