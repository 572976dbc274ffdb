"""The languages the bot speaks, and which one a user gets.

A language is named as its catalogue folder is (`en`, `ru`, `es`, `pt_BR`: Babel's and
gettext's spelling). People and other services spell them otherwise: Telegram reports an
IETF tag from the user's app (`pt-br`, `es-419`, `en-US`, or just `ru`), Stripe wants
`pt-BR`, and a menu per language is set for a two-letter ISO 639-1 code. This module is the
one place that translates between them; it knows nothing of the chat or the catalogue.

Which language a user reads: the one they chose with /language (users.language), else the
one their Telegram app reports if it is offered, else DEFAULT_LANGUAGE.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User

ENGLISH = "en"
LANGUAGES: tuple[str, ...] = ("en", "ru", "es", "pt_BR")

# Each language in its own words, for the /language keyboard and the Mini App's choice.
NATIVE_NAMES = {"en": "English", "ru": "Русский", "es": "Español", "pt_BR": "Português (Brasil)"}

# Stripe Checkout's and the customer portal's `locale` (https://docs.stripe.com/api/checkout/
# sessions/create#create_checkout_session-locale).
_STRIPE_LOCALES = {"en": "en", "ru": "ru", "es": "es", "pt_BR": "pt-BR"}

MAX_REMEMBERED = 100_000
REMEMBERED_FOR = 30.0  # seconds: how late another process's /language choice may apply
NOT_KNOWN = "?"  # ChosenLanguages.known() for a user not asked about lately


class ChosenLanguages:
    """What each user chose with /language (None: nothing), as this process last read it.

    The /language handler and the Mini App's settings write through `remember`, so a
    choice made in this process applies to the very next update; one made in another
    process (several instances on one database) is read again after REMEMBERED_FOR.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._chosen: dict[int, tuple[str | None, float]] = {}
        self._clock = clock

    def known(self, user_id: int) -> str | None:
        entry = self._chosen.get(user_id)
        if entry is None or self._clock() - entry[1] > REMEMBERED_FOR:
            return NOT_KNOWN
        return entry[0]

    def remember(self, user_id: int, language: str | None) -> None:
        if len(self._chosen) >= MAX_REMEMBERED:
            self._chosen.clear()
        self._chosen[user_id] = (language, self._clock())


def normalized(tag: str | None) -> str | None:
    """The offered language an IETF tag or catalogue name means, or None.

    A region only matters for Portuguese, offered as Brazilian (the largest audience):
    `pt`, `pt-br` and `pt_PT` all read pt_BR, as there is no European catalogue yet.
    """
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    if primary == "pt":
        return "pt_BR"
    return primary if primary in LANGUAGES else None


def pick(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The language a user reads: their choice, else their app's, else the default."""
    if chosen in LANGUAGES:
        return chosen
    return normalized(telegram_code) or default


def of_user(user: User | None, default: str) -> str:
    """pick() for a users row (None: a user not known yet reads the default)."""
    return pick(user.language, user.language_code, default) if user is not None else default


def stripe_locale(language: str) -> str:
    return _STRIPE_LOCALES.get(language, "auto")


def telegram_code(language: str) -> str:
    """The ISO 639-1 code a command menu is set for (`pt_BR` -> `pt`)."""
    return language.split("_", maxsplit=1)[0]


def bcp47(language: str) -> str:
    """The tag a browser's Intl and an HTML lang attribute take (`pt_BR` -> `pt-BR`)."""
    return language.replace("_", "-")


async def chosen(session: AsyncSession, user_id: int) -> str | None:
    """What the user chose with /language (None: they have not; their app's applies)."""
    value = await session.scalar(select(User.language).where(User.id == user_id))
    return value if value in LANGUAGES else None


async def choose(session: AsyncSession, user_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"not an offered language: {language!r}")
    await session.execute(update(User).where(User.id == user_id).values(language=language))


async def of_many(session: AsyncSession, user_ids: Iterable[int], default: str) -> dict[int, str]:
    """Each user's language, for those who do not read `default` (the rest read it)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.language, User.language_code).where(
            User.id.in_(ids), (User.language.is_not(None)) | (User.language_code.is_not(None))
        )
    )
    languages = {row.id: pick(row.language, row.language_code, default) for row in rows}
    return {user: language for user, language in languages.items() if language != default}
