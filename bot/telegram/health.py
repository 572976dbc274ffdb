"""Whether Telegram can be used: seen on every Bot API call the process makes.

A request middleware on the Bot's session, so the delivery worker, the handlers' replies,
long polling and start-up all feed it without knowing. Any answer from Telegram (even a
400 or a 429) means it is there; no connection, an error page from a proxy, a 5xx or a
rejected token mean it is not. /readyz reads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response

# Errors that say Telegram cannot be used, as opposed to Telegram refusing one request.
_UNUSABLE = (
    TelegramNetworkError,
    ClientDecodeError,
    TelegramServerError,
    TelegramUnauthorizedError,
    TelegramNotFound,
)


class TelegramHealth(BaseRequestMiddleware):
    """Since when the Bot API has been failing (None while it answers)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.failing_since: float | None = None
        self.last_error = ""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        try:
            response = await make_request(bot, method)
        except _UNUSABLE as error:
            if self.failing_since is None:
                self.failing_since = self._clock()
            self.last_error = type(error).__name__
            raise
        except TelegramAPIError:
            self.failing_since = None  # Telegram answered, if only to refuse
            raise
        self.failing_since = None
        return response

    def unreachable_for(self) -> float:
        """Seconds since the Bot API last stopped answering; 0 while it answers."""
        return 0.0 if self.failing_since is None else self._clock() - self.failing_since
