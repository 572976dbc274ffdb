"""The analytics' figures (bot/admin/analytics.py) against a fixture history of fourteen
subscribers on both rails (trials, upgrades, failed and recovered payments, refunds, a
switch of rail), with every expected table worked out by hand below."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.admin import analytics
from bot.admin.analytics_rows import (
    Bucket,
    Cohort,
    Dunning,
    FailureRow,
    MonthRevenue,
    Mrr,
    PaymentRow,
    PlanRevenue,
    Price,
    ReferralRow,
    Referrals,
    Rows,
    StateRow,
    Trials,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday
MONTHLY, YEARLY, EUR = "price_monthly", "price_yearly", "price_eur"
PRICES = {
    MONTHLY: Price(4900, "usd", "month"),
    YEARLY: Price(49000, "usd", "year"),
    EUR: Price(3900, "eur", "month"),
}


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, 0, tzinfo=UTC)


def state(user: int, ref: str, status: str, when: datetime, price: str = MONTHLY) -> StateRow:
    return StateRow(user, ref, status, price, when)


def paid(
    user: int,
    ref: str,
    when: datetime,
    amount: int = 4900,
    plan: str = MONTHLY,
    *,
    cur: str = "usd",
) -> PaymentRow:
    return PaymentRow(user, "stripe", ref, amount, cur, plan, when, when + timedelta(days=30))


def stars(user: int, ref: str, when: datetime, refunded: datetime | None = None) -> PaymentRow:
    return PaymentRow(user, "stars", ref, 250, "xtr", None, when, when + timedelta(30), refunded)


# U1 trial -> paid; U2 trial lost; U3 a failure recovered, then one lost (cancelled from
# past_due: involuntary); U4 monthly upgraded to yearly; U5 cancelled (voluntary);
# U6 euros, in dunning now; U7 Stars renewed; U8 Stars refunded; U9 Stars not renewed
# (involuntary); U10 Stars renewal switched off (voluntary); U11 Stars then Stripe (one
# span); U13 a price the catalogue lacks; U14 in a trial now.
STATES = (
    state(1, "sub_a", "trialing", at(10, 1)),
    state(1, "sub_a", "active", at(10, 15)),
    state(2, "sub_b", "trialing", at(10, 5)),
    state(2, "sub_b", "canceled", at(10, 19)),
    state(3, "sub_c", "active", at(9, 10)),
    state(3, "sub_c", "past_due", at(10, 10)),
    state(3, "sub_c", "active", at(10, 13)),
    state(3, "sub_c", "past_due", at(11, 10)),
    state(3, "sub_c", "canceled", at(11, 20)),
    state(4, "sub_d", "active", at(11, 2)),
    state(4, "sub_d", "active", at(11, 16), YEARLY),
    state(5, "sub_e", "active", at(11, 3)),
    state(5, "sub_e", "canceled", at(12, 3)),
    state(6, "sub_f", "active", at(12, 1), EUR),
    state(6, "sub_f", "past_due", at(12, 6), EUR),
    state(11, "sub_k", "active", at(8, 31)),
    state(13, "sub_m", "active", at(12, 5), "price_gone"),
    state(14, "sub_n", "trialing", at(12, 1)),
)
PAYMENTS = (
    paid(1, "sub_a", at(10, 15)),
    paid(1, "sub_a", at(11, 15)),
    paid(3, "sub_c", at(9, 10)),
    paid(3, "sub_c", at(10, 13)),
    paid(4, "sub_d", at(11, 2)),
    paid(4, "sub_d", at(11, 16), 49000, YEARLY),
    paid(5, "sub_e", at(11, 3)),
    paid(6, "sub_f", at(12, 1), 3900, EUR, cur="eur"),
    paid(11, "sub_k", at(8, 31)),
    stars(7, "st_g", at(10, 20)),
    stars(7, "st_g", at(11, 19)),
    stars(8, "st_h", at(11, 5), refunded=at(11, 10)),
    stars(9, "st_i", at(9, 1)),
    stars(9, "st_i", at(10, 1)),
    stars(10, "st_j", at(10, 2)),
    stars(11, "st_k", at(8, 1)),
)
FAILURES = (
    FailureRow(3, "sub_c", at(10, 10)),
    FailureRow(3, "sub_c", at(10, 11)),  # a retry of the same run
    FailureRow(3, "sub_c", at(11, 10)),
    FailureRow(6, "sub_f", at(12, 6)),
)
REFERRALS = (
    ReferralRow(1, 3, at(9, 20)),
    ReferralRow(2, 3, at(10, 1)),
    ReferralRow(12, 3, at(11, 1)),
)
ROWS = Rows(STATES, PAYMENTS, FAILURES, REFERRALS, frozenset({"st_j"}), PRICES)


def test_mrr_by_rail_and_currency() -> None:
    got = analytics.report(ROWS, NOW)
    # usd: U1 4900 + U4 49000/12 (4083.33) + U11 4900; eur: U6 (past_due still counts);
    # Stars: U7's 250 per 30 days as 250 * 30.4375 / 30 = 253.65.
    assert got.mrr == (
        Mrr("stars", "xtr", 254, 1),
        Mrr("stripe", "eur", 3900, 1),
        Mrr("stripe", "usd", 13883, 3),
    )
    assert got.unpriced == 1  # U13
    assert got.paying == 6  # U1 U4 U6 U7 U11 U13


def test_new_and_churned_by_month() -> None:
    months = {b.start: b for b in analytics.report(ROWS, NOW).months if b.new or b.churned}
    assert months == {
        date(2026, 8, 1): Bucket(date(2026, 8, 1), new=1),  # U11
        date(2026, 9, 1): Bucket(date(2026, 9, 1), new=2),  # U3 U9
        # U1 U7 U10 in; U9 not renewed
        date(2026, 10, 1): Bucket(date(2026, 10, 1), new=3, involuntary=1),
        # U4 U5 U8 in; U8 refunded and U10 stopped (voluntary), U3 lost in dunning
        date(2026, 11, 1): Bucket(date(2026, 11, 1), 3, voluntary=2, involuntary=1),
        date(2026, 12, 1): Bucket(date(2026, 12, 1), new=2, voluntary=1),  # U6 U13; U5
    }
    assert [b.net for b in analytics.report(ROWS, NOW).months][-5:] == [1, 2, 2, 0, 1]
    assert len(analytics.report(ROWS, NOW).months) == 12


def test_new_and_churned_by_week() -> None:
    weeks = analytics.report(ROWS, NOW).weeks
    assert [(b.start, b.new, b.voluntary, b.involuntary) for b in weeks] == [
        (date(2026, 9, 21), 0, 0, 0),
        (date(2026, 9, 28), 1, 0, 0),  # U10
        (date(2026, 10, 5), 0, 0, 0),
        (date(2026, 10, 12), 1, 0, 0),  # U1
        (date(2026, 10, 19), 1, 0, 0),  # U7
        (date(2026, 10, 26), 0, 1, 1),  # U10 (Sun 1 Nov), U9 (Sat 31 Oct)
        (date(2026, 11, 2), 3, 0, 0),  # U4 U5 U8
        (date(2026, 11, 9), 0, 1, 0),  # U8
        (date(2026, 11, 16), 0, 0, 1),  # U3
        (date(2026, 11, 23), 0, 0, 0),
        (date(2026, 11, 30), 2, 1, 0),  # U6 U13; U5
        (date(2026, 12, 7), 0, 0, 0),
    ]


def test_new_and_churned_by_day() -> None:
    days = analytics.report(ROWS, NOW).days
    assert len(days) == 30
    assert days[0].start == date(2026, 11, 8)
    assert days[-1].start == date(2026, 12, 7)
    assert [(b.start, b.new, b.voluntary, b.involuntary) for b in days if b.new or b.churned] == [
        (date(2026, 11, 10), 0, 1, 0),
        (date(2026, 11, 20), 0, 0, 1),
        (date(2026, 12, 1), 1, 0, 0),
        (date(2026, 12, 3), 0, 1, 0),
        (date(2026, 12, 5), 1, 0, 0),
    ]


def test_trials_dunning_and_referrals() -> None:
    got = analytics.report(ROWS, NOW)
    assert got.trials == Trials(started=3, converted=1, lost=1, running=1)
    assert got.trials.rate == 0.5
    # sub_c: 10 Oct (and its retry) recovered on the 13th; 10 Nov lost; sub_f open.
    assert got.dunning == Dunning(failed=3, recovered=1, lost=1, open=1)
    assert got.dunning.rate == 0.5
    assert got.referrals == Referrals(referred=3, converted=1)


def test_revenue_by_plan_and_month() -> None:
    got = analytics.report(ROWS, NOW)
    assert got.revenue == (
        PlanRevenue("stars", None, "xtr", payments=7, gross=1750, refunded=250),
        PlanRevenue("stripe", EUR, "eur", payments=1, gross=3900, refunded=0),
        PlanRevenue("stripe", MONTHLY, "usd", payments=7, gross=34300, refunded=0),
        PlanRevenue("stripe", YEARLY, "usd", payments=1, gross=49000, refunded=0),
    )
    assert got.monthly_revenue == (
        MonthRevenue(date(2026, 8, 1), "usd", 4900),
        MonthRevenue(date(2026, 8, 1), "xtr", 250),
        MonthRevenue(date(2026, 9, 1), "usd", 4900),
        MonthRevenue(date(2026, 9, 1), "xtr", 250),
        MonthRevenue(date(2026, 10, 1), "usd", 9800),
        MonthRevenue(date(2026, 10, 1), "xtr", 750),
        MonthRevenue(date(2026, 11, 1), "usd", 63700),
        MonthRevenue(date(2026, 11, 1), "xtr", 250),  # U7's renewal; U8's refunded
        MonthRevenue(date(2026, 12, 1), "eur", 3900),
    )


def test_cohorts_by_month_of_first_payment() -> None:
    assert analytics.report(ROWS, NOW).cohorts == (
        Cohort(date(2026, 8, 1), 1, (1, 1, 1, 1, 1)),  # U11, through the switch of rail
        Cohort(date(2026, 9, 1), 2, (2, 2, 1, 0)),  # U3 to 20 Nov, U9 to 31 Oct
        Cohort(date(2026, 10, 1), 3, (3, 3, 2)),  # U1 U7, U10 to 1 Nov
        Cohort(date(2026, 11, 1), 3, (3, 2)),  # U4 U5 (to 3 Dec), U8
        Cohort(date(2026, 12, 1), 2, (2,)),  # U6 U13
    )


def test_mrr_normalises_each_interval() -> None:
    prices = {
        "d": Price(100, "usd", "day"),  # 100 * 30.4375
        "w": Price(1000, "usd", "week", 2),  # 1000 * 30.4375 / 7 / 2 = 2174.1
        "y": Price(12000, "usd", "year"),  # 1000
    }
    states = tuple(state(n, f"s{n}", "active", at(12, 1), p) for n, p in enumerate(prices))
    got = analytics.report(Rows(states=states, prices=prices), NOW)
    # 3043.75 + 2174.11 + 1000, rounded once
    assert got.mrr == (Mrr("stripe", "usd", 6218, 3),)


def test_nothing_yet() -> None:
    got = analytics.report(Rows(), NOW)
    assert (got.mrr, got.paying, got.cohorts, got.revenue) == ((), 0, (), ())
    assert got.trials.rate is None
    assert got.dunning.rate is None
    assert got.referrals.rate is None
    assert all(b.new == b.churned == 0 for b in got.days + got.weeks + got.months)


def test_a_late_stars_renewal_continues_a_span_and_a_later_one_starts_anew() -> None:
    """Telegram charges a renewal about when the period ends: up to a day late it is the
    same subscriber; three days late the first span churned and a second began."""
    late = stars(20, "st_late", at(10, 1))
    on_time = stars(20, "st_late", at(10, 31) + timedelta(hours=20))
    gone = stars(21, "st_gone", at(10, 1))
    back = stars(21, "st_back", at(10, 31) + timedelta(days=3))
    got = analytics.report(Rows(payments=(late, on_time, gone, back)), NOW)
    months = {
        b.start: (b.new, b.voluntary, b.involuntary) for b in got.months if b.new or b.churned
    }
    assert months == {
        date(2026, 10, 1): (2, 0, 1),  # 20 and 21 in; 21's first subscription not renewed
        date(2026, 11, 1): (1, 0, 0),  # 21 back
        date(2026, 12, 1): (0, 0, 2),  # 20's and 21's periods ran out (1 and 3 Dec)
    }
