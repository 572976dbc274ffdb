"""How plans, prices and a subscription's state read (HTML, from the catalogue)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.accounts.access import EntitlementLike, entitlement_grants_access
from bot.texts import Html, format_date, money, plain, plain_n, t, tn

if TYPE_CHECKING:  # notices are rendered by the delivery worker, which never loads Stripe
    from bot.billing.plans import Plan

KNOWN_STATES = frozenset(
    {
        "active",
        "trialing",
        "past_due",
        "unpaid",
        "canceled",
        "incomplete",
        "incomplete_expired",
        "paused",
    }
)


def state_label(status: str) -> Html:
    """A Stripe subscription status (or a grant's) in words."""
    if status in KNOWN_STATES:
        return t(f"state.{status}")
    return t("state.other", status=status.replace("_", " ").title())


def price_label(plan: Plan) -> str:
    amount = money(plan.unit_amount, plan.currency)
    if plan.interval is None:
        return plain("plan.one_time", amount=amount)
    period = plain_n(f"plan.period.{plan.interval}", plan.interval_count)
    return plain("plan.price", amount=amount, period=period)


def plan_label(plan: Plan) -> str:
    """A plan's button: its Stripe name and price."""
    return plain("plan.label", name=plan.name, price=price_label(plan))


def choose_plan(trial_days: int) -> Html:
    trial = tn("billing.trial", trial_days) if trial_days else Html("")
    return Html(t("billing.choose_plan") + trial)


def plan_name(name: str | None) -> str:
    """A plan's Stripe name, or the catalogue's word when Stripe's is not known."""
    return name if name else plain("plan.subscription")


def status(
    entitlement: EntitlementLike | None,
    plan: str | None,
    stars: EntitlementLike | None,
    stars_price: int | None,
    now: datetime,
) -> Html:
    """The /status answer: each subscription's plan, state, and the date it renews or
    ends (Stripe's, then Telegram Stars'), and whether premium is on."""
    if entitlement is None and stars is None:
        return t("status.none")
    lines: list[str] = []
    if entitlement is not None:
        lines += _subscription_lines(entitlement, t("status.plan", plan=plan_name(plan)), now)
    if stars is not None:
        head = t("status.stars_plan", price=stars_price or 0)
        lines += _subscription_lines(stars, head, now)
    on = any(e is not None and entitlement_grants_access(e, now) for e in (entitlement, stars))
    lines.append(t("status.premium_on" if on else "status.premium_off"))
    return Html("\n".join(lines))


def _subscription_lines(entitlement: EntitlementLike, head: Html, now: datetime) -> list[str]:
    lines: list[str] = [head, t("status.state", state=state_label(entitlement.status))]
    active = entitlement_grants_access(entitlement, now)
    end = shown_end(entitlement, active, now)
    if end is not None:
        lines.append(_when(entitlement, active, format_date(end)))
    grace_until = entitlement.grace_until
    if entitlement.status == "past_due" and grace_until is not None:
        key = "status.grace_until" if active else "status.grace_over"
        lines.append(t(key, date=format_date(grace_until)))
    return lines


def shown_end(entitlement: EntitlementLike, active: bool, now: datetime) -> datetime | None:
    """The date a subscription renews, ends or ended. One that is over never shows a date
    still to come (a late invoice of a subscription cancelled at once, or a row stored
    before its end was kept): it ended when its row last changed, at the latest now."""
    end = entitlement.expires_at
    if active or end is None or end <= now:
        return end
    changed = getattr(entitlement, "updated_at", None)
    return min(changed, now) if isinstance(changed, datetime) else now


def _when(entitlement: EntitlementLike, active: bool, date: str) -> Html:
    cancelled = bool(getattr(entitlement, "cancel_at_period_end", False))
    if active and entitlement.status == "trialing":
        return t("status.trial_ends", date=date)
    if active and not cancelled:
        return t("status.renews", date=date)
    if active:
        return t("status.ends", date=date)
    return t("status.ended", date=date)
