"""What admins read about Telegram's paid lane: a signal's cost before Send, the lane
closing for the day, and the paid sends in a broadcast's report and in /stats."""

from __future__ import annotations

import math

from bot.notices import params as shapes
from bot.notices.paid import TENTHS_PER_MESSAGE, Estimate, stars
from bot.texts import Html, t, tn

_CLOSED = {
    "budget": "paid.closed.budget",
    "balance": "paid.closed.balance",
    "refused": "paid.closed.refused",
}


def duration(seconds: float) -> Html:
    """About how long: seconds under two minutes, then minutes."""
    if seconds < 120:  # noqa: PLR2004 - two minutes
        return tn("duration.seconds", max(1, math.ceil(seconds)))
    return tn("duration.minutes", math.ceil(seconds / 60))


def preview_cost(cost: Estimate) -> Html:
    """Under a signal's preview when it may go fast: its price and both lanes' times."""
    return t(
        "signal.preview_cost",
        count=cost.messages,
        stars=cost.stars,
        fast=duration(cost.paid_seconds),
        free=duration(cost.free_seconds),
    )


def lane_closed(p: shapes.PaidLaneClosed) -> tuple[str, None]:
    key = _CLOSED.get(str(p["reason"]), "paid.closed.refused")
    spent = stars(int(p["tenths"]))
    return t(key, budget=p.get("budget") or 0, sends=int(p["sends"]), stars=spent), None


def in_report(paid: int) -> Html:
    """A broadcast's paid sends, in its progress report (nothing when none went paid)."""
    cost = stars(paid * TENTHS_PER_MESSAGE)
    return t("progress.paid", paid=paid, stars=cost) if paid else Html("")


def in_stats(today: tuple[int, int], month: tuple[int, int]) -> Html:
    """/stats' line: paid sends and Stars spent today and in 30 days."""
    return t(
        "stats.paid",
        today=today[0],
        today_stars=stars(today[1]),
        month=month[0],
        month_stars=stars(month[1]),
    )
