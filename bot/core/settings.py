"""Application settings read from the environment and `.env` (names fixed by DESIGN.md).

Each field's shape and check is a type in bot/core/setting_types.py; rules across several
settings are the model validators here."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.setting_types import (
    MAX_REMINDER_DAYS,
    RAILS,
    AlertSecret,
    BotToken,
    BrandName,
    ChatId,
    ChatIds,
    DatabaseUrl,
    Days,
    DeliveryRate,
    DisclaimerText,
    Language,
    LogLevel,
    MetricsToken,
    OneLine,
    Outcomes,
    PaidBroadcast,
    PriceIds,
    PriceSource,
    PromoCode,
    PublicUrl,
    Rails,
    SignalChatMode,
    SignalStyle,
    StripeKey,
    TelegramApiBase,
    TelegramSecret,
    TermsUrl,
    Url,
    UserIds,
    WebhookSecret,
)
from db import DEFAULT_DATABASE_URL


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

    bot_token: BotToken
    telegram_api_base: TelegramApiBase = "https://api.telegram.org"
    # postgres://...?sslmode=require as platforms give it, made postgresql+asyncpg://
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL
    # PostgreSQL's connection pool per process (db.engine.PoolOptions says why these).
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_max_overflow: int = Field(default=5, ge=0, le=100)
    database_pool_timeout: float = Field(default=30.0, gt=0, le=600)
    web_host: str = "0.0.0.0"  # noqa: S104 - the embedded server must be reachable by a proxy
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: PublicUrl = None
    telegram_webhook_secret: TelegramSecret = None
    # GET /metrics wants `Authorization: Bearer <this>` when set (unset: open, as exporters
    # usually are; keep it off the public internet then).
    metrics_token: MetricsToken = None
    admin_ids: UserIds = Field(default_factory=list)
    # Roles below the owners (ADMIN_IDS), bot/accounts/roles.py: post signals; look people
    # up and grant a few days; read statistics and export. An id in two lists has both.
    poster_ids: UserIds = Field(default_factory=list)
    support_ids: UserIds = Field(default_factory=list)
    analyst_ids: UserIds = Field(default_factory=list)
    stripe_api_key: StripeKey = None
    stripe_webhook_secret: WebhookSecret = None
    stripe_api_base: Url = None
    stripe_price_ids: PriceIds = Field(default_factory=list)
    trial_days: int = Field(default=0, ge=0, le=730)
    # Telegram Stars (bot/stars): the price of 30 days; unset means no Stars rail.
    stars_price: int | None = Field(default=None, ge=1, le=10_000)
    payment_rails: Rails = Field(default_factory=list)
    initdata_max_age_seconds: int = Field(default=86400, gt=0)
    # Messages a second across all chats: `auto` learns Telegram's limit (bot/delivery/
    # adaptive.py), a number fixes it.
    delivery_rate: DeliveryRate = "auto"
    # Which bulk messages go out on Telegram's paid lane (allow_paid_broadcast, up to 1,000
    # a second, 0.1 Star each): `off`, `signals` (signals and their updates) or `all`.
    paid_broadcast: PaidBroadcast = "off"
    # Stars a UTC day the paid lane may spend (unset: no budget but the bot's balance).
    paid_broadcast_daily_stars: int | None = Field(default=None, ge=1, le=10_000_000)
    # How long a sender's claim on outbox rows lasts: after a crash they go out again this
    # long after they were claimed (shorter: faster recovery; each send must fit in it).
    delivery_lease_seconds: int = Field(default=60, ge=10, le=3600)
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object a line
    # The provider's name wherever a person sees it (texts' {brand}, the Mini App's title,
    # the public track record).
    brand_name: BrandName = "SignalDesk"
    # How signals and their updates read: `cornix`, the published rules auto-trading bots
    # (Cornix and its likes) read a forwarded chat by; `classic`, the look from before.
    signal_style: SignalStyle = "cornix"
    # Subscription lifecycle (bot/lifecycle): days before a non-renewing end to remind.
    reminder_days: Days = Field(default_factory=lambda: [3, 1])
    # Days before an auto-renewing subscription renews to say so (empty: no such notice).
    renewal_notice_days: Days = Field(default_factory=list)
    grace_days: int = Field(default=3, ge=0, le=60)
    support_contact: OneLine = Field(default=None, max_length=200)
    # Premium chats (bot/premium): channels or supergroups whose members must have access,
    # and users never removed from them.
    premium_chat_ids: ChatIds = Field(default_factory=list)
    premium_chat_allowlist: UserIds = Field(default_factory=list)
    # The signal channel (bot/signals/channel.py): a channel or supergroup that gets each
    # signal (`signals`, after the delay) or each closed result (`results`).
    signal_chat_id: ChatId = None
    signal_chat_delay_minutes: int = Field(default=0, ge=0, le=1440)
    signal_chat_mode: SignalChatMode = "signals"
    # A job about to remove (premium chats) or tell of an expiry more than this share of
    # the members or subscribers at once holds and asks the admins (bot/lifecycle/brake.py):
    # a wall clock jump looks like everyone's access ending. 1: never held.
    mass_action_share: float = Field(default=0.2, gt=0, le=1, allow_inf_nan=False)
    # Days of access a referrer gets when someone they brought first pays (unset: none).
    referral_bonus_days: int | None = Field(default=None, ge=1, le=MAX_REMINDER_DAYS)
    # One offer that many days after access ended (unset: off), with a promotion code.
    winback_days: int | None = Field(default=None, ge=1, le=MAX_REMINDER_DAYS)
    winback_promo_code: PromoCode = None
    # For users whose Telegram language is not offered (and who chose none with /language).
    default_language: Language = "en"
    # TradingView's alerts (webapp/tradingview.py): the secret in the alert URL, unset: the
    # route is off; publish an alert's signal at once instead of previewing it to admins.
    tradingview_secret: AlertSecret = None
    alerts_autopublish: bool = False
    # Outcomes from market prices (bot/outcomes): an exchange read through ccxt (binance,
    # bybit, okx ...; unset: off); what its candles do: `auto` records each take-profit
    # and stop as /update does, `confirm` asks the admins first, `manual` leaves it to
    # /update; seconds between checks; the exchange's API at another address (a fake).
    price_source: PriceSource = None
    outcomes: Outcomes = "confirm"
    price_check_seconds: int = Field(default=10, ge=5, le=300)
    price_api_base: Url = None
    # Consents (docs/consents.md): the risk disclaimer a user accepts before a first
    # payment (unset: the catalogue's, in each language); Checkout's terms checkbox linking
    # this page; Stripe Tax on Checkout (with the address and tax ids it needs).
    disclaimer_text: DisclaimerText = None
    terms_url: TermsUrl = None
    stripe_automatic_tax: bool = False
    # The verifiable record (bot/signals/record_reveal.py): a signal's levels and its
    # updates are revealed this many hours after it was published if it has not closed by
    # then (unset: at its close only).
    record_reveal_hours: int | None = Field(default=None, ge=1, le=8760)

    @model_validator(mode="after")
    def _rails_configured(self) -> Settings:
        if "stars" in self.payment_rails and self.stars_price is None:
            raise ValueError("PAYMENT_RAILS names stars but STARS_PRICE is not set")
        if "stripe" in self.payment_rails and not self.stripe_enabled:
            raise ValueError(
                "PAYMENT_RAILS names stripe but STRIPE_API_KEY or STRIPE_PRICE_IDS is not set"
            )
        return self

    @model_validator(mode="after")
    def _winback_code_needs_an_offer(self) -> Settings:
        if self.winback_promo_code is not None and self.winback_days is None:
            raise ValueError("WINBACK_PROMO_CODE is set but WINBACK_DAYS is not (no offer)")
        if self.winback_promo_code is not None and self.stripe_api_key is None:
            raise ValueError("WINBACK_PROMO_CODE needs STRIPE_API_KEY (a Stripe promotion code)")
        return self

    @model_validator(mode="after")
    def _price_api_needs_a_source(self) -> Settings:
        if self.price_api_base is not None and self.price_source is None:
            raise ValueError("PRICE_API_BASE is set but PRICE_SOURCE is not (no exchange)")
        return self

    @model_validator(mode="after")
    def _checkout_options_need_stripe(self) -> Settings:
        options = {"TERMS_URL": self.terms_url is not None,
                   "STRIPE_AUTOMATIC_TAX": self.stripe_automatic_tax}  # fmt: skip
        for name, given in options.items():
            if given and self.stripe_api_key is None:
                raise ValueError(f"{name} is set but STRIPE_API_KEY is not (no Checkout)")
        return self

    @property
    def watches_prices(self) -> bool:
        """Whether the price watcher runs: an exchange named, and outcomes not manual."""
        return self.price_source is not None and self.outcomes != "manual"

    @model_validator(mode="after")
    def _budget_needs_the_paid_lane(self) -> Settings:
        if self.paid_broadcast_daily_stars is not None and self.paid_broadcast == "off":
            raise ValueError(
                "PAID_BROADCAST_DAILY_STARS is set but PAID_BROADCAST is off (nothing spends it)"
            )
        return self

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
        for secret in (
            self.stripe_api_key,
            self.stripe_webhook_secret,
            self.metrics_token,
            self.tradingview_secret,
        ):
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
