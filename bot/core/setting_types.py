"""The shapes of the settings (bot/core/settings.py): each a type with its check, so the
Settings class reads as the list of knobs it is. A check raises ValueError with words for
the operator; settings.describe_validation_error puts the variable's name before them and
never the value of a secret.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from bot.core import languages
from bot.core.ids import parse_user_id
from db import urls

# "<bot id>:<secret>" as BotFather issues it (ASCII only: it travels in every URL).
_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]+")
MAX_REMINDER_DAYS = 365
RAILS = ("stripe", "stars")
# A Stripe promotion code as customers type it (Stripe allows letters and digits; the
# dashboard also accepts - and _).
_PROMO_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Supergroup and channel ids: -100 followed by the chat's own digits. The Bot API writes a
# channel (or supergroup) as -(10**12 + its MTProto id), so at least ten digits follow -100
# (core.telegram.org/api/bots/ids); at most 13 allowed, as before.
_CHAT_ID = re.compile(r"-100[0-9]{10,13}")
SIGNAL_CHAT_MODES = ("signals", "results")
MAX_BRAND = 64
MAX_DISCLAIMER = 2000  # well within a Telegram message (4096) with its buttons' words
MAX_TERMS_URL = 500
SIGNAL_STYLES = ("cornix", "classic")
# PAID_BROADCAST: which bulk messages go out with allow_paid_broadcast (bot/notices/paid.py).
PAID_MODES = ("off", "signals", "all")
# The true/false it was before: true paid for every bulk message, false for none.
_PAID_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_PAID_FALSE = frozenset({"false", "0", "no", "f", "n"})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# An exchange's id as ccxt spells it (binance, bybit, okx, kucoin, gateio ...); whether
# ccxt has it is checked when the watcher is built (bot/outcomes/exchange.py).
_EXCHANGE = re.compile(r"[a-z][a-z0-9]{1,31}")
OUTCOMES = ("auto", "confirm", "manual")


def split_csv(value: object) -> object:
    """Accept "1,2, 3" as well as a real list (tests pass lists).

    An empty item ("3,,1", ",") is a typo, not nothing: dropped silently, `PAYMENT_RAILS=,`
    meant "every configured rail" and `REMINDER_DAYS=3,,1` hid a lost day.
    """
    if isinstance(value, str):
        if not value.strip():
            return []
        items = [item.strip() for item in value.split(",")]
        if "" in items:
            raise ValueError("has an empty item between commas")
        return items
    return value


def _items(value: object, expected: str) -> list[object]:
    items = split_csv(value)
    if not isinstance(items, list):
        raise ValueError(f"must be {expected}")  # noqa: TRY004 - pydantic wants ValueError
    return items


def user_ids(value: object) -> list[int]:
    ids = []
    for item in _items(value, "comma-separated Telegram user ids"):
        user_id = parse_user_id(item)
        if user_id is None:
            raise ValueError(f"{str(item)[:32]!r} is not a Telegram user id")
        ids.append(user_id)
    return ids


def chat_ids(value: object) -> list[int]:
    ids = []
    for item in _items(value, "comma-separated chat ids, for example -1001234567890"):
        text = str(item).strip()
        if not _CHAT_ID.fullmatch(text) or int(text) == -(10**12):
            raise ValueError(
                f"{text[:24]!r} is not a channel or supergroup id "
                "(-100 and at least 10 more digits)"
            )
        ids.append(int(text))
    return list(dict.fromkeys(ids))


def chat_id(value: object) -> int | None:
    """One channel or supergroup id (SIGNAL_CHAT_ID), by ChatIds' rule; empty: unset."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if "," in text:
        raise ValueError("must be one channel or supergroup id, for example -1001234567890")
    return chat_ids([text])[0]


def signal_chat_mode(value: object) -> object:
    """`signals` (every signal and its updates) or `results` (closed results only);
    `all` is read as `signals`."""
    mode = str(value).strip().lower()
    if mode == "all":
        return "signals"
    if mode not in SIGNAL_CHAT_MODES:
        raise ValueError("must be signals (every signal and update) or results")
    return mode


def days(value: object) -> list[int]:
    """Whole days from 1 to 365, largest first; `off` for none."""
    items = split_csv(value)
    if items == ["off"]:
        return []
    found = []
    for item in _items(items, "comma-separated whole days, for example 3,1"):
        text = str(item)
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_REMINDER_DAYS:
            raise ValueError(f"{text[:16]!r} is not a whole number of days from 1 to 365")
        found.append(int(text))
    return sorted(set(found), reverse=True)


def rails(value: object) -> list[str]:
    chosen = [str(item).strip().lower() for item in _items(value, "stripe, stars or stripe,stars")]
    for rail in chosen:
        if rail not in RAILS:
            raise ValueError(f"{rail[:16]!r} is not a payment rail: stripe, stars")
    return sorted(set(chosen), key=RAILS.index)


