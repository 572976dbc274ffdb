"""Fails a test when a task calls the Bot API while it holds a database connection.

The transaction rule (bot/transactions/unit_of_work.py): commit, then reply. On SQLite the whole
process has one connection, so a handler that replied from inside its unit of work would
hold every webhook and delivery behind a network round trip. Pool check-outs are counted
per asyncio task (a check-in can come from another task: SQLAlchemy shields a session's
close), and a Bot API request middleware looks at what the calling task holds.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class ConnectionGuard(BaseRequestMiddleware):
    def __init__(self) -> None:
        self._owner: dict[int, asyncio.Task[Any]] = {}  # pool record -> task that checked out
        self.violations: list[str] = []

    def watch(self, engine: AsyncEngine, bot: Bot) -> None:
        pool = engine.sync_engine.pool
        event.listen(pool, "checkout", self._checked_out)
        event.listen(pool, "checkin", self._checked_in)
        bot.session.middleware(self)

    def _checked_out(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._owner[id(record)] = task

    def _checked_in(self, _dbapi: Any, record: Any) -> None:
        self._owner.pop(id(record), None)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        task = asyncio.current_task()
        if task is not None and task in self._owner.values():
            self.violations.append(f"{type(method).__name__} with a database connection held")
        return await make_request(bot, method)
