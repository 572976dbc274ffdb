"""`python -m bot worker`: a delivery worker in a process of its own (PostgreSQL only).

`python -m bot` always runs a worker. On PostgreSQL one process at a time has the sending
turn (bot.delivery.turn): it sends for the whole bot at DELIVERY_RATE, spaces each chat's
messages and edits broadcasts' progress messages, while the others stand by to take over
within two seconds of its stop or death. A worker process keeps that work, and its memory,
off the web instances when it holds the turn. It imports only what sending needs: no
handlers, web server, Stripe or Alembic (bench/delivery/ measures its memory). It hears
of new rows through the change feed (LISTEN/NOTIFY), and by polling every
IDLE_POLL_SECONDS should that connection drop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from signal import SIGINT, SIGTERM
from typing import Literal

from aiogram import Bot

from bot.chat.sender import SenderOverrides, create_sender
from bot.core.settings import Settings
from bot.core.startup import StartupError, check_schema, freeze_startup_objects, open_engine
from bot.delivery.turn import sending_turn
from bot.delivery.worker import DeliveryWorker
from bot.notices.outbox import OutboxWakeup
from bot.telegram.client import create_bot, warm_response_models
from bot.texts import signals as signal_texts
from bot.texts import use_brand
from bot.transactions import commit_events
from bot.transactions.change_feed import ChangeFeed
from bot.transactions.sessions import app_session_factory
from db.engine import is_sqlite

log = logging.getLogger(__name__)


@asynccontextmanager
async def delivery_worker(
    settings: Settings,
    *,
    rate: float | Literal["auto"] | None = None,
    concurrency: int | None = None,
    lease: timedelta | None = None,
) -> AsyncIterator[DeliveryWorker]:
    """A worker built as the app builds its own, closed on exit.

    `rate`, `concurrency` and `lease` override the settings and the defaults for
    benchmarks, which also send with no rate limit at all.
    """
    engine = open_engine(settings)
    bot: Bot | None = None
    try:
        bot = create_bot(settings)
        await check_schema(engine)
        warm_response_models()
        wakeup = OutboxWakeup()
        # A commit of outbox rows wakes the worker: this process's, or (change feed) another's.
        commit_events.subscribe(commit_events.OUTBOX, wakeup)
        use_brand(settings.brand_name)  # the texts' {brand}
        signal_texts.use_style(settings.signal_style)  # how signals and updates read
        _, worker = create_sender(
            settings,
            bot,
            app_session_factory(engine),
            wakeup=wakeup,
            turn=sending_turn(engine),
            overrides=SenderOverrides(rate=rate, concurrency=concurrency, lease=lease),
        )
        yield worker
    finally:
        if bot is not None:
            await bot.session.close()
        await engine.dispose()


async def run_worker(settings: Settings) -> None:
    """Deliver until SIGTERM or SIGINT; in-flight sends finish and are recorded first."""
    if is_sqlite(settings.database_url):
        # A second writing process would make the web process wait in SQLite's busy
        # handler, on its event loop; and there is nothing to share the sending with.
        raise StartupError(
            "DATABASE_URL: python -m bot worker needs PostgreSQL; on SQLite the worker "
            "inside python -m bot does all the sending"
        )
    async with delivery_worker(settings) as worker:
        log.info(
            "delivery worker at DELIVERY_RATE=%s for the whole bot whenever it holds the sending "
            "turn (one process at a time sends)",
            settings.delivery_rate,
        )
        freeze_startup_objects()
        loop = asyncio.get_running_loop()
        for number in (SIGINT, SIGTERM):
            loop.add_signal_handler(number, worker.stop)
        # Outbox rows written by another process wake this worker at once
        # (bot.transactions.change_feed).
        feed = ChangeFeed(settings.database_url)
        feed_task = asyncio.create_task(feed.run(), name="change-feed")
        try:
            await worker.run()
        finally:
            feed.stop()
            await feed_task
