"""The public track record's statistics section: every figure bot/signals/statistics.py
computes (the ones /performance and the Mini App show), overall and by month, symbol, side
and timeframe, the simulated fixed-risk portfolio with its method, and beside it holding
BTC over the same period when PRICE_SOURCE is set (bot/outcomes/benchmark.py reads the
prices). Pure rendering: nothing is computed here but the words and the digits. Only
closed signals with a result count (their levels are public by then); open ones never."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_decimal

from bot.outcomes.benchmark import Comparison
from bot.signals import statistics
from bot.signals.statistics import Figures, Trade
from bot.texts import babel_locale, format_date, plain

NONE = "—"
# The catalogue's ids, spelled out (tests/project/test_texts.py finds every id in the code).
GROUPS = {
    "month": "track.stats.by_month",
    "symbol": "track.stats.by_symbol",
    "side": "track.stats.by_side",
    "timeframe": "track.stats.by_timeframe",
}
SIDES = {"long": "side.long", "short": "side.short"}


@dataclass(frozen=True)
class Benchmark:
    """Holding BTC beside the portfolio: `enabled` is PRICE_SOURCE set; `comparison` is
    None while the exchange cannot say (or there are no trades)."""

    enabled: bool
    comparison: Comparison | None = None


def number(value: Decimal | float | None, places: str = "#,##0.##") -> str:
    """A figure in the reader's digits, with its sign when negative."""
    if value is None:
        return NONE
    return str(format_decimal(Decimal(str(value)), places, locale=babel_locale()))


def r(value: Decimal | None) -> str:
    if value is None:
        return NONE
    sign = "+" if value > 0 else ""
    return f"{sign}{number(value)}R"


def section(trades: Sequence[Trade], benchmark: Benchmark) -> str:
    """The section, or nothing before the first closed signal with a result."""
    if not trades:
        return ""
    overall = statistics.figures(trades)
    tables = "".join(
        _table(plain(GROUPS[name]), name, statistics.grouped(trades, key))
        for name, key in statistics.BY.items()
    )
    return f"""<section class="statistics" id="statistics">
<h2>{html.escape(plain("track.stats.title"))}</h2>
<p class="honest">{html.escape(plain("track.stats.counted"))}</p>
{_figures(overall)}
{_portfolio(trades)}
{_holding(benchmark)}
{tables}
</section>"""


def _figures(found: Figures) -> str:
    rate = f"{number(found.win_rate, '#,##0.#')}%" if found.win_rate is not None else NONE
    rows = [
        ("track.stats.win_rate", rate),
        ("track.stats.average_r", r(found.average_r)),
        ("track.stats.expectancy", r(found.expectancy_r)),
        ("track.stats.profit_factor", number(found.profit_factor)),
        ("track.stats.drawdown", r(-found.max_drawdown_r) if found.max_drawdown_r else "0R"),
        ("track.stats.streak", str(found.longest_losing_streak)),
        ("track.stats.sharpe", number(found.sharpe)),
        ("track.stats.sortino", number(found.sortino)),
    ]
    items = "".join(
        f"<div><dt>{html.escape(plain(key))}</dt><dd>{html.escape(value)}</dd></div>"
        for key, value in rows
    )
    return f'<dl class="figures">{items}</dl>'


def _change(value: Decimal) -> str:
    return f"{'+' if value > 0 else ''}{number(value)}"


def _portfolio(trades: Sequence[Trade]) -> str:
    found = statistics.portfolio(trades)
    line = plain(
        "track.stats.portfolio",
        start=number(found.start),
        end=number(found.end),
        change=_change(found.return_pct),
        drawdown=number(found.max_drawdown_pct),
    )
    method = plain("track.stats.portfolio_method", risk=number(found.risk * 100))
    return (
        f'<p class="portfolio">{html.escape(line)}</p>\n'
        f'<p class="method">{html.escape(method)}</p>'
    )


def _holding(benchmark: Benchmark) -> str:
    if not benchmark.enabled:
        return f'<p class="holding off">{html.escape(plain("track.stats.holding_off"))}</p>'
    comparison = benchmark.comparison
    if comparison is None or comparison.holding is None:
        words = plain("track.stats.holding_unavailable")
        return f'<p class="holding off">{html.escape(words)}</p>'
    held = comparison.holding
    first, last = format_date(comparison.first), format_date(comparison.last)
    line = plain(
        "track.stats.holding",
        asset=held.pair.split("/")[0],
        start=number(held.start),
        end=number(held.end),
        change=_change(held.return_pct),
    )
    method = plain(
        "track.stats.holding_method",
        pair=held.pair,
        first=first,
        last=last,
        first_price=number(held.first_price, "#,##0.##########"),
        last_price=number(held.last_price, "#,##0.##########"),
    )
    return (
        f'<p class="holding">{html.escape(line)}</p>\n<p class="method">{html.escape(method)}</p>'
    )


def _group_name(kind: str, name: str) -> str:
    if kind == "side" and name in SIDES:
        return plain(SIDES[name])
    return NONE if name == "-" else name


def _table(caption: str, kind: str, groups: dict[str, Figures]) -> str:
    head = "".join(
        f'<th scope="col">{html.escape(plain(key))}</th>'
        for key in (
            "track.stats.col.signals",
            "track.stats.col.win_rate",
            "track.stats.col.average_r",
            "track.stats.col.total_r",
        )
    )
    rows = "".join(
        f'<tr><th scope="row">{html.escape(_group_name(kind, name))}</th>'
        f"<td>{found.trades}</td>"
        f"<td>{number(found.win_rate, '#,##0.#')}%</td>"
        f"<td>{html.escape(r(found.average_r))}</td>"
        f"<td>{html.escape(r(found.total_r))}</td></tr>"
        for name, found in groups.items()
    )
    return (
        f'<table class="by by-{kind}"><caption>{html.escape(caption)}</caption>'
        f"<thead><tr><td></td>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )
