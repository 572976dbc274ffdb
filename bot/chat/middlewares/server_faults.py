"""Updates that fail for a server reason (the database) are handled again, not lost.

In webhook mode the update's request answers 500 and Telegram delivers it again later;
in long-polling mode Telegram has already forgotten it, so it is retried here, with
back-off, until the database answers (a stop meanwhile loses it: production runs webhook
mode). Either way bot.chat.middlewares.db makes the second handling the only one that counts.
One log line per failure, no traceback: this is a known fault, not a bug.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.core import metrics
from bot.telegram.webhook import WEBHOOK_OUTCOME, WebhookOutcome
from bot.transactions.group_commit import ShutDownError
from db.faults import DATABASE_FAULTS, describe_fault

log = logging.getLogger(__name__)

# What "the server failed" means here: the database, or a shutdown that cut the work short.
SERVER_FAULTS: tuple[type[BaseException], ...] = (*DATABASE_FAULTS, ShutDownError)
MAX_RETRY_DELAY = 30.0


class ServerFaultMiddleware(BaseMiddleware):
    """The outermost update middleware: turns a server fault into a retry."""

    def __init__(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._sleep = sleep

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        update_id = event.update_id if isinstance(event, Update) else None
        outcome: WebhookOutcome | None = data.get(WEBHOOK_OUTCOME)
        delay = 1.0
        while True:
            try:
                result = await handler(event, data)
            except SERVER_FAULTS as error:
                metrics.UPDATES.labels("retry").inc()
                if outcome is not None:
                    outcome.retry = True
                    log.warning(
                        "update %s not handled (%s); Telegram will send it again",
                        update_id,
                        describe_fault(error),
                    )
                    return None
                log.warning(
                    "update %s not handled (%s); trying again in %.0f s",
                    update_id,
                    describe_fault(error),
                    delay,
                )
            else:
                metrics.UPDATES.labels("handled").inc()
                return result
            await self._sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY)
