"""The track record's statistics in words (/performance), from bot/signals/statistics.py."""

from __future__ import annotations

from decimal import Decimal

from bot.signals.statistics import Figures, Holding, Portfolio
from bot.texts import Html, t

NONE = "—"  # a figure there is too little to say


def _r(value: Decimal | None) -> str:
    if value is None:
        return NONE
    sign = "+" if value > 0 else ""
    return f"{sign}{value.normalize():f} R"


def _number(value: Decimal | float | None) -> str:
    if value is None:
        return NONE
    return f"{value:.2f}"


def lines(figures: Figures, portfolio: Portfolio) -> list[Html]:
    """Profit factor, expectancy, drawdown and streak; Sharpe and Sortino; the portfolio."""
    if not figures.trades:
        return []
    change = portfolio.return_pct
    return [
        t(
            "performance.figures",
            profit_factor=_number(figures.profit_factor),
            expectancy=_r(figures.expectancy_r),
            drawdown=_r(-figures.max_drawdown_r) if figures.max_drawdown_r else "0 R",
            streak=figures.longest_losing_streak,
        ),
        t("performance.ratios", sharpe=_number(figures.sharpe), sortino=_number(figures.sortino)),
        t(
            "performance.portfolio",
            risk=f"{(portfolio.risk * 100).normalize():f}",
            start=portfolio.start,
            end=portfolio.end,
            change=f"{'+' if change > 0 else ''}{change}",
        ),
    ]


def holding(held: Holding | None) -> Html:
    """Holding BTC over the same period (bot/outcomes/benchmark.py's cached figure, the one
    the public page shows); None: the exchange cannot say right now."""
    if held is None:
        return t("performance.holding_unavailable")
    change = held.return_pct
    return t(
        "performance.holding",
        asset=held.pair.split("/")[0],
        start=held.start,
        end=held.end,
        change=f"{'+' if change > 0 else ''}{change}",
    )
