"""What the analytics are computed from and what they answer: plain rows in, tables out
(bot/admin/analytics.py computes, bot/admin/analytics_reader.py loads; docs/analytics.md
defines every figure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

STRIPE = "stripe"
STARS = "stars"


@dataclass(frozen=True, slots=True)
class StateRow:
    """A Stripe subscription's status as an applied event left the user's entitlement
    (subscription_events, kind `state`), at the event's `created` time."""

    user_id: int
    ref: str
    status: str
    price_id: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """Money in: a Stripe invoice paid, or a Telegram Stars payment. `until` is the end of
    the period it pays for; `refunded_at` is set once it was refunded (in full)."""

    user_id: int
    rail: str
    ref: str  # the Stripe subscription, or the Stars subscription's first charge id
    amount: int  # minor units (whole Stars for XTR)
    currency: str  # lower case: usd, eur, xtr
    plan: str | None  # the Stripe price id; None for Stars
    at: datetime
    until: datetime | None = None
    refunded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FailureRow:
    """A failed attempt to charge a Stripe subscription's invoice."""

    user_id: int
    ref: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReferralRow:
    referred_id: int
    referrer_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Price:
    """A Stripe price as the plan catalogue has it."""

    amount: int
    currency: str
    interval: str  # day, week, month, year
    interval_count: int = 1


@dataclass(frozen=True, slots=True)
class Rows:
    states: tuple[StateRow, ...] = ()
    payments: tuple[PaymentRow, ...] = ()
    failures: tuple[FailureRow, ...] = ()
    referrals: tuple[ReferralRow, ...] = ()
    # Stars subscriptions (first charge ids) whose renewal the subscriber switched off.
    stars_stopped: frozenset[str] = frozenset()
    prices: Mapping[str, Price] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Span:
    """A subscriber paying without a break (bot/admin/analytics.py)."""

    user_id: int
    start: datetime
    end: datetime | None  # None: paying now
    involuntary: bool = False  # how it ended: payment failed (or not renewed) vs cancelled


# --- what comes out ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mrr:
    rail: str
    currency: str
    amount: int  # minor units per month
    subscriptions: int


@dataclass(frozen=True, slots=True)
class Bucket:
    """One day, week (from its Monday) or month (from its 1st)."""

    start: date
    new: int = 0
    voluntary: int = 0
    involuntary: int = 0

    @property
    def churned(self) -> int:
        return self.voluntary + self.involuntary

    @property
    def net(self) -> int:
        return self.new - self.churned


@dataclass(frozen=True, slots=True)
class Trials:
    started: int = 0
    converted: int = 0
    lost: int = 0
    running: int = 0

    @property
    def rate(self) -> float | None:
        decided = self.converted + self.lost
        return self.converted / decided if decided else None


@dataclass(frozen=True, slots=True)
class Dunning:
    failed: int = 0  # episodes: the first failure of a run, until paid or ended
    recovered: int = 0
    lost: int = 0
    open: int = 0

    @property
    def rate(self) -> float | None:
        decided = self.recovered + self.lost
        return self.recovered / decided if decided else None


@dataclass(frozen=True, slots=True)
class PlanRevenue:
    rail: str
    plan: str | None
    currency: str
    payments: int
    gross: int
    refunded: int

    @property
    def net(self) -> int:
        return self.gross - self.refunded


@dataclass(frozen=True, slots=True)
class MonthRevenue:
    month: date
    currency: str
    net: int


@dataclass(frozen=True, slots=True)
class Referrals:
    referred: int = 0
    converted: int = 0

    @property
    def rate(self) -> float | None:
        return self.converted / self.referred if self.referred else None


@dataclass(frozen=True, slots=True)
class Cohort:
    month: date  # of the first payment
    size: int
    retained: tuple[int, ...]  # paying in month 0, 1, 2, ... after it (up to now)


@dataclass(frozen=True, slots=True)
class Report:
    now: datetime
    mrr: tuple[Mrr, ...]
    unpriced: int  # Stripe subscriptions paying now whose price the catalogue lacks
    paying: int  # subscribers paying now, any rail
    days: tuple[Bucket, ...]
    weeks: tuple[Bucket, ...]
    months: tuple[Bucket, ...]
    trials: Trials
    dunning: Dunning
    revenue: tuple[PlanRevenue, ...]
    monthly_revenue: tuple[MonthRevenue, ...]
    referrals: Referrals
    cohorts: tuple[Cohort, ...]
