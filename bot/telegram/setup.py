"""Telling Telegram who we are at start-up: the command menu, the menu button, and webhook
or long polling. Retried while Telegram cannot be reached; a rejected token, or a call
Telegram refuses (setWebhook with a PUBLIC_URL it cannot use), stops start-up.

The web server (Stripe webhooks, the Mini App, health) and the delivery worker are already
running while this waits, and what they queue goes out once Telegram answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramUnauthorizedError,
)
from aiogram.types import MenuButtonCommands, MenuButtonWebApp, WebAppInfo

from bot.core.languages import LANGUAGES, telegram_code
from bot.core.settings import Settings
from bot.core.startup import StartupError
from bot.texts import CATALOGUE, plain
from bot.texts.commands import Offered, menu

log = logging.getLogger(__name__)

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 60.0
# Telegram answered and said no: the request is wrong, and the same request will be wrong
# again. Everything else (no connection, a 5xx, a proxy's page, a 429) is waited out.
_REFUSALS = (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramConflictError,
    TelegramEntityTooLarge,
)


async def announce(bot: Bot, dispatcher: Dispatcher, settings: Settings) -> None:
    """Command menus, and webhook or long polling as PUBLIC_URL says."""
    await set_menus(bot, settings.default_language, Offered.by(settings))
    if settings.public_url:
        # The menu button opens the Mini App; without a public https URL it lists commands.
        # Telegram keeps one button for everyone: it reads in DEFAULT_LANGUAGE.
        with CATALOGUE.use_locale(settings.default_language):
            text = plain("button.open_app")
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(
                text=text, web_app=WebAppInfo(url=f"{settings.public_url}/app/")
            )
        )
        await bot.set_webhook(
            url=settings.public_url + TELEGRAM_WEBHOOK_PATH,
            secret_token=settings.webhook_secret_token,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
    else:
        await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
        await bot.delete_webhook()


async def set_menus(bot: Bot, default_language: str, offered: Offered) -> None:
    """The command menu in each language, for users whose app is set to it, and in
    DEFAULT_LANGUAGE for everyone else (Telegram picks by the user's language_code).

    Set by the ISO 639-1 code alone: Telegram has no per-region menus, so pt_BR's menu is
    every Portuguese speaker's (bot.core.languages reads any `pt` as pt_BR, too).
    """
    with CATALOGUE.use_locale(default_language):
        await bot.set_my_commands(menu(offered))
    for language in LANGUAGES:
        with CATALOGUE.use_locale(language):
            await bot.set_my_commands(menu(offered), language_code=telegram_code(language))


async def connect(
    bot: Bot,
    dispatcher: Dispatcher,
    settings: Settings,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """announce(), again and again with back-off until Telegram answers.

    A 401 is not a fault to wait out: the token is wrong, and start-up stops with one line.
    """
    delay = FIRST_RETRY_SECONDS
    while True:
        try:
            await announce(bot, dispatcher, settings)
        except TelegramUnauthorizedError:
            raise StartupError(
                "BOT_TOKEN: Telegram rejected the token (401); copy it again from @BotFather"
            ) from None
        except _REFUSALS as error:
            raise StartupError(refusal(error, settings)) from None
        except AiogramError as error:
            log.warning(
                "Telegram cannot be reached (%s); trying again in %.0f s",
                type(error).__name__,
                delay,
            )
            await sleep(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)
        else:
            return


def refusal(error: TelegramAPIError, settings: Settings) -> str:
    """One line for a set-up call Telegram refused: the setting to fix and its words."""
    method = error.method.__api_method__
    words = " ".join(error.message.split())  # Telegram's description, kept to one line
    if method == "setWebhook":
        return (
            f"PUBLIC_URL: Telegram refused the webhook {settings.public_url}"
            f"{TELEGRAM_WEBHOOK_PATH} ({words}); fix PUBLIC_URL, or unset it for "
            "long polling"
        )
    return f"Telegram refused {method} ({words})"
