"""The composition root's periodic jobs (bot/lifecycle/scheduler.py runs them, one runner
across processes): the lifecycle sweeps, the premium chats' invites, removals and audit,
the daily reconciliations, and the verifiable record's daily head and delayed reveals."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.billing.checkout import BillingService
from bot.billing.reconcile import Reconciler
from bot.billing.stripe_events import StripeEventProcessor
from bot.core.clock import Clock
from bot.core.errors import BillingNotConfiguredError, BillingUnavailableError
from bot.core.settings import Settings
from bot.lifecycle.brake import MassBrake
from bot.lifecycle.scheduler import Job, Scheduler
from bot.lifecycle.sweeps import LifecycleSweeps
from bot.premium import jobs as premium_jobs
from bot.premium.service import PremiumChats
from bot.signals import record_head, record_reveal
from bot.stars.reconcile import StarsReconciler
from bot.transactions.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

RECONCILE_LEASE = timedelta(minutes=30)


def _daily_reconcile(
    reconciler: Reconciler | StarsReconciler,
) -> Callable[[datetime], Awaitable[str]]:
    """The scheduler's daily run of a reconciliation: one log line per repair, the
    summary as the job's outcome."""

    async def reconcile(_now: datetime) -> str:
        report = await reconciler.run(dry_run=False)
        for change in report.changed:
            log.info("reconcile: %s", change if isinstance(change, str) else change.line())
        return report.summary(dry_run=False)

    return reconcile


def _plan_prices(billing: BillingService) -> Callable[[], Awaitable[dict[str, tuple[int, str]]]]:
    """Each plan's price for the renewal notices; none while Stripe is away (the notice
    then gives the date only)."""

    async def prices() -> dict[str, tuple[int, str]]:
        try:
            plans = await billing.plans()
        except (BillingNotConfiguredError, BillingUnavailableError):
            return {}
        return {plan.price_id: (plan.unit_amount, plan.currency) for plan in plans}

    return prices


def _record_jobs(settings: Settings, uow: UnitOfWork) -> list[Job]:
    """The verifiable record's: its head posted to the signal channel daily, and the
    reveal after RECORD_REVEAL_HOURS (each when its setting is set)."""
    jobs = []
    if settings.signal_chat_id is not None:
        url = f"{settings.public_url}/track-record" if settings.public_url else None
        head = record_head.daily(uow, settings.signal_chat_id, url=url)
        jobs.append(Job(record_head.JOB, record_head.EVERY, head))
    if settings.record_reveal_hours is not None:
        reveal = record_reveal.due(uow, settings.record_reveal_hours)
        jobs.append(Job(record_reveal.JOB, record_reveal.EVERY, reveal))
    return jobs


def scheduler(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    stripe_events: StripeEventProcessor,
    billing: BillingService,
    reconciler: Reconciler | None,
    stars_reconciler: StarsReconciler | None,
    premium: PremiumChats,
    clock: Clock | None,
) -> Scheduler:
    """The lifecycle jobs and how often each runs: expiry and the end of a grace often
    enough to tell a user within a minute, reminders, renewal notices and win-back offers
    (days ahead or behind) every few minutes. Mass removals and expiries are held
    (MASS_ACTION_SHARE, bot/lifecycle/brake.py)."""
    mass_brake = MassBrake(share=settings.mass_action_share, admin_ids=settings.admin_ids)
    premium.brake = mass_brake  # a chat_member update's removal waits while the clock is ahead
    sweeps = LifecycleSweeps(
        UnitOfWork(session_factory),
        reminder_days=settings.reminder_days,
        plan_name=stripe_events.plan_name,
        winback_days=settings.winback_days,
        # The code is Stripe's: not named in the offer when Stripe is not a rail.
        winback_code=settings.winback_promo_code if "stripe" in settings.rails else None,
        renewal_days=settings.renewal_notice_days,
        prices=_plan_prices(billing),
        brake=mass_brake,
    )
    jobs = [
        Job("expiry", timedelta(seconds=30), sweeps.expiry),
        Job("reminders", timedelta(minutes=5), sweeps.reminders),
        Job("suspensions", timedelta(seconds=30), sweeps.suspensions),
    ]
    if settings.renewal_notice_days:
        jobs.append(Job("renewals", timedelta(minutes=5), sweeps.renewals))
    if settings.winback_days is not None:
        jobs.append(Job("winback", timedelta(minutes=5), sweeps.winback))
    if premium.enabled:
        every, daily = timedelta(seconds=30), timedelta(days=1)
        jobs.append(Job("premium-invites", every, premium_jobs.invites(premium, mass_brake)))
        minute = timedelta(minutes=1)
        jobs.append(Job("premium-removals", minute, premium_jobs.removals(premium, mass_brake)))
        audit = premium_jobs.audit(premium, settings.admin_ids, mass_brake)
        jobs.append(Job("premium-audit", daily, audit, first_after=timedelta(hours=1)))
    reconcilers: list[tuple[str, Reconciler | StarsReconciler | None]] = [
        ("reconcile", reconciler),
        ("reconcile-stars", stars_reconciler),
    ]
    for name, each in reconcilers:
        if each is not None:
            body, first = _daily_reconcile(each), timedelta(hours=1)
            jobs.append(
                Job(name, timedelta(days=1), body, lease=RECONCILE_LEASE, first_after=first)
            )
    jobs.extend(_record_jobs(settings, UnitOfWork(session_factory)))
    return Scheduler(session_factory, jobs, clock=clock, on_clock_move=mass_brake.clock_moved)
