"""What every process does before it starts work: open the engine, check the schema,
warn about settings that work but will disappoint someone, freeze start-up."""

from __future__ import annotations

import gc

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.settings import Settings
from db import revision
from db.engine import PoolOptions, create_engine


class StartupError(Exception):
    """Start-up cannot continue; the message is one line for the operator."""


def open_engine(settings: Settings) -> AsyncEngine:
    """The process's engine, on DATABASE_URL with the pool the settings give."""
    pool = PoolOptions(
        size=settings.database_pool_size,
        overflow=settings.database_max_overflow,
        timeout=settings.database_pool_timeout,
    )
    return create_engine(settings.database_url, pool=pool)


async def check_schema(engine: AsyncEngine) -> None:
    """Refuse to run on a database the migrations have not brought up to date."""
    current = await revision.current(engine)
    if current != revision.HEAD:
        raise StartupError(
            f"DATABASE_URL: schema is at {current or 'nothing'}, expected {revision.HEAD}; "
            "run `python -m bot migrate` (make run does it for you)"
        )


def config_warnings(settings: Settings) -> list[str]:
    """Settings that start fine but leave someone without an answer: one line each."""
    warnings = []
    if not settings.rails:
        warnings.append("no payment rail is configured: /subscribe and /manage will say so")
    elif not settings.support_contact:
        # Telegram requires a bot that takes payments to answer /paysupport usefully.
        warnings.append(
            "SUPPORT_CONTACT is not set: /paysupport and /support have no contact to give "
            "paying users; set it to an @username, a link or an e-mail address"
        )
    if settings.signal_chat_mode == "results" and settings.signal_chat_delay_minutes:
        warnings.append(
            "SIGNAL_CHAT_DELAY_MINUTES has no effect with SIGNAL_CHAT_MODE=results: a closed "
            "result goes to the channel when the signal closes"
        )
    if settings.price_source is not None and settings.outcomes == "manual":
        warnings.append(
            "PRICE_SOURCE has no effect with OUTCOMES=manual: outcomes are left to /update"
        )
    elif (
        settings.watches_prices
        and settings.outcomes == "confirm"
        and not (
            settings.admin_ids or settings.poster_ids  # who may confirm (bot/accounts/roles.py)
        )
    ):
        warnings.append(
            "OUTCOMES=confirm with no ADMIN_IDS or POSTER_IDS: nobody is asked to confirm "
            "what the exchange's prices show, so nothing is recorded"
        )
    return warnings


def freeze_startup_objects() -> None:
    """Move what start-up imported and built out of the cyclic GC's reach.

    It lives as long as the process; full collections scanned it all (aiogram's pydantic
    models above all), ~190 ms each: the webhook tail, and stalls in delivery.
    """
    gc.collect()
    gc.freeze()


# The serving process's cyclic GC thresholds (CPython's default: 700, 10, 10). A burst of
# updates keeps thousands of them in flight at once (aiogram handles each as a task), so
# most young objects survive a collection and are promoted: at 700 the process ran 1,220
# young, 110 middle and 10 full collections for 4,100 updates (bench.updates, 2,000 users):
# 2.0 s of CPU, ~490 us an update. At 10,000: 57 and 5 and none, 0.96 s (gen0 pauses of
# ~10 ms rather than full ones of ~120 ms); CPU per update 1,683 -> 1,295 us in that run.
SERVING_GC_THRESHOLD = (10_000, 10, 10)


def tune_gc_for_serving() -> None:
    """Collect young objects less often in the process that answers updates (see above)."""
    gc.set_threshold(*SERVING_GC_THRESHOLD)
