"""The composition root: builds every part, runs them on one event loop, shuts them down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from signal import SIGINT, SIGTERM

from aiogram import Bot, Dispatcher
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.billing.checkout import BillingService
from bot.billing.links import payment_links
from bot.billing.plans import PlanCatalog
from bot.billing.reconcile import Reconciler
from bot.billing.stripe_client import StripeConnection, create_stripe_connection
from bot.billing.stripe_events import StripeEventProcessor
from bot.chat.dispatcher import create_dispatcher
from bot.chat.progress_reports import ProgressReporter
from bot.chat.replies import ReplyGuard
from bot.chat.sender import create_sender
from bot.core.clock import Clock, SystemClock
from bot.core.errors import BillingNotConfiguredError, BillingUnavailableError
from bot.core.languages import ChosenLanguages
from bot.core.logs import install_redaction
from bot.core.settings import Settings
from bot.core.startup import (
    StartupError,
    check_schema,
    config_warnings,
    freeze_startup_objects,
    open_engine,
)
from bot.delivery.outbox import OutboxWakeup
from bot.delivery.pacing import ChatPace
from bot.delivery.turn import SendingTurn, sending_turn
from bot.delivery.worker import DeliveryWorker
from bot.lifecycle import brake
from bot.lifecycle.brake import MassBrake
from bot.lifecycle.scheduler import Job, Scheduler
from bot.lifecycle.sweeps import LifecycleSweeps
from bot.premium import jobs as premium_jobs
from bot.premium.service import PremiumChats
from bot.stars.reconcile import StarsReconciler
from bot.stars.service import StarsService
from bot.telegram import setup as telegram_setup
from bot.telegram.client import create_bot, warm_response_models
from bot.telegram.health import TelegramHealth
from bot.texts import signals as signal_texts
from bot.texts import use_brand
from bot.transactions import commit_events
from bot.transactions.change_feed import ChangeFeed
from bot.transactions.group_commit import GroupCommit
from bot.transactions.unit_of_work import UnitOfWork
from db import migrate
from db.engine import create_session_factory, is_sqlite
from webapp.app import create_runner, create_web_app

log = logging.getLogger(__name__)

# A webhook batch waits this long for a row another instance holds, then runs event by
# event (2 instances: 688 events/s at 20 ms, 637 at 50, 550 at 200; bench.webhooks).
BATCH_LOCK_TIMEOUT_MS = 20
WEBHOOK_LANES = 2  # PostgreSQL: webhook batches in flight at once in one process
# A daily reconciliation pages through every Stripe subscription: minutes, not seconds.
RECONCILE_LEASE = timedelta(minutes=30)


@dataclass
class Components:
    """Every long-lived part of the process, wired together; tests build the same thing."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    bot: Bot
    stripe: StripeConnection | None
    billing: BillingService
    stars: StarsService
    premium: PremiumChats
    stripe_events: StripeEventProcessor
    wakeup: OutboxWakeup
    dispatcher: Dispatcher
    worker: DeliveryWorker
    web_app: web.Application
    telegram_health: TelegramHealth
    progress: ProgressReporter
    scheduler: Scheduler
    reconciler: Reconciler | None
    stars_reconciler: StarsReconciler | None

    @property
    def webhook_mode(self) -> bool:
        return self.settings.public_url is not None

    async def close(self) -> None:
        await self.bot.session.close()
        if self.stripe is not None:
            await self.stripe.close()
        await self.engine.dispose()


