"""The track record's statistics as JSON (GET /api/v1/performance's "statistics"), from the
one module that computes them (bot/signals/statistics.py). Decimals travel as strings."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

from bot.outcomes.benchmark import Comparison
from bot.signals import statistics
from bot.signals.statistics import Figures, Trade


def _json(value: object) -> object:
    return format(value, "f") if isinstance(value, Decimal) else value


def figures(found: Figures) -> dict[str, Any]:
    return {field.name: _json(getattr(found, field.name)) for field in fields(found)}


def statistics_of(trades: list[Trade]) -> dict[str, Any]:
    """Every figure, the same by month, symbol, side and timeframe, and the portfolio."""
    portfolio = statistics.portfolio(trades)
    return {
        "overall": figures(statistics.figures(trades)),
        "by": {
            name: {group: figures(f) for group, f in statistics.grouped(trades, key).items()}
            for name, key in statistics.BY.items()
        },
        "monthly_r": {month: format(r, "f") for month, r in statistics.monthly_r(trades).items()},
        "portfolio": {
            "method": "compounding, a fixed share of the balance risked on each signal",
            "start": format(portfolio.start, "f"),
            "risk": format(portfolio.risk, "f"),
            "end": format(portfolio.end, "f"),
            "return_pct": format(portfolio.return_pct, "f"),
            "max_drawdown_pct": format(portfolio.max_drawdown_pct, "f"),
            "curve": [format(point, "f") for point in portfolio.curve],
        },
    }


def holding(comparison: Comparison | None) -> dict[str, Any] | None:
    """Holding BTC over the record's period (bot/outcomes/benchmark.py's cached figure, the
    public page's): None while the exchange cannot say or before the first closed signal."""
    if comparison is None or comparison.holding is None:
        return None
    held = comparison.holding
    return {
        "method": "the start balance bought at the first day's daily close, valued at the last's",
        "pair": held.pair,
        "start": format(held.start, "f"),
        "first_price": format(held.first_price, "f"),
        "last_price": format(held.last_price, "f"),
        "end": format(held.end, "f"),
        "return_pct": format(held.return_pct, "f"),
        "first": comparison.first.isoformat(),
        "last": comparison.last.isoformat(),
    }
