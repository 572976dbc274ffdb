"""`python -m bot worker`: the delivery worker alone, in a process of its own.

`python -m bot` already runs a worker; this is for sending from more than one process
on PostgreSQL, where workers share the outbox (FOR UPDATE SKIP LOCKED), or for keeping
sending apart from the web process. It imports only what sending needs: no handlers,
web server, Stripe or Alembic (bench/delivery.py measures its memory). It hears of new
rows by polling (every IDLE_POLL_SECONDS); the web process's own worker is woken at once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.services.delivery import CONCURRENCY, DeliveryWorker
from bot.settings import Settings
from bot.startup import check_schema
from bot.telegram import create_bot, warm_response_models
from db.engine import create_engine, create_session_factory

log = logging.getLogger(__name__)


@asynccontextmanager
async def delivery_worker(
    settings: Settings, *, rate: float | None = None, concurrency: int | None = None
) -> AsyncIterator[DeliveryWorker]:
    """A worker built as the app builds its own, closed on exit.

    `rate` and `concurrency` override the settings and the default for benchmarks, which
    also send with no rate limit at all.
    """
    engine = create_engine(settings.database_url)
    bot = create_bot(settings)
    try:
        await check_schema(engine)
        warm_response_models()
        yield DeliveryWorker(
            bot,
            create_session_factory(engine),
            rate=settings.delivery_rate if rate is None else rate,
            paid_broadcast=settings.paid_broadcast,
            concurrency=CONCURRENCY if concurrency is None else concurrency,
        )
    finally:
        await bot.session.close()
        await engine.dispose()


def freeze_startup_objects() -> None:
    """Move what start-up built out of the cyclic GC's reach, as bot.app.run does."""
    gc.collect()
    gc.freeze()


async def run_worker(settings: Settings) -> None:
    """Deliver until SIGTERM or SIGINT; in-flight sends finish and are recorded first."""
    async with delivery_worker(settings) as worker:
        freeze_startup_objects()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run()
