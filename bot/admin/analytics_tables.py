"""The analytics' calendar tables, pure: new and churned subscribers per day, week and
month, and revenue by plan and by month (bot/admin/analytics.py computes the rest)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot.admin.analytics_rows import Bucket, MonthRevenue, PaymentRow, PlanRevenue, Span

# How far back each table looks, counting the current day, week or month.
WINDOWS = {"day": 30, "week": 12, "month": 12}


def month_start(day: date) -> date:
    return day.replace(day=1)


def months_after(month: date, count: int) -> date:
    """The 1st of the month `count` months after (or before) `month`'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def period_of(day: date, unit: str) -> date:
    """The day a `unit` (day, week from Monday, month) containing `day` starts."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return month_start(day)
    return day


def _starts(now: datetime, unit: str) -> list[date]:
    last = period_of(now.date(), unit)
    count = WINDOWS[unit]
    if unit == "month":
        return [months_after(last, offset) for offset in range(1 - count, 1)]
    step = timedelta(days=7 if unit == "week" else 1)
    return [last - step * offset for offset in range(count - 1, -1, -1)]


def buckets(spans: Sequence[Span], now: datetime, unit: str) -> tuple[Bucket, ...]:
    """New (a span's start), churned (its end, voluntary or involuntary) and net, per
    `unit`, over the last WINDOWS[unit] of them, oldest first."""
    starts = _starts(now, unit)
    counts: dict[date, list[int]] = {start: [0, 0, 0] for start in starts}
    for span in spans:
        new = counts.get(period_of(span.start.date(), unit))
        if new is not None:
            new[0] += 1
        if span.end is None or span.end > now:
            continue
        ended = counts.get(period_of(span.end.date(), unit))
        if ended is not None:
            ended[2 if span.involuntary else 1] += 1
    return tuple(Bucket(start, *counts[start]) for start in starts)


def revenue_tables(
    payments: Sequence[PaymentRow], now: datetime
) -> tuple[tuple[PlanRevenue, ...], tuple[MonthRevenue, ...]]:
    """Payments by rail, plan and currency (all time: count, gross, refunded), and the
    net by month of payment and currency (the last 12 months). Currencies never mix."""
    plans: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    months: dict[tuple[date, str], int] = defaultdict(int)
    oldest = months_after(month_start(now.date()), 1 - WINDOWS["month"])
    for payment in payments:
        currency = payment.currency.lower()
        refunded = payment.amount if payment.refunded_at is not None else 0
        row = plans[payment.rail, payment.plan or "", currency]
        row[0] += 1
        row[1] += payment.amount
        row[2] += refunded
        month = month_start(payment.at.date())
        if month >= oldest:
            months[month, currency] += payment.amount - refunded
    by_plan = tuple(
        PlanRevenue(rail, plan or None, currency, *plans[rail, plan, currency])
        for rail, plan, currency in sorted(plans)
    )
    by_month = tuple(MonthRevenue(month, cur, months[month, cur]) for month, cur in sorted(months))
    return by_plan, by_month
