"""The command menu and /help (from the catalogue): only the commands this bot offers."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import BotCommand

from bot.accounts.roles import SUPPORT_GRANT_DAYS, Permission
from bot.core.settings import Settings
from bot.signals.syntax import SYNTAX
from bot.signals.updates import UPDATE_SYNTAX
from bot.texts import Html, plain, t

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
    "mydata",
    "deletedata",
    "help",
)
# The catalogue's ids, spelled out (tests/project/test_texts.py finds every id in the code).
_HELP = {
    "subscribe": "help.command.subscribe",
    "status": "help.command.status",
    "manage": "help.command.manage",
    "signals": "help.command.signals",
    "performance": "help.command.performance",
    "settings": "help.command.settings",
    "language": "help.command.language",
    "referral": "help.command.referral",
    "join": "help.command.join",
    "support": "help.command.support",
    "paysupport": "help.command.paysupport",
    "mydata": "help.command.mydata",
    "deletedata": "help.command.deletedata",
    "help": "help.command.help",
}
# Commands that exist only with what they need set up (the rest always answer).
_PAYMENTS = frozenset({"subscribe", "manage", "paysupport"})
_RAIL_NAMES = {"stripe": "Stripe", "stars": "Telegram Stars"}  # names, not translated


@dataclass(frozen=True, slots=True)
class Offered:
    """What this bot is set up to offer, as the menu and /help need it."""

    rails: tuple[str, ...]
    referrals: bool
    premium_chats: bool

    @classmethod
    def by(cls, settings: Settings) -> Offered:
        return cls(
            rails=settings.rails,
            referrals=settings.referral_bonus_days is not None,
            premium_chats=bool(settings.premium_chat_ids),
        )

    def user_commands(self) -> list[str]:
        """No /subscribe without a payment rail, no /referral without a referral
        programme, no /join without premium chats."""
        hidden = set() if self.rails else set(_PAYMENTS)
        if not self.referrals:
            hidden.add("referral")
        if not self.premium_chats:
            hidden.add("join")
        return [name for name in USER_COMMANDS if name not in hidden]


def menu(offered: Offered) -> list[BotCommand]:
    """What Telegram lists when the user types "/"."""
    return [
        BotCommand(command=name, description=plain(f"command.{name}"))
        for name in offered.user_commands()
    ]


# Each staff command's line in /help, and who sees it (bot/accounts/roles.py): a role
# reads only what it may do. The catalogue's ids spelled out, as _HELP's.
_STAFF_HELP: tuple[tuple[str, frozenset[Permission]], ...] = (
    ("help.staff.signal", frozenset({Permission.POST_SIGNALS})),
    ("help.staff.update", frozenset({Permission.POST_SIGNALS})),
    ("help.staff.stats", frozenset({Permission.READ_STATS})),
    ("help.staff.grant", frozenset({Permission.GRANT})),
    ("help.staff.revoke", frozenset({Permission.REVOKE})),
    ("help.staff.refund", frozenset({Permission.REFUND})),
    ("help.staff.user", frozenset({Permission.LOOK_UP})),
    ("help.staff.broadcast", frozenset({Permission.BROADCAST})),
    ("help.admin_audit", frozenset({Permission.READ_AUDIT})),
)


def _staff_lines(permissions: frozenset[Permission]) -> list[Html]:
    lines = [
        t(key, signal_syntax=SYNTAX, update_syntax=UPDATE_SYNTAX)
        for key, needed in _STAFF_HELP
        if not needed.isdisjoint(permissions)
    ]
    if Permission.GRANT_SHORT in permissions and Permission.GRANT not in permissions:
        lines.insert(0, t("help.staff.grant_short", max=SUPPORT_GRANT_DAYS))
    return lines


def help_text(offered: Offered, permissions: frozenset[Permission] = frozenset()) -> Html:
    """The user commands offered, then the staff commands `permissions` allow."""
    rails = ", ".join(_RAIL_NAMES[rail] for rail in offered.rails)
    lines = [
        t(f"help.command.{name}", rails=rails)
        if name == "subscribe"
        else t(f"help.command.{name}")
        for name in offered.user_commands()
        if name != "start"
    ]
    text = t("help.intro") + "\n\n" + "\n".join(lines)
    staff = _staff_lines(permissions)
    if staff:
        text += "\n\n" + "\n".join([t("help.staff.title"), *staff])
    return Html(text)
