"""What a failed send means, decided in one place: every outcome of a send is classified.

A pure function over the exception aiogram raised. The delivery worker applies the verdict:
it retries with back-off within the attempt limit, fails the row with its reason, marks
the user blocked, follows a migrated chat, or pauses all sending. Errors that say nothing
about the message itself (Telegram unreachable, an error page from a proxy, the token
rejected) pause every send and do not use up the row's attempts: the message goes out when
Telegram is back, instead of failing after eight tries during an outage.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    RestartingTelegram,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiohttp import ClientConnectorError

from bot.core.logs import REDACTOR

MAX_REASON = 200  # characters of an error's text kept in last_error


class Action(enum.Enum):
    RETRY = "retry"  # this message: again after a back-off, counting an attempt
    FAIL = "fail"  # this message can never be sent
    BLOCKED = "blocked"  # the user blocked the bot: stop sending to them
    MIGRATE = "migrate"  # the group became a supergroup: follow it
    PAUSE = "pause"  # 429: every send waits retry_after
    UNAVAILABLE = "unavailable"  # Telegram cannot be used now: every send waits


# What /metrics calls a failed send, by what the worker does about it.
OUTCOME_LABELS = {
    Action.PAUSE: "throttled",
    Action.UNAVAILABLE: "unavailable",
    Action.RETRY: "retry",
    Action.BLOCKED: "blocked",
    Action.FAIL: "failed",
    Action.MIGRATE: "migrated",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    reason: str
    retry_after: float = 0.0
    migrate_to_chat_id: int | None = None
    # True when nothing can be known about whether Telegram delivered it (a timeout).
    maybe_delivered: bool = False


def _text(error: BaseException) -> str:
    """The error's text for last_error: one line, bounded, and scrubbed of secrets (an
    error page may echo the request path, which carries the bot token)."""
    message = getattr(error, "message", None) or str(error)
    return REDACTOR.redact(" ".join(str(message).split()))[:MAX_REASON]


def _network(error: TelegramNetworkError) -> Verdict:
    if isinstance(error.__cause__, ClientConnectorError):
        # No connection was made, so nothing was sent.
        return Verdict(Action.UNAVAILABLE, f"Telegram unreachable: {_text(error.__cause__)}")
    # A timeout or a dropped connection after the request went out: Telegram may have
    # delivered it and there is no way to ask. Sending again is the lesser evil (a missed
    # stop-loss costs more than a repeated one); counted.
    return Verdict(Action.RETRY, f"network: {_text(error)}", maybe_delivered=True)


# First match wins: subclasses before their bases (TelegramEntityTooLarge is a
# TelegramNetworkError, RestartingTelegram a TelegramServerError).
_RULES: list[tuple[type[BaseException], Callable[[Any], Verdict]]] = [
    (
        TelegramRetryAfter,
        lambda e: Verdict(Action.PAUSE, "429 retry_after", retry_after=e.retry_after),
    ),
    (
        TelegramMigrateToChat,
        lambda e: Verdict(Action.MIGRATE, "migrated", migrate_to_chat_id=e.migrate_to_chat_id),
    ),
    (TelegramForbiddenError, lambda e: Verdict(Action.BLOCKED, f"403 {_text(e)}")),
    (TelegramEntityTooLarge, lambda e: Verdict(Action.FAIL, f"413 {_text(e)}")),
    (TelegramBadRequest, lambda e: Verdict(Action.FAIL, f"400 {_text(e)}")),
    (
        TelegramUnauthorizedError,
        lambda e: Verdict(Action.UNAVAILABLE, "401: Telegram rejected BOT_TOKEN"),
    ),
    (
        TelegramNotFound,
        lambda e: Verdict(
            Action.UNAVAILABLE, "404 from the Bot API: check BOT_TOKEN and TELEGRAM_API_BASE"
        ),
    ),
    (
        RestartingTelegram,
        lambda e: Verdict(Action.UNAVAILABLE, f"Telegram is restarting: {_text(e)}"),
    ),
    (TelegramServerError, lambda e: Verdict(Action.RETRY, f"5xx {_text(e)}")),
    (TelegramConflictError, lambda e: Verdict(Action.RETRY, f"409 {_text(e)}")),
    (TelegramNetworkError, _network),
    # Not JSON: an error page from a proxy or a load balancer, not Telegram's answer.
    (
        ClientDecodeError,
        lambda e: Verdict(Action.UNAVAILABLE, "the Bot API answered with a page that is not JSON"),
    ),
    (AiogramError, lambda e: Verdict(Action.RETRY, f"{type(e).__name__}: {_text(e)}")),
]


def classify(error: BaseException) -> Verdict:
    """The verdict for an exception raised by a send."""
    for kind, verdict in _RULES:
        if isinstance(error, kind):
            return verdict(error)
    return Verdict(Action.RETRY, f"unexpected {type(error).__name__}")
