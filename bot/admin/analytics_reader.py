"""The rows the analytics are computed from, read in the caller's (reading) unit: the
Stripe subscriptions' history, the Stars payments, the referrals, the Stars renewals
switched off; then bot/admin/analytics.py computes every figure from them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import analytics
from bot.admin.analytics_rows import (
    STARS,
    STRIPE,
    FailureRow,
    PaymentRow,
    Price,
    ReferralRow,
    Report,
    Rows,
    StateRow,
)
from bot.billing.plans import Plan
from bot.payments.amounts import STARS as XTR
from db.models import (
    Entitlement,
    EntitlementSource,
    HistoryKind,
    Referral,
    StarPayment,
    SubscriptionEvent,
)

_E = SubscriptionEvent


def prices_of(plans: Sequence[Plan]) -> dict[str, Price]:
    """The catalogue's recurring prices (a one-off price has no monthly amount)."""
    return {
        plan.price_id: Price(plan.unit_amount, plan.currency, plan.interval, plan.interval_count)
        for plan in plans
        if plan.interval in analytics.MONTHS_PER and plan.interval_count > 0
    }


async def _history(
    session: AsyncSession,
) -> tuple[list[StateRow], list[PaymentRow], list[FailureRow]]:
    states: list[StateRow] = []
    payments: list[PaymentRow] = []
    failures: list[FailureRow] = []
    result = await session.execute(
        select(
            _E.kind, _E.user_id, _E.ref, _E.status, _E.price_id, _E.amount, _E.currency,
            _E.period_end, _E.at,
        ).order_by(_E.at, _E.id)
    )  # fmt: skip
    for kind, user_id, ref, status, price_id, amount, currency, period_end, at in result:
        if kind == HistoryKind.STATE and status is not None:
            states.append(StateRow(user_id, ref, status, price_id, at))
        elif kind == HistoryKind.PAID and amount is not None and currency is not None:
            payments.append(
                PaymentRow(user_id, STRIPE, ref, amount, currency, price_id, at, period_end)
            )
        elif kind == HistoryKind.FAILED:
            failures.append(FailureRow(user_id, ref, at))
    return states, payments, failures


async def _stars(session: AsyncSession) -> list[PaymentRow]:
    """The Stars payments kept or refunded; a second subscription refunded at once
    (duplicate_of) was never a subscriber's."""
    result = await session.execute(
        select(
            StarPayment.user_id, StarPayment.subscription_ref, StarPayment.amount,
            StarPayment.paid_at, StarPayment.paid_until, StarPayment.refunded_at,
        )
        .where(StarPayment.duplicate_of.is_(None))
        .order_by(StarPayment.paid_at, StarPayment.id)
    )  # fmt: skip
    return [
        PaymentRow(user_id, STARS, ref, amount, XTR, None, paid_at, until, refunded_at)
        for user_id, ref, amount, paid_at, until, refunded_at in result
    ]


async def rows(session: AsyncSession, plans: Sequence[Plan] = ()) -> Rows:
    states, payments, failures = await _history(session)
    payments += await _stars(session)
    referrals = await session.execute(
        select(Referral.referred_id, Referral.referrer_id, Referral.created_at)
    )
    stopped = await session.scalars(
        select(Entitlement.source_ref).where(
            Entitlement.source == EntitlementSource.STARS,
            Entitlement.cancel_at_period_end.is_(True),
            Entitlement.source_ref.is_not(None),
        )
    )
    return Rows(
        states=tuple(states),
        payments=tuple(payments),
        failures=tuple(failures),
        referrals=tuple(ReferralRow(*row) for row in referrals),
        stars_stopped=frozenset(ref for ref in stopped if ref),
        prices=prices_of(plans),
    )


async def report(session: AsyncSession, now: datetime, plans: Sequence[Plan] = ()) -> Report:
    """Every figure as of `now` (docs/analytics.md), MRR priced by `plans`."""
    return analytics.report(await rows(session, plans), now)
