"""GET /metrics: Prometheus' text format (bot/core/metrics.py says what is counted).

With METRICS_TOKEN set a scrape must bring `Authorization: Bearer <token>` (401 without);
with PROMETHEUS_MULTIPROC_DIR set the answer sums every process of the host that writes
there (prometheus-client's multiprocess mode), the `python -m bot worker`s included.

The database down is when monitoring matters most: /metrics still answers with what the
process knows, the database's figures marked not known (bot/core/metrics.py).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import os
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from bot.core import metrics
from bot.notices import outbox
from db.faults import DATABASE_FAULTS, describe_fault
from webapp.errors import ApiError
from webapp.keys import SETTINGS, UNIT_OF_WORK

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
READ_TIMEOUT = 3.0  # a scrape waits no longer for the database (as /readyz)
_READ_FAULTS: tuple[type[Exception], ...] = (*DATABASE_FAULTS, TimeoutError)


def _authorised(request: web.Request) -> bool:
    token = request.app[SETTINGS].metrics_token
    if token is None:
        return True
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token.get_secret_value()}"
    return hmac.compare_digest(given.encode(), expected.encode())


async def _read_outbox(request: web.Request) -> None:
    """The outbox gauges from the database; NaN, and database_up 0, when it cannot be read."""
    try:
        # A writing unit although it only reads: on SQLite it takes the write lock, so a
        # database that reads but cannot write (a full disk, a read-only file) is down here,
        # as it is for /readyz.
        async with asyncio.timeout(READ_TIMEOUT), request.app[UNIT_OF_WORK]() as session:
            depth, oldest = await outbox.backlog(session)
    except _READ_FAULTS as error:
        log.warning("metrics: the database cannot be read (%s)", describe_fault(error))
        metrics.DATABASE_UP.set(0)
        metrics.OUTBOX_DEPTH.set(math.nan)
        metrics.OUTBOX_AGE.set(math.nan)
        return
    metrics.DATABASE_UP.set(1)
    metrics.OUTBOX_DEPTH.set(depth)
    waited = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    metrics.OUTBOX_AGE.set(max(0.0, waited))


def _exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@routes.get("/metrics")
async def prometheus_metrics(request: web.Request) -> web.Response:
    if not _authorised(request):
        raise ApiError(401, "unauthorized", "GET /metrics needs the METRICS_TOKEN bearer")
    await _read_outbox(request)
    return web.Response(body=_exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
