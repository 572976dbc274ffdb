"""The command menu and /help (from the catalogue)."""

from __future__ import annotations

from aiogram.types import BotCommand

from bot.chat.texts import Html, plain, t
from bot.signals.syntax import SYNTAX
from bot.signals.updates import UPDATE_SYNTAX

USER_COMMANDS = (
    "start",
    "subscribe",
    "status",
    "manage",
    "signals",
    "performance",
    "settings",
    "language",
    "referral",
    "join",
    "support",
    "paysupport",
    "help",
)


def menu() -> list[BotCommand]:
    """What Telegram lists when the user types "/"."""
    return [
        BotCommand(command=name, description=plain(f"command.{name}")) for name in USER_COMMANDS
    ]


def help_text(is_admin: bool) -> Html:
    if not is_admin:
        return t("help.user")
    admin = t("help.admin", signal_syntax=SYNTAX, update_syntax=UPDATE_SYNTAX)
    return Html(t("help.user") + admin)
