"""What the fault suite shares: cutting the database of one harness and restoring it
(Outage, the make_outage fixture), the check that a fault we expect logged no traceback, and
what a Stripe webhook stored.

The database is cut two ways: on PostgreSQL a TCP proxy between the app and the server
drops every connection and refuses new ones (the server stopped, or the network gone); on
SQLite the app's connection is switched to query_only, so that every transaction fails as
on a read-only file or a full disk (permission bits do not stop root, who runs CI).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from db.models import Entitlement, ProcessedStripeEvent
from tests.support.fakes.tcp_proxy import TcpProxy
from tests.support.harness import Harness, MakeHarness


@dataclass
class Outage:
    """Cuts the database of one harness and restores it (see the module docstring)."""

    harness: Harness
    proxy: TcpProxy | None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def begin(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
        else:
            await self._query_only(True)

    async def end(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
        else:
            await self._query_only(False)

    def begin_now(self) -> None:
        """From a synchronous callback (the fake Bot API's send hook)."""
        if self.proxy is not None:
            self.proxy.cut()
            return
        self._spawn(self._query_only(True))

    def end_after(self, seconds: float) -> None:
        async def later() -> None:
            await asyncio.sleep(seconds)
            await self.end()

        self._spawn(later())

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _query_only(self, on: bool) -> None:
        # SQLite has one pooled connection: the setting stays on it.
        async with self.harness.parts.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            raw.driver_connection._conn.execute(f"PRAGMA query_only={int(on)}")  # type: ignore[union-attr]

    async def wait(self) -> None:
        await asyncio.gather(*self._tasks)


MakeOutage = Callable[..., Awaitable[Outage]]


@pytest.fixture
async def make_outage(database_url: str, make_harness: MakeHarness) -> AsyncIterator[MakeOutage]:
    proxies: list[TcpProxy] = []

    async def factory(**overrides: Any) -> Outage:
        if database_url.startswith("sqlite"):
            return Outage(await make_harness(**overrides), None)
        url = make_url(database_url)
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        await proxy.__aenter__()
        proxies.append(proxy)
        through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        return Outage(await make_harness(database_url=through, **overrides), proxy)

    yield factory
    for proxy in proxies:
        await proxy.__aexit__(None, None, None)


def expected_faults_only(caplog: pytest.LogCaptureFixture) -> None:
    """A fault we planned for is one log line, never a traceback."""
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_text]
    assert tracebacks == []


async def _stripe_state(harness: Harness) -> tuple[int, int]:
    async with harness.session() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Entitlement)) or 0),
            int(await session.scalar(select(func.count()).select_from(ProcessedStripeEvent)) or 0),
        )