def price_ids(value: list[str]) -> list[str]:
    for price_id in value:
        if not price_id.startswith("price_"):
            raise ValueError(f"{price_id!r} is not a Stripe Price id (price_...)")
    return value


def one_line(value: str | None) -> str | None:
    # Shown in chat as one line; a control character garbles it or hides what follows,
    # a line or paragraph separator breaks it, a bidi or format control (U+202E) shows
    # it reversed or hides part of it.
    unsafe = ("Cc", "Cf", "Cs", "Zl", "Zp")
    if value is not None and any(unicodedata.category(c) in unsafe for c in value):
        raise ValueError(
            "must be one line of text without control, invisible or line break characters"
        )
    return value


def promo_code(value: str | None) -> str | None:
    if value is not None and not _PROMO_CODE.fullmatch(value):
        raise ValueError("must be a Stripe promotion code: 1-64 letters, digits, - or _")
    return value


def url(value: str | None) -> str | None:
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


def public_https(value: str | None) -> str | None:
    # Telegram only opens Mini Apps and delivers webhooks over https.
    if value is not None and not value.startswith("https://"):
        raise ValueError("must be an https:// URL (Telegram requires https)")
    return value


def disclaimer_text(value: str | None) -> str | None:
    # Shown in chat (HTML escaped) and in the Mini App; paragraphs allowed, nothing that
    # garbles or hides what the user accepts. Its sha256 names the version accepted.
    if value is None:
        return None
    text = "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").split("\n")).strip()
    if not text:
        raise ValueError("must not be empty (unset it for the catalogue's text)")
    if len(text) > MAX_DISCLAIMER:
        raise ValueError(f"must be at most {MAX_DISCLAIMER} characters")
    if any(c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in text):
        raise ValueError("must not contain control or invisible characters")
    return text


def terms_url(value: str | None) -> str | None:
    # Checkout links it from the terms checkbox (custom_text, 1200 characters at most).
    if not value:
        return None
    try:  # "https://[::1" is no URL: urlsplit raises, and the reason below is the clear one
        parts = urlsplit(value) if value.isascii() else None
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or "@" in parts.netloc  # user:password@ shown to every customer
        or len(value) > MAX_TERMS_URL
        or any(c.isspace() or not c.isprintable() or c in '()[]<>"' for c in value)
    ):
        raise ValueError(
            f"must be an https:// URL of at most {MAX_TERMS_URL} characters, in ASCII "
            "(punycode, %-escapes), without spaces, brackets, quotes or a user:password@"
        )
    return value


def telegram_default(value: object) -> object:
    # An empty line copied from .env.example means "the default", not "nothing".
    return "https://api.telegram.org" if value in ("", None) else value


