"""Other processes' commits, heard on PostgreSQL (LISTEN on commit_events.CHANNEL).

One plain asyncpg connection per process listens; each notice names the topics a commit
in another process changed, and they are counted here as if committed here
(commit_events.changed): the Mini App's caches reload, the delivery worker wakes. Notices
from this process are skipped (they were counted at their commit). If the connection
drops, caches still expire by their TTL; the feed reconnects with a back-off.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.engine import make_url

from bot.transactions import commit_events
from db import urls

log = logging.getLogger(__name__)

RECONNECT_FIRST = 1.0
RECONNECT_MAX = 30.0


def _dsn(database_url: str) -> tuple[str, dict[str, Any]]:
    """asyncpg's DSN for DATABASE_URL, and its connect arguments (TLS, timeout: the
    engine's, from db.urls)."""
    address, connect_args = urls.split(urls.normalise(database_url))
    url = make_url(address).set(drivername="postgresql")
    return url.render_as_string(hide_password=False), connect_args


def heard(payload: str) -> list[str]:
    """The topics of a notice from another process ([] for this one's, or a bad one)."""
    origin, _, topics = payload.partition(" ")
    if origin == commit_events.ORIGIN or not topics:
        return []
    return [topic for topic in topics.split(",") if topic]


class ChangeFeed:
    """Listens until stopped; `ready` is set once LISTEN is in place."""

    def __init__(self, database_url: str) -> None:
        self._dsn, self._connect_args = _dsn(database_url)
        self._connection: Any = None
        self._stopping = asyncio.Event()
        self.ready = asyncio.Event()

    def _on_notice(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        commit_events.changed(heard(payload))

    async def run(self) -> None:
        # Imported here: a process on SQLite never starts a feed, and never loads asyncpg
        # (the delivery worker's memory is counted to the megabyte).
        import asyncpg  # noqa: PLC0415

        delay = RECONNECT_FIRST
        while not self._stopping.is_set():
            try:
                self._connection = await asyncpg.connect(self._dsn, **self._connect_args)
                await self._connection.add_listener(commit_events.CHANNEL, self._on_notice)
                self.ready.set()
                delay = RECONNECT_FIRST
                await self._until_lost()
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("change feed: %s; listening again in %.0f s", error, delay)
            finally:
                self.ready.clear()
                await self._close()
            if not self._stopping.is_set():
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX)

    async def _until_lost(self) -> None:
        while not self._stopping.is_set() and not self._connection.is_closed():
            try:
                await asyncio.wait_for(self._stopping.wait(), 5.0)
            except TimeoutError:
                continue

    async def _close(self) -> None:
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()
        self._connection = None

    def stop(self) -> None:
        self._stopping.set()
