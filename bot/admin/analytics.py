"""The business's figures (MRR, new and churned subscribers, trials, dunning, revenue,
referrals, cohorts) computed from plain rows: pure, no SQL, no I/O. The rows come from
bot/admin/analytics_reader.py; docs/analytics.md defines every figure.

A subscriber is a user while they pay, on any rail: a *span* from their first payment to
the moment it stops (Stripe: the status leaves active/past_due; Stars: the paid period
runs out unrenewed, or a refund ends it). Spans of one user that touch or overlap (a
switch of rail, a renewal a little late) are one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bot.admin.analytics_rows import (
    STARS,
    STRIPE,
    Cohort,
    Dunning,
    Mrr,
    PaymentRow,
    Referrals,
    Report,
    Rows,
    Span,
    StateRow,
    Trials,
)
from bot.admin.analytics_tables import buckets, month_start, months_after, revenue_tables

# Stripe statuses in which a subscription is paid for (past_due: in dunning, still counted).
PAYING = frozenset({"active", "past_due"})
# Statuses that end a subscription (or a trial, or a dunning run) without payment.
LAPSED = frozenset({"canceled", "unpaid", "incomplete_expired"})
INVOLUNTARY_ENDS = frozenset({"unpaid", "incomplete_expired"})
DUNNING = frozenset({"past_due", "unpaid"})
# A Stars renewal (or the next subscription) this late still continues the span.
GAP = timedelta(days=1)
DAYS_PER_MONTH = Decimal("365.25") / 12
MONTHS_PER = {
    "day": DAYS_PER_MONTH,
    "week": DAYS_PER_MONTH / 7,
    "month": Decimal(1),
    "year": Decimal(1) / 12,
}
STARS_PERIOD_DAYS = 30


def _by_user(rows: Iterable[StateRow]) -> dict[int, list[StateRow]]:
    users: dict[int, list[StateRow]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.at):  # stable: the reader's order breaks ties
        users[row.user_id].append(row)
    return users


def stripe_spans(states: Sequence[StateRow]) -> list[Span]:
    """Each user's spans on Stripe: from the status becoming active to it leaving
    active/past_due; involuntary when it left for unpaid/incomplete_expired or from
    dunning (past_due, unpaid)."""
    spans: list[Span] = []
    for user_id, rows in _by_user(states).items():
        start: datetime | None = None
        previous: str | None = None
        for row in rows:
            if start is None and row.status == "active":
                start = row.at
            elif start is not None and row.status not in PAYING:
                involuntary = row.status in INVOLUNTARY_ENDS or previous in DUNNING
                spans.append(Span(user_id, start, row.at, involuntary))
                start = None
            previous = row.status
        if start is not None:
            spans.append(Span(user_id, start, None))
    return spans


def _payment_end(payment: PaymentRow) -> tuple[datetime, bool]:
    """When a Stars payment's paid period ends, and whether a refund ended it."""
    until = payment.until or payment.at
    if payment.refunded_at is not None and payment.refunded_at < until:
        return max(payment.refunded_at, payment.at), True
    return until, False


def stars_spans(
    payments: Sequence[PaymentRow], stopped: frozenset[str], now: datetime
) -> list[Span]:
    """Each user's spans on Stars: payments whose periods follow each other (within GAP).
    One that ended is involuntary unless a refund ended it or its renewal was switched
    off (Telegram could not charge the subscriber)."""
    spans: list[Span] = []
    users: dict[int, list[PaymentRow]] = defaultdict(list)
    for payment in sorted(payments, key=lambda p: p.at):
        if payment.rail == STARS:
            users[payment.user_id].append(payment)
    for user_id, rows in users.items():
        start, ref = rows[0].at, rows[0].ref
        end, refunded = _payment_end(rows[0])
        for payment in rows[1:]:
            until, by_refund = _payment_end(payment)
            if payment.at > end + GAP:
                spans.append(
                    _closed(
                        user_id, start, end, ref=ref, refunded=refunded, stopped=stopped, now=now
                    )
                )
                start, end, ref, refunded = payment.at, until, payment.ref, by_refund
            elif until >= end:
                end, ref, refunded = until, payment.ref, by_refund
        spans.append(
            _closed(user_id, start, end, ref=ref, refunded=refunded, stopped=stopped, now=now)
        )
    return spans


def _closed(
    user_id: int,
    start: datetime,
    end: datetime,
    *,
    ref: str,
    refunded: bool,
    stopped: frozenset[str],
    now: datetime,
) -> Span:
    if end > now:
        return Span(user_id, start, None)
    return Span(user_id, start, end, involuntary=not refunded and ref not in stopped)


def merged(spans: Iterable[Span]) -> list[Span]:
    """A user's spans that touch or overlap (within GAP) as one; the last to end says how
    it ended."""
    out: list[Span] = []
    users: dict[int, list[Span]] = defaultdict(list)
    for span in spans:
        users[span.user_id].append(span)
    for rows in users.values():
        rows.sort(key=lambda s: s.start)
        current = rows[0]
        for span in rows[1:]:
            if current.end is not None and span.start > current.end + GAP:
                out.append(current)
                current = span
            elif current.end is not None and (span.end is None or span.end >= current.end):
                current = Span(current.user_id, current.start, span.end, span.involuntary)
        out.append(current)
    return sorted(out, key=lambda s: (s.start, s.user_id))


