"""The application's session factory, built by each composition root (bot/app/,
bot/worker.py): sessions of a Session class of its own, with the commit events attached
(bot.transactions.commit_events). Listeners sit on that class, not on SQLAlchemy's Session,
so what a transaction triggers does not depend on which modules happened to be imported,
and a test's or a script's plain session (db.engine.create_session_factory) triggers none.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.transactions import commit_events
from db.engine import create_session_factory


def app_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose commits count as changes: caches reload, the delivery worker wakes."""

    class AppSession(Session):
        """This factory's sessions (a class apiece, so listeners never leak between
        factories: a test process builds many)."""

    commit_events.attach(AppSession)
    return create_session_factory(engine, AppSession)
