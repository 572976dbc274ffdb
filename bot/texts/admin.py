"""What admins read: /stats, /grant answers, broadcast titles and progress (catalogue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.delivery.broadcast_counts import Counts
from bot.texts import Html, money, t
from bot.texts import paid as paid_texts

if TYPE_CHECKING:  # the delivery worker renders progress without the admin service
    from bot.admin.service import Stats

GRANT_SYNTAX = "/grant USER_ID DAYS  (DAYS 0 takes a grant back)"
TITLES = {"signal": "title.signal", "signal_update": "title.signal_update"}


def stats(figures: Stats) -> Html:
    states = ", ".join(
        t("stats.state", state=state, count=count)
        for state, count in sorted(figures.by_state.items())
        if count
    )
    mrr = ", ".join(money(a, cur) for cur, a in sorted(figures.mrr.items()))
    total, rewarded = figures.referrals
    text = t(
        "stats.text",
        users=figures.users,
        blocked=figures.blocked,
        with_access=figures.with_access,
        states=Html(states) if states else t("stats.none"),
        new=figures.new_30d,
        churned=figures.churned_30d,
        mrr=mrr or t("stats.no_mrr"),
        open=figures.signals_open,
        closed=figures.signals_closed,
        pending=figures.outbox_pending,
        failed=figures.outbox_failed,
    )
    text = Html(text + "\n" + t("stats.referrals", total=total, rewarded=rewarded))
    if figures.paid_30d[0]:
        text = Html(text + paid_texts.in_stats(figures.paid_today, figures.paid_30d))
    return text


def broadcast_title(kind: str, about: str) -> Html:
    """A broadcast's name: what it sends (`about` is its data: "#17 BTCUSDT long")."""
    key = TITLES.get(kind)
    return t(key, about=about) if key else t("title.announcement")


def progress(title: Html, counts: Counts, elapsed: float | None = None) -> Html:
    figures = t(
        "progress.figures",
        sent=counts.sent,
        total=counts.total,
        pending=counts.pending,
        failed=counts.failed,
        blocked=counts.blocked,
        skipped=counts.skipped,
    )
    figures = Html(figures + paid_texts.in_report(counts.paid))
    if not counts.done:
        return t("progress.delivering", title=title, figures=figures)
    took = t("progress.took", seconds=elapsed) if elapsed is not None else Html("")
    return t("progress.delivered", title=title, figures=figures, took=took)
