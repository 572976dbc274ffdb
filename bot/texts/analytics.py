"""The analytics' lines in /stats: MRR by rail, this month's subscribers in and out, the
rates (catalogue; the figures come from bot/admin/analytics.py)."""

from __future__ import annotations

from babel.numbers import format_percent

from bot.admin.analytics_rows import Report
from bot.texts import Html, babel_locale, money, t

RAILS = {"stripe": "analytics.rail.stripe", "stars": "analytics.rail.stars"}


def percent(rate: float | None) -> str:
    """A rate as the language writes a percentage (12.5 %), or a dash when nothing counts."""
    if rate is None:
        return "—"
    return str(format_percent(rate, "#,##0.#%", locale=babel_locale()))


def _rate(rate: float | None, part: int, whole: int) -> Html:
    return t("analytics.rate", percent=percent(rate), part=part, whole=whole)


def summary(report: Report) -> Html:
    """The compact summary under /stats' figures (the Mini App has the tables)."""
    mrr = " · ".join(
        t("analytics.mrr_part", rail=t(RAILS[m.rail]), amount=money(m.amount, m.currency))
        for m in report.mrr
    )
    month = report.months[-1]
    trials, dunning, referrals = report.trials, report.dunning, report.referrals
    return t(
        "analytics.summary",
        mrr=Html(mrr) if mrr else t("stats.no_mrr"),
        paying=report.paying,
        new=month.new,
        churned=month.churned,
        voluntary=month.voluntary,
        involuntary=month.involuntary,
        net=f"{month.net:+d}",
        trials=_rate(trials.rate, trials.converted, trials.converted + trials.lost),
        dunning=_rate(dunning.rate, dunning.recovered, dunning.recovered + dunning.lost),
        referrals=_rate(referrals.rate, referrals.converted, referrals.referred),
    )