def _billing(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> tuple[StripeConnection | None, BillingService, StripeEventProcessor]:
    """Stripe's client, Checkout and the portal, and the webhook's event processor."""
    stripe_conn = create_stripe_connection(settings)
    client = stripe_conn.client if stripe_conn else None
    catalog = (
        PlanCatalog(client, settings.stripe_price_ids)
        if client is not None and settings.stripe_price_ids
        else None
    )
    offered = "stripe" in settings.rails  # a key may be set for the subscriptions of before
    billing = BillingService(
        client,
        catalog,
        trial_days=settings.trial_days,
        winback_code=settings.winback_promo_code if offered else None,
        offered=offered,
    )
    secret = settings.stripe_webhook_secret
    stripe_events = StripeEventProcessor(
        session_factory,
        secret.get_secret_value() if secret else None,
        client=client,
        catalog=catalog,
        group_commit=_webhook_group_commit(settings, session_factory),
        grace=timedelta(days=settings.grace_days),
        referral_bonus_days=settings.referral_bonus_days,
    )
    return stripe_conn, billing, stripe_events


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


def _reconciler(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    stripe_conn: StripeConnection | None,
    stripe_events: StripeEventProcessor,
) -> Reconciler | None:
    """The Stripe reconciliation, when there is a Stripe key to page with."""
    if stripe_conn is None:
        return None
    grace = timedelta(days=settings.grace_days)
    return Reconciler(stripe_events, stripe_conn.client, session_factory, grace=grace)


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


def _scheduler(
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
    return Scheduler(session_factory, jobs, clock=clock, on_clock_move=mass_brake.clock_moved)


def _delivery(
    settings: Settings,
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    wakeup: OutboxWakeup,
    clock: Clock | None,
    turn: SendingTurn,
) -> tuple[ProgressReporter, DeliveryWorker]:
    """The outbox's delivery worker, and what reports a broadcast's progress as it goes.

    The worker and the handlers' replies share one per-chat pace (bot/chat/replies.py):
    Telegram's one message per second per chat counts both."""
    clock = clock or SystemClock()
    pace = ChatPace(clock.monotonic)
    bot.session.middleware(ReplyGuard(pace, clock, UnitOfWork(session_factory)))
    return create_sender(
        settings, bot, session_factory, wakeup=wakeup, turn=turn, clock=clock, chat_pace=pace
    )


def _webhook_group_commit(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> GroupCommit:
    """Webhooks arriving together share a transaction: on SQLite because one writer runs
    them one after another anyway; on PostgreSQL because a commit and its round trips
    cost as much as an event's own statements (bench.webhooks --postgres: 582 against
    478 events/s). Another instance's batch may hold a row this one needs: after
    BATCH_LOCK_TIMEOUT_MS the batch runs again event by event (bot.transactions.group_commit). Two
    lanes on PostgreSQL: one batch runs while the other waits for its COMMIT."""
    if is_sqlite(settings.database_url):
        return GroupCommit(session_factory)
    return GroupCommit(session_factory, lock_timeout_ms=BATCH_LOCK_TIMEOUT_MS, lanes=WEBHOOK_LANES)


def _stars(settings: Settings) -> StarsService:
    """The Stars rail (off without STARS_PRICE); a first payment earns a referrer's bonus."""
    return StarsService(
        settings.bot_token.get_secret_value(),
        settings.stars_price,
        referral_bonus_days=settings.referral_bonus_days,
        offered="stars" in settings.rails,
    )


def _premium(
    settings: Settings,
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    worker: DeliveryWorker,
) -> PremiumChats:
    """The premium chats; removals share the delivery worker's rate budget, and admins are
    never removed (nor anyone on PREMIUM_CHAT_ALLOWLIST)."""
    return PremiumChats(
        bot,
        session_factory,
        chat_ids=settings.premium_chat_ids,
        allowlist=[*settings.premium_chat_allowlist, *settings.admin_ids],
        pacer=worker.pacer,
    )


def _chat_and_web(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    stripe_events: StripeEventProcessor,
    *,
    bot: Bot,
    billing: BillingService,
    stars: StarsService,
    premium: PremiumChats,
    telegram_health: TelegramHealth,
) -> tuple[Dispatcher, web.Application]:
    """The chat's dispatcher and the web app; the dispatcher is the web app's too in
    webhook mode."""
    chosen_languages = ChosenLanguages()  # the chat and the Mini App both change and read it
    # One brake per user for the chat and the Mini App (on SQLite its budget is in memory).
    links = payment_links(settings, UnitOfWork(session_factory))
    dispatcher = create_dispatcher(
        settings,
        session_factory,
        billing,
        stars,
        premium,
        chosen_languages=chosen_languages,
        links=links,
    )
    web_app = create_web_app(
        settings,
        session_factory,
        stripe_events,
        bot=bot,
        billing=billing,
        stars=stars,
        premium=premium,
        telegram_health=telegram_health,
        dispatcher=dispatcher if settings.public_url is not None else None,
        chosen_languages=chosen_languages,
        links=links,
    )
    return dispatcher, web_app


def _texts(settings: Settings) -> None:
    """What the settings decide in every text."""
    use_brand(settings.brand_name)  # every text's {brand}, the Mini App's title
    signal_texts.use_style(settings.signal_style)  # how signals and their updates read


def build(settings: Settings, engine: AsyncEngine, *, clock: Clock | None = None) -> Components:
    """Wire the parts; nothing here does I/O. `clock` is the delivery worker's (tests skip
    ahead on theirs)."""
    install_redaction(settings.secret_values())
    _texts(settings)
    session_factory = create_session_factory(engine)
    telegram_health = TelegramHealth()
    bot = create_bot(settings, telegram_health)
    wakeup = OutboxWakeup()
    # Every commit that writes outbox rows wakes the worker, whoever wrote them.
    commit_events.subscribe(commit_events.OUTBOX, wakeup)
    stripe_conn, billing, stripe_events = _billing(settings, session_factory)
    stars = _stars(settings)
    progress, worker = _delivery(
        settings, bot, session_factory, wakeup=wakeup, clock=clock, turn=sending_turn(engine)
    )
    premium = _premium(settings, bot, session_factory, worker)
    dispatcher, web_app = _chat_and_web(
        settings,
        session_factory,
        stripe_events,
        bot=bot,
        billing=billing,
        stars=stars,
        premium=premium,
        telegram_health=telegram_health,
    )
    reconciler = _reconciler(settings, session_factory, stripe_conn, stripe_events)
    stars_reconciler = (
        StarsReconciler(bot, stars, session_factory) if settings.stars_price is not None else None
    )
    return Components(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        bot=bot,
        stripe=stripe_conn,
        billing=billing,
        stars=stars,
        premium=premium,
        stripe_events=stripe_events,
        wakeup=wakeup,
        dispatcher=dispatcher,
        worker=worker,
        web_app=web_app,
        telegram_health=telegram_health,
        progress=progress,
        scheduler=_scheduler(
            settings,
            session_factory,
            stripe_events=stripe_events,
            billing=billing,
            reconciler=reconciler,
            stars_reconciler=stars_reconciler,
            premium=premium,
            clock=clock,
        ),
        reconciler=reconciler,
        stars_reconciler=stars_reconciler,
    )


async def run(settings: Settings) -> None:
    """Run the bot, the embedded web server and the delivery worker until SIGINT or SIGTERM."""
    engine = open_engine(settings)
    try:
        await check_schema(engine)
    except BaseException:
        await engine.dispose()
        raise
    parts = build(settings, engine)
    warm_response_models()
    freeze_startup_objects()
    for warning in config_warnings(settings):
        log.warning("%s", warning)
    if parts.premium.enabled:
        await parts.premium.check_rights()  # one line per chat the bot cannot guard
    runner = create_runner(parts.web_app)
    worker_task: asyncio.Task[None] | None = None
    scheduler_task: asyncio.Task[None] | None = None
    checking: asyncio.Task[None] | None = None
    # Other processes' commits (PostgreSQL): their caches' changes and outbox rows, at once.
    feed = None if is_sqlite(settings.database_url) else ChangeFeed(settings.database_url)
    feed_task = asyncio.create_task(feed.run(), name="change-feed") if feed else None
    try:
        await runner.setup()
        await _listen(runner, settings)
        worker_task = asyncio.create_task(parts.worker.run(), name="delivery-worker")
        checking = asyncio.create_task(_check_plans(parts.billing), name="stripe-plans")
        scheduler_task = asyncio.create_task(parts.scheduler.run(), name="scheduler")
        await receive_updates(parts, _stop_event())
        parts.scheduler.stop()
        parts.worker.stop()
        await scheduler_task
        await worker_task
    finally:
        if feed is not None:
            feed.stop()
        for task in (scheduler_task, worker_task, feed_task, checking):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await runner.cleanup()
        await parts.close()


async def _check_plans(billing: BillingService) -> None:
    """At start-up, Stripe's word on the key and each price (the catalog logs a refusal,
    /readyz lists it). In the background: a slow or absent Stripe must not hold start-up,
    and the catalog tries again when someone asks for the plans."""
    with contextlib.suppress(BillingNotConfiguredError, BillingUnavailableError):
        await billing.plans()


async def _listen(runner: web.AppRunner, settings: Settings) -> None:
    try:
        await web.TCPSite(runner, settings.web_host, settings.port).start()
    except OSError as error:
        raise StartupError(
            f"PORT: cannot listen on {settings.web_host}:{settings.port} "
            f"({error.strerror or error}); is another process using it?"
        ) from None
    log.info("web server on %s:%s", settings.web_host, settings.port)


def _stop_event() -> asyncio.Event:
    """Set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (SIGINT, SIGTERM):
        loop.add_signal_handler(number, stop.set)
    return stop


async def receive_updates(parts: Components, stop: asyncio.Event) -> None:
    """Tell Telegram where updates go (waiting for it if need be), then take them until
    `stop`: by webhook (the web server has the route) or by long polling."""
    connecting = asyncio.create_task(
        telegram_setup.connect(parts.bot, parts.dispatcher, parts.settings)
    )
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not connecting.done():
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connecting
        return
    stopping.cancel()
    connecting.result()  # a rejected token ends start-up here
    if parts.webhook_mode:
        log.info("receiving updates by webhook at %s", parts.settings.public_url)
        await stop.wait()
        return
    log.info("receiving updates by long polling")
    await _poll_until(parts, stop)


async def _poll_until(parts: Components, stop: asyncio.Event) -> None:
    """Long polling until `stop`. stop_polling() refuses a polling that has not started
    yet, so a SIGTERM in the instant between the task's creation and its first step must
    wait for the start (the dispatcher's startup hook) before stopping it."""
    started = asyncio.Event()

    async def on_startup() -> None:
        started.set()

    parts.dispatcher.startup.register(on_startup)
    polling = asyncio.create_task(
        parts.dispatcher.start_polling(parts.bot, handle_signals=False, close_bot_session=False)
    )
    await stop.wait()
    starting = asyncio.create_task(started.wait())
    await asyncio.wait({starting, polling}, return_when=asyncio.FIRST_COMPLETED)
    starting.cancel()
    if not polling.done():
        await parts.dispatcher.stop_polling()
    await polling


async def run_reconcile(settings: Settings, *, dry_run: bool) -> int:
    """`python -m bot reconcile`: one line per difference and a summary, on stdout."""
    engine = open_engine(settings)
    await check_schema(engine)
    parts = build(settings, engine)
    try:
        if parts.reconciler is None and parts.stars_reconciler is None:
            raise StartupError(
                "STRIPE_API_KEY: reconciliation needs the Stripe API (or STARS_PRICE for Stars)"
            )
        if parts.reconciler is not None:
            report = await parts.reconciler.run(
                dry_run=dry_run,
                on_change=lambda change: print(change.line()),  # noqa: T201
            )
            print(report.summary(dry_run=dry_run))  # noqa: T201
        if parts.stars_reconciler is not None:
            stars = await parts.stars_reconciler.run(dry_run=dry_run, on_change=print)
            print(stars.summary(dry_run=dry_run))  # noqa: T201
    finally:
        await parts.close()
    return 0


async def run_audit(settings: Settings, *, dry_run: bool) -> int:
    """`python -m bot audit-chats`: one line per member without access, and a summary."""
    if not settings.premium_chat_ids:
        raise StartupError("PREMIUM_CHAT_IDS: there are no premium chats to audit; set it")
    engine = open_engine(settings)
    await check_schema(engine)
    parts = build(settings, engine)
    try:
        # Telegram must answer first: offline, every chat was "unreachable" and the audit
        # of the recorded members ended "0 failed", exit 0.
        await parts.bot.get_me()
        for chat_id, problem in (await parts.premium.check_rights()).items():
            print(f"chat {chat_id}: {problem}")  # noqa: T201
        report = await parts.premium.audit(datetime.now(UTC), dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for chat_id, user_id in report.removed:
            print(f"chat {chat_id}: {verb} user {user_id} (no access)")  # noqa: T201
        print(premium_jobs.summary(report, dry_run=dry_run))  # noqa: T201
        for line in await _confirm_held(parts.session_factory, dry_run=dry_run):
            print(line)  # noqa: T201
    finally:
        await parts.close()
    return 0


async def _confirm_held(
    session_factory: async_sessionmaker[AsyncSession], *, dry_run: bool
) -> list[str]:
    """audit-chats confirms what the jobs held (bot/lifecycle/brake.py): it has just
    carried out the removals itself, and the held expiry notices go at the next run. One
    line each; --dry-run only names them."""
    async with session_factory() as session, session.begin():
        holds = await brake.held(session)
        if not dry_run:
            await brake.forget(session, brake.REMOVALS)
            await brake.confirm(session, brake.EXPIRY, datetime.now(UTC))
    done = "would be confirmed" if dry_run else "confirmed"
    return [
        f"held since {hold.held_at:%Y-%m-%d %H:%M} UTC: {hold.name}, {hold.affected} of "
        f"{hold.population} at once; {done}"
        for hold in holds
    ]


async def run_migrations(settings: Settings) -> str:
    engine = open_engine(settings)
    try:
        await migrate.upgrade(engine)
        return await migrate.current_revision(engine) or "nothing"
    finally:
        await engine.dispose()
