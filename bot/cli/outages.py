"""What an offline command (`reconcile`, `audit-chats`) says when Stripe or Telegram does not
answer, or refuses our credentials: one line naming it and an exit status, not a traceback."""

from __future__ import annotations

import stripe
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.billing.stripe_client import stripe_words
from bot.core.settings import Settings

EXIT_CONFIG = 2  # a setting to fix (as for every start-up error)
EXIT_UNREACHABLE = 3  # a service did not answer: try again later

STRIPE_API_BASE = "https://api.stripe.com"
# Telegram did not answer usefully: no connection, a 5xx, a proxy's page, a flood wait.
_TELEGRAM_DOWN = (
    TelegramNetworkError,
    TelegramServerError,
    ClientDecodeError,
    TelegramNotFound,
    TelegramRetryAfter,
)
# The SDK has retried these already (max_network_retries).
_STRIPE_DOWN = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)


def outage(error: BaseException, settings: Settings) -> tuple[int, str] | None:
    """(exit status, one line) when `error` is Stripe or Telegram absent or refusing our
    key; None for anything else, which stays a traceback (a bug is not an outage)."""
    if isinstance(error, TelegramUnauthorizedError):
        return EXIT_CONFIG, "BOT_TOKEN: Telegram rejected the token (401)"
    if isinstance(error, _TELEGRAM_DOWN):
        where = settings.telegram_api_base
        return EXIT_UNREACHABLE, f"Telegram cannot be reached at {where} ({type(error).__name__})"
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return EXIT_CONFIG, f"STRIPE_API_KEY: Stripe refused the key ({stripe_words(error)})"
    if isinstance(error, _STRIPE_DOWN):
        where = settings.stripe_api_base or STRIPE_API_BASE
        return EXIT_UNREACHABLE, f"Stripe cannot be reached at {where} ({type(error).__name__})"
    return None
