"""The transaction rule (bot/transactions/unit_of_work.py) has teeth: a handler that replies
while its unit of work is open is caught by the harness's connection guard."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy import text

from bot.transactions.unit_of_work import UnitOfWork
from tests.support.harness import Harness

USER = 8801


async def test_a_reply_from_inside_a_unit_of_work_is_caught(harness: Harness) -> None:
    async def careless(message: Message, uow: UnitOfWork) -> None:
        async with uow() as session:
            await session.execute(text("SELECT 1"))
            await message.answer("replied with the transaction open")

    router = Router(name="careless")
    router.message.register(careless, Command("careless"))
    # Ahead of the fallback router, which answers every command it reaches.
    harness.parts.dispatcher.sub_routers[0].include_router(router)
    await harness.send_text(USER, "/careless")
    assert harness.guard.violations == ["SendMessage with a database connection held"]
    harness.guard.violations.clear()  # seen: the fixture's own check must not fail now


async def test_the_rule_followed_is_not_flagged(harness: Harness) -> None:
    async def careful(message: Message, uow: UnitOfWork) -> None:
        async with uow() as session:
            await session.execute(text("SELECT 1"))
        await message.answer("replied after the commit")

    router = Router(name="careful")
    router.message.register(careful, Command("careful"))
    # Ahead of the fallback router, which answers every command it reaches.
    harness.parts.dispatcher.sub_routers[0].include_router(router)
    await harness.send_text(USER, "/careful")
    assert harness.last_reply(USER).text == "replied after the commit"
    assert harness.guard.violations == []


async def test_only_the_applications_sessions_count_their_commits(harness: Harness) -> None:
    """The commit events sit on the composition root's own Session class: a plain session
    on the same database (a script's, a test's) counts nothing, whatever was imported, and
    a second application's factory does not count the first one's commits twice."""
    from bot.transactions import commit_events
    from bot.transactions.sessions import app_session_factory
    from db.engine import create_session_factory

    def feed() -> int:
        return commit_events.version(commit_events.FEED)

    engine = harness.parts.engine
    before = feed()
    async with create_session_factory(engine)() as session, session.begin():
        commit_events.mark(session, commit_events.FEED)
    assert feed() == before
    app_session_factory(engine)  # another application in this process: its own listeners
    async with harness.parts.session_factory() as session, session.begin():
        commit_events.mark(session, commit_events.FEED)
    assert feed() == before + 1