def _rounded(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def mrr(rows: Rows, now: datetime) -> tuple[tuple[Mrr, ...], int]:
    """Monthly recurring revenue by rail and currency, and the Stripe subscriptions paying
    now that it could not price."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    unpriced = 0
    for user_rows in _by_user(rows.states).values():
        latest = user_rows[-1]
        if latest.status not in PAYING:
            continue
        price = rows.prices.get(latest.price_id or "")
        if price is None:
            unpriced += 1
            continue
        key = (STRIPE, price.currency.lower())
        totals[key] += Decimal(price.amount) * MONTHS_PER[price.interval] / price.interval_count
        counts[key] += 1
    latest_stars: dict[str, PaymentRow] = {}
    for payment in sorted(rows.payments, key=lambda p: p.at):
        if payment.rail == STARS:
            latest_stars[payment.ref] = payment
    for payment in latest_stars.values():
        if payment.refunded_at is None and payment.until is not None and payment.until > now:
            key = (STARS, payment.currency.lower())
            totals[key] += Decimal(payment.amount) * DAYS_PER_MONTH / STARS_PERIOD_DAYS
            counts[key] += 1
    table = tuple(
        Mrr(rail, cur, _rounded(totals[rail, cur]), counts[rail, cur])
        for rail, cur in sorted(totals)
    )
    return table, unpriced


def trials(states: Sequence[StateRow]) -> Trials:
    """Stripe trials: started at `trialing`, converted when the status next becomes active
    (the first payment), lost when it lapses first."""
    started = converted = lost = running = 0
    for rows in _by_user(states).values():
        in_trial = False
        for row in rows:
            if row.status == "trialing" and not in_trial:
                in_trial, started = True, started + 1
            elif in_trial and row.status == "active":
                in_trial, converted = False, converted + 1
            elif in_trial and row.status in LAPSED:
                in_trial, lost = False, lost + 1
        running += in_trial
    return Trials(started, converted, lost, running)


def dunning(rows: Rows) -> Dunning:
    """Runs of failed payments per Stripe subscription: recovered by a later payment (or
    the status back to active), lost when the subscription lapses first."""
    timeline: dict[str, list[tuple[datetime, int, str]]] = defaultdict(list)
    for failure in rows.failures:
        timeline[failure.ref].append((failure.at, 0, "failed"))
    for payment in rows.payments:
        if payment.rail == STRIPE:
            timeline[payment.ref].append((payment.at, 1, "paid"))
    for state in rows.states:
        timeline[state.ref].append((state.at, 2, state.status))
    failed = recovered = lost = still_open = 0
    for events in timeline.values():
        running = False
        for _, _, what in sorted(events, key=lambda e: (e[0], e[1])):
            if what == "failed" and not running:
                running, failed = True, failed + 1
            elif running and what in {"paid", "active"}:
                running, recovered = False, recovered + 1
            elif running and what in LAPSED:
                running, lost = False, lost + 1
        still_open += running
    return Dunning(failed, recovered, lost, still_open)


def referrals(rows: Rows, spans: Sequence[Span]) -> Referrals:
    """Referred users, and those of them who paid after they were referred."""
    starts: dict[int, list[datetime]] = defaultdict(list)
    for span in spans:
        starts[span.user_id].append(span.start)
    converted = sum(
        1 for r in rows.referrals if any(start >= r.at for start in starts.get(r.referred_id, ()))
    )
    return Referrals(len(rows.referrals), converted)


def cohorts(spans: Sequence[Span], now: datetime, months: int = 12) -> tuple[Cohort, ...]:
    """By month of first payment (the last `months`): how many of the cohort paid at some
    time in each month since (up to this one)."""
    of_user: dict[int, list[Span]] = defaultdict(list)
    for span in spans:  # sorted by start: a user's first span first
        of_user[span.user_id].append(span)
    this_month = month_start(now.date())
    oldest = months_after(this_month, 1 - months)
    members: dict[date, list[int]] = defaultdict(list)
    for user_id, user_spans in of_user.items():
        month = month_start(user_spans[0].start.date())
        if month >= oldest:
            members[month].append(user_id)
    table = []
    for month in sorted(members):
        retained = []
        offset = month
        while offset <= this_month:
            begin, following = _midnight(offset), _midnight(months_after(offset, 1))
            retained.append(
                sum(
                    1
                    for user_id in members[month]
                    if any(
                        s.start < following and (s.end is None or s.end > begin)
                        for s in of_user[user_id]
                    )
                )
            )
            offset = months_after(offset, 1)
        table.append(Cohort(month, len(members[month]), tuple(retained)))
    return tuple(table)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def report(rows: Rows, now: datetime) -> Report:
    """Every figure, as of `now`."""
    spans = merged(
        [*stripe_spans(rows.states), *stars_spans(rows.payments, rows.stars_stopped, now)]
    )
    table, unpriced = mrr(rows, now)
    revenue, monthly = revenue_tables(rows.payments, now)
    return Report(
        now=now,
        mrr=table,
        unpriced=unpriced,
        paying=sum(1 for span in spans if span.end is None),
        days=buckets(spans, now, "day"),
        weeks=buckets(spans, now, "week"),
        months=buckets(spans, now, "month"),
        trials=trials(rows.states),
        dunning=dunning(rows),
        revenue=revenue,
        monthly_revenue=monthly,
        referrals=referrals(rows, spans),
        cohorts=cohorts(spans, now),
    )