def delivery_rate(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        rate = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError("must be auto or a number of messages a second") from None
    if not 0 < rate <= 1000:  # noqa: PLR2004 - Telegram's paid broadcast rate
        raise ValueError("must be auto or a number above 0 and at most 1000")
    return rate


def paid_broadcast(value: object) -> object:
    """`off`, `signals` or `all`; true and false as before (`all` and `off`)."""
    if isinstance(value, bool):
        return "all" if value else "off"
    mode = str(value).strip().lower()
    if mode in _PAID_TRUE:
        return "all"
    if mode in _PAID_FALSE:
        return "off"
    if mode not in PAID_MODES:
        raise ValueError("must be off, signals or all (true and false as before: all, off)")
    return mode


def language(value: str) -> str:
    found = languages.normalized(value)
    if found is None or languages.bcp47(found).lower() != value.replace("_", "-").lower():
        offered = ", ".join(languages.bcp47(code) for code in languages.LANGUAGES)
        raise ValueError(f"must be one of {offered}")
    return found


def brand_name(value: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > MAX_BRAND:
        raise ValueError(f"must be 1 to {MAX_BRAND} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name):
        raise ValueError("must not contain control or invisible characters")
    return name


def signal_style(value: object) -> object:
    style = str(value).strip().lower()
    if style not in SIGNAL_STYLES:
        raise ValueError(f"must be one of {', '.join(SIGNAL_STYLES)}")
    return style


def price_source(value: object) -> object:
    name = "" if value is None else str(value).strip().lower()
    if not name:
        return None
    if not _EXCHANGE.fullmatch(name):
        raise ValueError("must be an exchange's name as ccxt spells it, e.g. binance, bybit, okx")
    return name


def outcomes(value: object) -> object:
    mode = str(value).strip().lower()
    if mode not in OUTCOMES:
        raise ValueError("must be auto, confirm or manual")
    return mode


def log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def bot_token(value: SecretStr) -> SecretStr:
    # "<bot id>:<secret>" is what BotFather issues; catching a typo here beats a 401 later.
    if not value.get_secret_value():
        raise ValueError("is required but not set")
    if not _TOKEN.fullmatch(value.get_secret_value()):
        raise ValueError("must look like 123456:ABC... as issued by @BotFather")
    return value


def _given(value: SecretStr | None) -> str | None:
    """An optional secret's text; empty (a blank line from .env.example) is unset."""
    return value.get_secret_value() or None if value is not None else None


def stripe_key(value: SecretStr | None) -> SecretStr | None:
    secret = _given(value)
    if secret is not None and not secret.startswith(("sk_", "rk_")):
        raise ValueError("must be a Stripe secret or restricted key (sk_... or rk_...)")
    return value if secret is not None else None


def metrics_token(value: SecretStr | None) -> SecretStr | None:
    secret = _given(value)
    if secret is not None and len(secret) < 16:  # noqa: PLR2004 - short enough to guess
        raise ValueError("must be at least 16 characters")
    return value if secret is not None else None


def webhook_secret(value: SecretStr | None) -> SecretStr | None:
    secret = _given(value)
    if secret is not None and not secret.startswith("whsec_"):
        raise ValueError("must be a webhook signing secret (whsec_...)")
    return value if secret is not None else None


def telegram_secret(value: SecretStr | None) -> SecretStr | None:
    # Telegram allows 1-256 characters A-Z, a-z, 0-9, _ and -.
    secret = _given(value)
    if secret is not None and (
        len(secret) > 256 or not all(c.isalnum() or c in "_-" for c in secret)  # noqa: PLR2004
    ):
        raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    return value if secret is not None else None


def alert_secret(value: SecretStr | None) -> SecretStr | None:
    # A path segment of the alert URL (TradingView cannot send headers): long enough not
    # to be guessed, and only characters a URL carries as they are.
    secret = _given(value)
    if secret is not None and (
        not 16 <= len(secret) <= 128 or not re.fullmatch(r"[A-Za-z0-9_-]+", secret)  # noqa: PLR2004
    ):
        raise ValueError("must be 16-128 characters of A-Z, a-z, 0-9, _ and -")
    return value if secret is not None else None


# The types the Settings class declares its fields with.
UserIds = Annotated[list[int], NoDecode, BeforeValidator(user_ids)]
ChatIds = Annotated[list[int], NoDecode, BeforeValidator(chat_ids)]
ChatId = Annotated[int | None, NoDecode, BeforeValidator(chat_id)]
SignalChatMode = Annotated[Literal["signals", "results"], BeforeValidator(signal_chat_mode)]
Days = Annotated[list[int], NoDecode, BeforeValidator(days)]
Rails = Annotated[list[str], NoDecode, BeforeValidator(rails)]
PriceIds = Annotated[list[str], NoDecode, BeforeValidator(split_csv), AfterValidator(price_ids)]
OneLine = Annotated[str | None, AfterValidator(one_line)]
PromoCode = Annotated[str | None, AfterValidator(promo_code)]
Url = Annotated[str | None, AfterValidator(url)]
PublicUrl = Annotated[str | None, AfterValidator(url), AfterValidator(public_https)]
TelegramApiBase = Annotated[str, BeforeValidator(telegram_default), AfterValidator(url)]
Language = Annotated[str, AfterValidator(language)]
BrandName = Annotated[str, AfterValidator(brand_name)]
DisclaimerText = Annotated[str | None, AfterValidator(disclaimer_text)]
TermsUrl = Annotated[str | None, AfterValidator(terms_url)]
LogLevel = Annotated[str, AfterValidator(log_level)]
SignalStyle = Annotated[Literal["cornix", "classic"], BeforeValidator(signal_style)]
PriceSource = Annotated[str | None, BeforeValidator(price_source)]
Outcomes = Annotated[Literal["auto", "confirm", "manual"], BeforeValidator(outcomes)]
DatabaseUrl = Annotated[str, AfterValidator(urls.normalise)]
BotToken = Annotated[SecretStr, AfterValidator(bot_token)]
StripeKey = Annotated[SecretStr | None, AfterValidator(stripe_key)]
MetricsToken = Annotated[SecretStr | None, AfterValidator(metrics_token)]
WebhookSecret = Annotated[SecretStr | None, AfterValidator(webhook_secret)]
TelegramSecret = Annotated[SecretStr | None, AfterValidator(telegram_secret)]
AlertSecret = Annotated[SecretStr | None, AfterValidator(alert_secret)]
DeliveryRate = Annotated[Literal["auto"] | float, BeforeValidator(delivery_rate)]
PaidBroadcast = Annotated[Literal["off", "signals", "all"], BeforeValidator(paid_broadcast)]
