"""`python -m bot`: the bot, the embedded web server and the delivery worker on one event
loop until SIGINT or SIGTERM, then a graceful stop (in-flight sends finish and are
recorded, the web server drains)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from signal import SIGINT, SIGTERM

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.accounts import role_changes
from bot.app import Components, build
from bot.billing.checkout import BillingService
from bot.core.errors import BillingNotConfiguredError, BillingUnavailableError
from bot.core.settings import Settings
from bot.core.startup import (
    StartupError,
    check_schema,
    config_warnings,
    freeze_startup_objects,
    open_engine,
    tune_gc_for_serving,
)
from bot.outcomes.jobs import PriceWatch, price_watch
from bot.telegram import setup as telegram_setup
from bot.telegram.client import bot_username, warm_response_models
from bot.transactions.change_feed import ChangeFeed
from db.engine import is_sqlite
from webapp.app import create_runner
from webapp.keys import SIGNAL_CHAT

log = logging.getLogger(__name__)


async def run(settings: Settings) -> None:
    """Run the bot, the embedded web server and the delivery worker until SIGINT or SIGTERM."""
    engine = await _checked_engine(settings)
    parts = build(settings, engine)
    watch = await _price_watch(parts)
    warm_response_models()
    freeze_startup_objects()
    tune_gc_for_serving()
    for warning in config_warnings(settings):
        log.warning("%s", warning)
    if parts.premium.enabled:
        await parts.premium.check_rights()  # one line per chat the bot cannot guard
    signal_chat = parts.web_app[SIGNAL_CHAT]
    if signal_chat.enabled:
        await signal_chat.check_rights(datetime.now(UTC))  # a line, and the admins told
    runner = create_runner(parts.web_app)
    worker_task: asyncio.Task[None] | None = None
    scheduler_task: asyncio.Task[None] | None = None
    prices_task: asyncio.Task[None] | None = None
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
        if watch is not None:
            prices_task = asyncio.create_task(watch.scheduler.run(), name="prices")
        await receive_updates(parts, _stop_event())
        for scheduler in (parts.scheduler, watch.scheduler if watch else None):
            if scheduler is not None:
                scheduler.stop()
        parts.worker.stop()
        await scheduler_task
        await worker_task
    finally:
        if feed is not None:
            feed.stop()
        for task in (prices_task, scheduler_task, worker_task, feed_task, checking):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await runner.cleanup()
        if watch is not None:
            await watch.close()
        await parts.close()


async def _checked_engine(settings: Settings) -> AsyncEngine:
    """The engine, once the schema is this release's; a change of the role lists since
    the last start goes to the audit log (bot/accounts/role_changes.py)."""
    engine = open_engine(settings)
    try:
        await check_schema(engine)
        if await role_changes.record_at_start(engine, settings, datetime.now(UTC)):
            log.info("the role lists changed: recorded in the audit log")
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def _price_watch(parts: Components) -> PriceWatch | None:
    """The price watcher PRICE_SOURCE asks for (ccxt imported only then); a start-up error
    (no such exchange) closes what was built."""

    async def username() -> str | None:
        return await bot_username(parts.bot)

    try:
        return price_watch(parts.settings, parts.session_factory, username=username)
    except BaseException:
        await parts.close()
        raise


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
