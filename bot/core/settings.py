"""Application settings read from the environment and `.env` (names fixed by DESIGN.md)."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core import languages
from bot.core.ids import parse_user_id
from db import DEFAULT_DATABASE_URL, urls

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


def _split_csv(value: object) -> object:
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


MAX_BRAND = 64
SIGNAL_STYLES = ("cornix", "classic")


class Settings(BaseSettings):
    """Every knob of the process; nothing else reads the environment."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # `PORT=` copied from .env.example means "the default", not an invalid empty value.
        env_ignore_empty=True,
    )

    bot_token: SecretStr
    telegram_api_base: str = "https://api.telegram.org"
    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL's connection pool per process (db.engine.PoolOptions says why these).
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_max_overflow: int = Field(default=5, ge=0, le=100)
    database_pool_timeout: float = Field(default=30.0, gt=0, le=600)
    web_host: str = "0.0.0.0"  # noqa: S104 - the embedded server must be reachable by a proxy
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    # GET /metrics wants `Authorization: Bearer <this>` when set (unset: open, as exporters
    # usually are; keep it off the public internet then).
    metrics_token: SecretStr | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None
    stripe_price_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    trial_days: int = Field(default=0, ge=0, le=730)
    # Telegram Stars (bot/stars): the price of 30 days; unset means no Stars rail.
    stars_price: int | None = Field(default=None, ge=1, le=10_000)
    payment_rails: Annotated[list[str], NoDecode] = Field(default_factory=list)
    initdata_max_age_seconds: int = Field(default=86400, gt=0)
    # Messages a second across all chats: `auto` learns Telegram's limit (bot/delivery/
    # adaptive.py), a number fixes it.
    delivery_rate: Literal["auto"] | float = "auto"
    paid_broadcast: bool = False
    # How long a sender's claim on outbox rows lasts: after a crash they go out again this
    # long after they were claimed (shorter: faster recovery; each send must fit in it).
    delivery_lease_seconds: int = Field(default=60, ge=10, le=3600)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object a line
    # The provider's name wherever a person sees it (texts' {brand}, the Mini App's title,
    # the public track record).
    brand_name: str = "SignalDesk"
    # How signals and their updates read: `cornix`, the published rules auto-trading bots
    # (Cornix and its likes) read a forwarded chat by; `classic`, the look from before.
    signal_style: Literal["cornix", "classic"] = "cornix"
    # Subscription lifecycle (bot/lifecycle): days before a non-renewing end to remind.
    reminder_days: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [3, 1])
    # Days before an auto-renewing subscription renews to say so (empty: no such notice).
    renewal_notice_days: Annotated[list[int], NoDecode] = Field(default_factory=list)
    grace_days: int = Field(default=3, ge=0, le=60)
    support_contact: str | None = Field(default=None, max_length=200)
    # Premium chats (bot/premium): channels or supergroups whose members must have access,
    # and users never removed from them.
    premium_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    premium_chat_allowlist: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # A job about to remove (premium chats) or tell of an expiry more than this share of
    # the members or subscribers at once holds and asks the admins (bot/lifecycle/brake.py):
    # a wall clock jump looks like everyone's access ending. 1: never held.
    mass_action_share: float = Field(default=0.2, gt=0, le=1, allow_inf_nan=False)
    # Days of access a referrer gets when someone they brought first pays (unset: none).
    referral_bonus_days: int | None = Field(default=None, ge=1, le=MAX_REMINDER_DAYS)
    # One offer that many days after access ended (unset: off), with a promotion code.
    winback_days: int | None = Field(default=None, ge=1, le=MAX_REMINDER_DAYS)
    winback_promo_code: str | None = None
    # For users whose Telegram language is not offered (and who chose none with /language).
    default_language: str = "en"

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        # "<bot id>:<secret>" is what BotFather issues; catching a typo here beats a 401 later.
        if not value.get_secret_value():
            raise ValueError("is required but not set")
        if not _TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("must look like 123456:ABC... as issued by @BotFather")
        return value

    @field_validator("admin_ids", "premium_chat_allowlist", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        items = _split_csv(value)
        if not isinstance(items, list):
            raise ValueError("must be comma-separated Telegram user ids")
        ids = []
        for item in items:
            user_id = parse_user_id(item)
            if user_id is None:
                raise ValueError(f"{str(item)[:32]!r} is not a Telegram user id")
            ids.append(user_id)
        return ids

    @field_validator("premium_chat_ids", mode="before")
    @classmethod
    def _chat_ids(cls, value: object) -> object:
        items = _split_csv(value)
        if not isinstance(items, list):
            raise ValueError("must be comma-separated chat ids, for example -1001234567890")
        ids = []
        for item in items:
            text = str(item).strip()
            if not _CHAT_ID.fullmatch(text) or int(text) == -(10**12):
                raise ValueError(
                    f"{text[:24]!r} is not a channel or supergroup id "
                    "(-100 and at least 10 more digits)"
                )
            ids.append(int(text))
        return list(dict.fromkeys(ids))

    @field_validator("reminder_days", "renewal_notice_days", mode="before")
    @classmethod
    def _reminder_days(cls, value: object) -> object:
        items = _split_csv(value)
        if items == ["off"]:
            return []
        if not isinstance(items, list):
            raise ValueError("must be comma-separated whole days, for example 3,1")
        days = []
        for item in items:
            text = str(item)
            if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_REMINDER_DAYS:
                raise ValueError(f"{text[:16]!r} is not a whole number of days from 1 to 365")
            days.append(int(text))
        return sorted(set(days), reverse=True)

    @field_validator("payment_rails", mode="before")
    @classmethod
    def _rails(cls, value: object) -> object:
        items = _split_csv(value)
        if not isinstance(items, list):
            raise ValueError("must be stripe, stars or stripe,stars")
        rails = [str(item).strip().lower() for item in items]
        for rail in rails:
            if rail not in RAILS:
                raise ValueError(f"{rail[:16]!r} is not a payment rail: stripe, stars")
        return sorted(set(rails), key=RAILS.index)

    @model_validator(mode="after")
    def _rails_configured(self) -> Settings:
        if "stars" in self.payment_rails and self.stars_price is None:
            raise ValueError("PAYMENT_RAILS names stars but STARS_PRICE is not set")
        if "stripe" in self.payment_rails and not self.stripe_enabled:
            raise ValueError(
                "PAYMENT_RAILS names stripe but STRIPE_API_KEY or STRIPE_PRICE_IDS is not set"
            )
        return self

    @field_validator("support_contact")
    @classmethod
    def _support_contact(cls, value: str | None) -> str | None:
        # Shown in chat as one line; a control character garbles it or hides what follows,
        # a line or paragraph separator breaks it, a bidi or format control (U+202E) shows
        # it reversed or hides part of it.
        unsafe = ("Cc", "Cf", "Cs", "Zl", "Zp")
        if value is not None and any(unicodedata.category(c) in unsafe for c in value):
            raise ValueError(
                "must be one line of text without control, invisible or line break characters"
            )
        return value

    @field_validator("winback_promo_code")
    @classmethod
    def _promo_code(cls, value: str | None) -> str | None:
        if value is not None and not _PROMO_CODE.fullmatch(value):
            raise ValueError("must be a Stripe promotion code: 1-64 letters, digits, - or _")
        return value

    @model_validator(mode="after")
    def _winback_code_needs_an_offer(self) -> Settings:
        if self.winback_promo_code is not None and self.winback_days is None:
            raise ValueError("WINBACK_PROMO_CODE is set but WINBACK_DAYS is not (no offer)")
        if self.winback_promo_code is not None and self.stripe_api_key is None:
            raise ValueError("WINBACK_PROMO_CODE needs STRIPE_API_KEY (a Stripe promotion code)")
        return self

    @field_validator("stripe_price_ids", mode="before")
    @classmethod
    def _price_ids(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("stripe_price_ids")
    @classmethod
    def _price_id_shape(cls, value: list[str]) -> list[str]:
        for price_id in value:
            if not price_id.startswith("price_"):
                raise ValueError(f"{price_id!r} is not a Stripe Price id (price_...)")
        return value

    @field_validator("telegram_api_base", mode="before")
    @classmethod
    def _telegram_default(cls, value: object) -> object:
        # An empty line copied from .env.example means "the default", not "nothing".
        return "https://api.telegram.org" if value in ("", None) else value

    @field_validator("telegram_api_base", "stripe_api_base", "public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _public_https(cls, value: str | None) -> str | None:
        # Telegram only opens Mini Apps and delivers webhooks over https.
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be an https:// URL (Telegram requires https)")
        return value

    @field_validator("delivery_rate", mode="before")
    @classmethod
    def _delivery_rate(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        try:
            rate = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError("must be auto or a number of messages a second") from None
        if not 0 < rate <= 1000:  # noqa: PLR2004 - Telegram's paid broadcast rate
            raise ValueError("must be auto or a number above 0 and at most 1000")
        return rate

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        language = languages.normalized(value)
        if (
            language is None
            or languages.bcp47(language).lower() != value.replace("_", "-").lower()
        ):
            offered = ", ".join(languages.bcp47(code) for code in languages.LANGUAGES)
            raise ValueError(f"must be one of {offered}")
        return language

    @field_validator("signal_style", mode="before")
    @classmethod
    def _signal_style(cls, value: object) -> object:
        style = str(value).strip().lower()
        if style not in SIGNAL_STYLES:
            raise ValueError(f"must be one of {', '.join(SIGNAL_STYLES)}")
        return style

    @field_validator("brand_name")
    @classmethod
    def _brand_name(cls, value: str) -> str:
        name = " ".join(value.split())
        if not name or len(name) > MAX_BRAND:
            raise ValueError(f"must be 1 to {MAX_BRAND} characters")
        if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name):
            raise ValueError("must not contain control or invisible characters")
        return name

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # postgres://...?sslmode=require as platforms give it, made postgresql+asyncpg://
        return urls.normalise(value)

    @field_validator("stripe_api_key")
    @classmethod
    def _stripe_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith(("sk_", "rk_")):
            raise ValueError("must be a Stripe secret or restricted key (sk_... or rk_...)")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 16:  # noqa: PLR2004 - short enough to guess
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("stripe_webhook_secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith("whsec_"):
            raise ValueError("must be a webhook signing secret (whsec_...)")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _tg_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram allows 1-256 characters A-Z, a-z, 0-9, _ and -.
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        if len(secret) > 256 or not all(c.isalnum() or c in "_-" for c in secret):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def stripe_enabled(self) -> bool:
        """Checkout and the portal need a key and at least one plan."""
        return self.stripe_api_key is not None and bool(self.stripe_price_ids)

    @property
    def rails(self) -> tuple[str, ...]:
        """The payment rails offered: PAYMENT_RAILS, or each one that is configured."""
        if self.payment_rails:
            return tuple(self.payment_rails)
        configured = {"stripe": self.stripe_enabled, "stars": self.stars_price is not None}
        return tuple(rail for rail in RAILS if configured[rail])

    @property
    def stars_enabled(self) -> bool:
        return "stars" in self.rails

    def is_admin(self, user_id: int | None) -> bool:
        """ADMIN_IDS decides who may post and administer, in chat and in the Mini App."""
        return user_id is not None and user_id in self.admin_ids

    @property
    def bot_id(self) -> int:
        return int(self.bot_token.get_secret_value().split(":", 1)[0])

    @property
    def webhook_secret_token(self) -> str:
        """The secret Telegram sends with every webhook call: TELEGRAM_WEBHOOK_SECRET, or
        one derived from BOT_TOKEN when it is unset.

        Derived rather than random, so every instance behind a load balancer agrees on it
        and a restart does not need a new setWebhook; nobody without the token can work
        it out. Webhook mode never runs without one.
        """
        if self.telegram_webhook_secret is not None:
            return self.telegram_webhook_secret.get_secret_value()
        key = self.bot_token.get_secret_value().encode()
        return hmac.new(key, b"signaldesk-telegram-webhook", hashlib.sha256).hexdigest()

    def secret_values(self) -> list[str]:
        """Every secret this process holds, for the log redaction (bot.core.logs)."""
        token = self.bot_token.get_secret_value()
        values = [token, token.partition(":")[2], self.webhook_secret_token]
        for secret in (self.stripe_api_key, self.stripe_webhook_secret, self.metrics_token):
            if secret is not None:
                values.append(secret.get_secret_value())
        password = urlsplit(self.database_url).password
        if password:
            values.append(password)
        return values


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


def describe_validation_error(error: ValidationError) -> str:
    """Turn pydantic's report into one line naming the variable (never its value)."""
    first = error.errors()[0]
    message = first["msg"]
    if not first["loc"]:  # a rule across settings: its message names them
        return message.removeprefix("Value error, ")
    name = str(first["loc"][0]).upper()
    if first["type"] == "missing":
        message = "is required but not set"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    else:
        message = message[0].lower() + message[1:]
    more = f" (and {len(error.errors()) - 1} more)" if len(error.errors()) > 1 else ""
    return f"{name}: {message}{more}"


def load_settings(**overrides: object) -> Settings:
    """Read settings, raising SettingsError with a one-line, secret-free message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None
