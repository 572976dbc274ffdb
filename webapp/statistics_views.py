"""The track record's statistics as JSON (GET /api/v1/performance's "statistics"), from the
one module that computes them (bot/signals/statistics.py). Decimals travel as strings."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

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
