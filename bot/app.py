"""The composition root: builds every part, runs them on one event loop, shuts them down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal as signals
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.types import MenuButtonCommands, MenuButtonWebApp, WebAppInfo
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.factory import create_dispatcher
from bot.services import changes
from bot.services.billing import BillingService
from bot.services.delivery import DeliveryWorker
from bot.services.group_commit import GroupCommit
from bot.services.outbox import OutboxSignal
from bot.services.plans import PlanCatalog
from bot.services.stripe_client import StripeConnection, create_stripe_connection
from bot.services.stripe_events import StripeEventProcessor
from bot.settings import Settings
from bot.startup import check_schema, freeze_startup_objects
from bot.telegram import create_bot, warm_response_models
from bot.texts import USER_COMMANDS
from db import migrate
from db.engine import create_engine, create_session_factory, is_sqlite
from webapp.app import TELEGRAM_WEBHOOK_PATH, create_web_app

log = logging.getLogger(__name__)


async def _announce(bot: Bot, dispatcher: Dispatcher, settings: Settings) -> None:
    """Command menu, and webhook or long polling as PUBLIC_URL says."""
    await bot.set_my_commands(USER_COMMANDS)
    if settings.public_url:
        # The menu button opens the Mini App; without a public https URL it lists commands.
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(
                text="Open app", web_app=WebAppInfo(url=f"{settings.public_url}/app/")
            )
        )
    else:
        await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
    if settings.public_url:
        secret = settings.telegram_webhook_secret
        await bot.set_webhook(
            url=settings.public_url + TELEGRAM_WEBHOOK_PATH,
            secret_token=secret.get_secret_value() if secret else None,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
    else:
        await bot.delete_webhook()


@dataclass
class Components:
    """Every long-lived part of the process, wired together; tests build the same thing."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    bot: Bot
    stripe: StripeConnection | None
    billing: BillingService
    stripe_events: StripeEventProcessor
    signal: OutboxSignal
    dispatcher: Dispatcher
    worker: DeliveryWorker
    web_app: web.Application

    @property
    def webhook_mode(self) -> bool:
        return self.settings.public_url is not None

    async def close(self) -> None:
        await self.bot.session.close()
        if self.stripe is not None:
            await self.stripe.close()
        await self.engine.dispose()


def build(settings: Settings, engine: AsyncEngine) -> Components:
    """Wire the parts; nothing here does I/O."""
    session_factory = create_session_factory(engine)
    stripe_conn = create_stripe_connection(settings)
    bot = create_bot(settings)
    signal = OutboxSignal()
    # Every commit that writes outbox rows wakes the worker, whoever wrote them.
    changes.subscribe(changes.OUTBOX, signal)
    client = stripe_conn.client if stripe_conn else None
    catalog = (
        PlanCatalog(client, settings.stripe_price_ids)
        if client is not None and settings.stripe_price_ids
        else None
    )
    billing = BillingService(client, catalog, trial_days=settings.trial_days)
    secret = settings.stripe_webhook_secret
    stripe_events = StripeEventProcessor(
        session_factory,
        secret.get_secret_value() if secret else None,
        client=client,
        catalog=catalog,
        # SQLite runs one writer at a time anyway; PostgreSQL applies events in parallel.
        group_commit=GroupCommit(session_factory) if is_sqlite(settings.database_url) else None,
    )
    dispatcher = create_dispatcher(settings, session_factory, billing)
    webhook_mode = settings.public_url is not None
    web_app = create_web_app(
        settings,
        session_factory,
        stripe_events,
        bot=bot,
        billing=billing,
        dispatcher=dispatcher if webhook_mode else None,
    )
    worker = DeliveryWorker(
        bot,
        session_factory,
        rate=settings.delivery_rate,
        paid_broadcast=settings.paid_broadcast,
        signal=signal,
    )
    return Components(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        bot=bot,
        stripe=stripe_conn,
        billing=billing,
        stripe_events=stripe_events,
        signal=signal,
        dispatcher=dispatcher,
        worker=worker,
        web_app=web_app,
    )


async def run(settings: Settings) -> None:
    """Run the bot, the embedded web server and the delivery worker until a signal."""
    engine = create_engine(settings.database_url)
    try:
        await check_schema(engine)
    except BaseException:
        await engine.dispose()
        raise
    parts = build(settings, engine)
    warm_response_models()
    freeze_startup_objects()
    if not parts.billing.enabled:
        log.warning("Stripe is not configured: /subscribe and /manage will say so")
    runner = web.AppRunner(parts.web_app, access_log=None)
    worker_task: asyncio.Task[None] | None = None
    try:
        await runner.setup()
        await web.TCPSite(runner, settings.web_host, settings.port).start()
        log.info("web server on %s:%s", settings.web_host, settings.port)
        worker_task = asyncio.create_task(parts.worker.run(), name="delivery-worker")
        await _announce(parts.bot, parts.dispatcher, settings)
        if parts.webhook_mode:
            log.info("receiving updates by webhook at %s", settings.public_url)
            await _wait_for_signal()
        else:
            log.info("receiving updates by long polling")
            await parts.dispatcher.start_polling(
                parts.bot, handle_signals=True, close_bot_session=False
            )
        parts.worker.stop()
        await worker_task
    finally:
        if worker_task is not None and not worker_task.done():
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
        await runner.cleanup()
        await parts.close()


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signals.SIGINT, signals.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_migrations(settings: Settings) -> str:
    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        return await migrate.current_revision(engine) or "nothing"
    finally:
        await engine.dispose()
