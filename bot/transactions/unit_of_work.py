"""The one transaction idiom, for every adapter (chat handlers, web routes, jobs):

    async with uow() as session:
        result = await some_service(session, ...)
    await reply(render(result))

The unit opens a session and a transaction around the service call and commits when the
block ends; only then does the reply, or any other network call, go out. SQLite has one
connection for the whole process: a transaction held open across a Bot API or Stripe call
would hold every webhook and every delivery behind it. Services only flush; nothing else
commits or rolls back (an exception in the block rolls the unit back).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import READ_ONLY


class UnitOfWork:
    """`async with uow() as session:` is one transaction, committed at the end of the block."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        async with self._session_factory() as session:
            async with session.begin():
                await self._began(session)
                yield session
            self._committed(session)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A unit that only reads (/status, a button's lookup): on SQLite it takes no
        write lock, and an update's unit records nothing (a read applied twice is the
        same read). Write only in `uow()`: here a write would take the lock half way, and
        could fail as busy while another process writes."""
        async with self._session_factory() as session, session.begin():
            await session.connection(execution_options={READ_ONLY: True})
            yield session

    async def _began(self, session: AsyncSession) -> None:
        """A step before the block's own statements, in its transaction (bot.chat's update
        units record their update here)."""

    def _committed(self, session: AsyncSession) -> None:
        """A hook called once the unit's transaction has committed."""
