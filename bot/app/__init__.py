"""The composition root: builds every part and wires them together; nothing here does I/O.
bot/cli/serve.py runs the parts (`python -m bot`), bot/cli/reconcile.py the commands that
check the database against Stripe, Telegram Stars and the premium chats."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.accounts import roles
from bot.app import jobs
from bot.billing.checkout import BillingService
from bot.billing.checkout_options import CheckoutOptions
from bot.billing.plans import PlanCatalog
from bot.billing.reconcile import Reconciler
from bot.billing.stripe_client import StripeConnection, create_stripe_connection
from bot.billing.stripe_events import StripeEventProcessor
from bot.chat.dispatcher import create_dispatcher
from bot.chat.progress_reports import ProgressReporter
from bot.chat.replies import ReplyGuard
from bot.chat.sender import create_sender
from bot.core.clock import Clock, SystemClock
from bot.core.languages import ChosenLanguages
from bot.core.logs import install_redaction
from bot.core.settings import Settings
from bot.delivery.pacing import ChatPace
from bot.delivery.turn import SendingTurn, sending_turn
from bot.delivery.worker import DeliveryWorker
from bot.lifecycle.scheduler import Scheduler
from bot.notices.outbox import OutboxWakeup
from bot.outcomes.benchmark import Holdings
from bot.outcomes.exchange import open_feed
from bot.payments.links import payment_links
from bot.premium.service import PremiumChats
from bot.stars.reconcile import StarsReconciler
from bot.stars.service import StarsService
from bot.telegram.client import create_bot
from bot.telegram.health import TelegramHealth
from bot.texts import disclaimer, use_brand
from bot.texts import signals as signal_texts
from bot.transactions import commit_events
from bot.transactions.group_commit import GroupCommit
from bot.transactions.sessions import app_session_factory
from bot.transactions.unit_of_work import UnitOfWork
from db.engine import is_sqlite
from webapp.app import create_web_app

log = logging.getLogger(__name__)

# A webhook batch waits this long for a row another instance holds, then runs event by
# event. It was 20 ms (2 instances: 688 events/s at 20 ms, 637 at 50, 550 at 200) while
# each event locked its rows in its own order. A batch now locks them in one order, so a
# wait is mostly one behind another batch's COMMIT, which a loaded machine stretches past
# 20 ms; running the batch again event by event cost more than waiting.
BATCH_LOCK_TIMEOUT_MS = 100
WEBHOOK_LANES = 1  # PostgreSQL: webhook batches in flight at once in one process
# A daily reconciliation pages through every Stripe subscription: minutes, not seconds.


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
        await self.stripe_events.close()
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
        options=CheckoutOptions(
            automatic_tax=settings.stripe_automatic_tax,
            terms_url=settings.terms_url,
            terms_message=disclaimer.terms_message,
        ),
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
    """Webhooks arriving together share a transaction, and are applied set by set: one
    statement per table for the whole batch (bot.billing.stripe_events), so a bigger batch
    costs less CPU an event. On SQLite one writer runs them one after another anyway; on
    PostgreSQL one lane too: with two, the batches were half as big and each event took
    a third more CPU across the processes (bench.webhooks, two instances: 1.6-1.8 ms
    against 1.2-1.35 ms), and nothing was faster. Another instance's batch may hold a row
    this one needs: after BATCH_LOCK_TIMEOUT_MS the batch runs again event by event
    (bot.transactions.group_commit); batches lock rows in one order (event ids, users,
    entitlements, each sorted), so that is a wait behind a commit, rarely a deadlock."""
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
    """The premium chats; removals share the delivery worker's rate budget, and staff (every
    role, bot/accounts/roles.py) are never removed (nor anyone on PREMIUM_CHAT_ALLOWLIST)."""
    return PremiumChats(
        bot,
        session_factory,
        chat_ids=settings.premium_chat_ids,
        allowlist=[*settings.premium_chat_allowlist, *roles.staff_ids(settings)],
        pacer=worker.pacer,
    )


def _holdings(settings: Settings) -> Holdings | None:
    """Holding BTC beside the track record's portfolio, when PRICE_SOURCE names an exchange:
    one cache for the public page, the Mini App and /performance (the web app closes it)."""
    source, base = settings.price_source, settings.price_api_base
    if source is None:
        return None
    return Holdings(lambda: open_feed(source, base))


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
    holdings = _holdings(settings)
    dispatcher = create_dispatcher(
        settings,
        session_factory,
        billing,
        stars,
        premium,
        chosen_languages=chosen_languages,
        links=links,
        holdings=holdings,
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
        holdings=holdings,
    )
    return dispatcher, web_app


def _texts(settings: Settings) -> None:
    """What the settings decide in every text."""
    use_brand(settings.brand_name)  # every text's {brand}, the Mini App's title
    disclaimer.use_text(settings.disclaimer_text)  # the risk disclaimer and its version
    signal_texts.use_style(settings.signal_style)  # how signals and their updates read


def build(settings: Settings, engine: AsyncEngine, *, clock: Clock | None = None) -> Components:
    """Wire the parts; nothing here does I/O. `clock` is the delivery worker's (tests skip
    ahead on theirs)."""
    install_redaction(settings.secret_values())
    _texts(settings)
    session_factory = app_session_factory(engine)
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
        scheduler=jobs.scheduler(
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
