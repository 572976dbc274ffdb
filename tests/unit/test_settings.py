"""The settings contract of DESIGN.md: defaults, parsing, one-line errors, secret hygiene."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.core.settings import Settings, SettingsError, load_settings
from bot.core.startup import config_warnings

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:AAH-settings-test-token-0123456789abcdef"
SETTING_NAMES = [name.upper() for name in Settings.model_fields]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the real environment, and no stray .env is picked up."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def load(**env: str) -> Settings:
    """Load settings from exactly these environment variables (no .env file)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        return load_settings(_env_file=None)


def test_defaults_need_only_the_bot_token() -> None:
    settings = load(BOT_TOKEN=TOKEN)

    assert settings.bot_token.get_secret_value() == TOKEN
    assert settings.telegram_api_base == "https://api.telegram.org"
    assert settings.database_url == "sqlite+aiosqlite:///./data/signaldesk.db"
    assert (settings.web_host, settings.port) == ("0.0.0.0", 8080)
    assert settings.public_url is None
    assert settings.telegram_webhook_secret is None
    assert settings.admin_ids == []
    assert settings.stripe_api_key is None
    assert settings.stripe_webhook_secret is None
    assert settings.stripe_api_base is None
    assert settings.stripe_price_ids == []
    assert settings.trial_days == 0
    assert settings.initdata_max_age_seconds == 86400
    assert settings.delivery_rate == "auto"
    assert load(BOT_TOKEN=TOKEN, DELIVERY_RATE=" AUTO ").delivery_rate == "auto"
    assert settings.paid_broadcast == "off"
    assert settings.paid_broadcast_daily_stars is None
    assert settings.log_level == "INFO"
    assert settings.stripe_enabled is False


def test_values_are_read_and_parsed_from_the_environment() -> None:
    settings = load(
        BOT_TOKEN=TOKEN,
        ADMIN_IDS="1, 22 ,333",
        STRIPE_PRICE_IDS="price_monthly,  price_yearly",
        PORT="9000",
        PAID_BROADCAST="true",
        DELIVERY_RATE="12.5",
        TRIAL_DAYS="7",
        LOG_LEVEL="debug",
        PUBLIC_URL="https://bot.example.com/",
        DATABASE_URL="postgresql+asyncpg://user:pass@db/signaldesk",
    )

    assert settings.admin_ids == [1, 22, 333]
    assert settings.stripe_price_ids == ["price_monthly", "price_yearly"]
    assert settings.port == 9000
    assert settings.paid_broadcast == "all"  # true, as before: every broadcast
    assert settings.delivery_rate == 12.5
    assert settings.trial_days == 7
    assert settings.log_level == "DEBUG"
    # The webhook URL is built by appending a path, so a trailing slash must not double up.
    assert settings.public_url == "https://bot.example.com"
    assert settings.database_url == "postgresql+asyncpg://user:pass@db/signaldesk"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOT_TOKEN", None),
        ("BOT_TOKEN", ""),
        ("BOT_TOKEN", "not-a-token"),
        ("BOT_TOKEN", "abc:def"),
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("DATABASE_URL", "mysql://x"),
        ("ADMIN_IDS", "1,abc"),
        ("STRIPE_PRICE_IDS", "prod_1"),
        ("STRIPE_API_KEY", "pk_live_x"),
        ("STRIPE_WEBHOOK_SECRET", "abc"),
        ("PUBLIC_URL", "http://example.com"),
        ("TELEGRAM_WEBHOOK_SECRET", "has a space"),
        ("LOG_LEVEL", "LOUD"),
        ("DELIVERY_RATE", "0"),
        ("DELIVERY_RATE", "fast"),
        ("DELIVERY_RATE", "nan"),
        ("DELIVERY_LEASE_SECONDS", "5"),
        ("DELIVERY_LEASE_SECONDS", "a minute"),
        ("DELIVERY_RATE", "1e9"),
        ("DELIVERY_RATE", "автоматически"),
        ("DEFAULT_LANGUAGE", "klingon"),
        ("METRICS_TOKEN", "short"),
        ("LOG_FORMAT", "xml"),
        ("SIGNAL_STYLE", "cornx"),
        ("TRIAL_DAYS", "-1"),
        ("RECORD_REVEAL_HOURS", "0"),
        ("RECORD_REVEAL_HOURS", "8761"),
        ("RECORD_REVEAL_HOURS", "a day"),
        ("RECORD_REVEAL_HOURS", "1.5"),
        # An empty item is a typo, not nothing (issue 24).
        ("REMINDER_DAYS", "3,,1"),
        ("REMINDER_DAYS", "3,"),
        ("PAYMENT_RAILS", ","),
        ("PAYMENT_RAILS", ", "),
        ("ADMIN_IDS", "1,,2"),
        ("STRIPE_PRICE_IDS", "price_a,,price_b"),
        # Supergroups and channels are -100 followed by their own digits: -(10**12 + id),
        # so at least ten of them.
        ("PREMIUM_CHAT_IDS", "-100"),
        ("PREMIUM_CHAT_IDS", "-200"),
        ("PREMIUM_CHAT_IDS", "-1001234567890,-200"),
        ("PREMIUM_CHAT_IDS", "-1001"),
        ("PREMIUM_CHAT_IDS", "-100123456789"),
        ("PREMIUM_CHAT_IDS", "-1000000000000"),
        ("SUPPORT_CONTACT", "@help\x1b[2J"),
        ("SUPPORT_CONTACT", "write to\nsupport@example.com"),
        ("SUPPORT_CONTACT", "@help\x85"),
        # Line and paragraph separators, a bidi override, an invisible space.
        ("SUPPORT_CONTACT", "@help\u2028@evil"),
        ("SUPPORT_CONTACT", "@help\u2029x"),
        ("SUPPORT_CONTACT", "@help\u202e@evil"),
        ("SUPPORT_CONTACT", "@he\u200blp"),
    ],
)
def test_bad_value_names_the_variable_in_one_line(name: str, value: str | None) -> None:
    env = {"BOT_TOKEN": TOKEN}
    if value is None:
        del env[name]
    else:
        env[name] = value

    with pytest.raises(SettingsError) as caught:
        load(**env)

    message = str(caught.value)
    assert message.startswith(f"{name}: ")
    assert len(message) > len(name) + 2
    assert "\n" not in message


def test_record_reveal_hours_is_off_by_default_and_read_within_its_range() -> None:
    assert load(BOT_TOKEN=TOKEN).record_reveal_hours is None
    assert load(BOT_TOKEN=TOKEN, RECORD_REVEAL_HOURS="1").record_reveal_hours == 1
    assert load(BOT_TOKEN=TOKEN, RECORD_REVEAL_HOURS="8760").record_reveal_hours == 8760


def test_real_chat_ids_and_a_support_contact_in_any_script_are_accepted() -> None:
    settings = load(
        BOT_TOKEN=TOKEN,
        PREMIUM_CHAT_IDS="-1001234567890,-1000000000001,-1002147483647",
        SUPPORT_CONTACT="Soporte: @ayuda_señal — почта help@example.com",
    )
    assert settings.premium_chat_ids == [-1001234567890, -1000000000001, -1002147483647]
    assert settings.support_contact == "Soporte: @ayuda_señal — почта help@example.com"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("BOT_TOKEN", "leakybottokenwithoutcolon"),
        ("STRIPE_API_KEY", "pk_live_leakypublishablekey"),
        ("STRIPE_WEBHOOK_SECRET", "leakynotawhsecvalue"),
        ("TELEGRAM_WEBHOOK_SECRET", "leaky with spaces"),
    ],
)
def test_error_message_never_contains_the_secret(name: str, secret: str) -> None:
    env = {"BOT_TOKEN": TOKEN, name: secret}

    with pytest.raises(SettingsError) as caught:
        load(**env)

    assert str(caught.value).startswith(f"{name}: ")
    assert secret not in str(caught.value)
    assert "leaky" not in str(caught.value)


def test_secrets_are_hidden_in_repr_and_str() -> None:
    secrets = {
        "BOT_TOKEN": TOKEN,
        "STRIPE_API_KEY": "sk_test_HIDDENstripekey123",
        "STRIPE_WEBHOOK_SECRET": "whsec_HIDDENsigningsecret",
        "TELEGRAM_WEBHOOK_SECRET": "HIDDEN-telegram_secret",
    }
    settings = load(**secrets)

    for rendered in (repr(settings), str(settings)):
        for value in secrets.values():
            assert value not in rendered
        assert "HIDDEN" not in rendered
    assert settings.stripe_api_key is not None
    assert settings.stripe_api_key.get_secret_value() == secrets["STRIPE_API_KEY"]
    assert settings.telegram_webhook_secret is not None
    assert settings.telegram_webhook_secret.get_secret_value() == "HIDDEN-telegram_secret"


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({"STRIPE_API_KEY": "sk_test_x", "STRIPE_PRICE_IDS": "price_a"}, True),
        ({"STRIPE_API_KEY": "rk_live_x", "STRIPE_PRICE_IDS": "price_a,price_b"}, True),
        ({"STRIPE_API_KEY": "sk_test_x"}, False),
        ({"STRIPE_PRICE_IDS": "price_a"}, False),
        ({"STRIPE_API_KEY": "", "STRIPE_PRICE_IDS": "price_a"}, False),
    ],
)
def test_stripe_enabled_needs_a_key_and_a_plan(env: dict[str, str], enabled: bool) -> None:
    assert load(BOT_TOKEN=TOKEN, **env).stripe_enabled is enabled


def test_empty_optional_settings_mean_unset() -> None:
    settings = load(
        BOT_TOKEN=TOKEN,
        PUBLIC_URL="",
        TELEGRAM_WEBHOOK_SECRET="",
        ADMIN_IDS="",
        STRIPE_API_KEY="",
        STRIPE_WEBHOOK_SECRET="",
        STRIPE_API_BASE="",
        STRIPE_PRICE_IDS="",
    )

    assert settings.public_url is None
    assert settings.telegram_webhook_secret is None
    assert settings.admin_ids == []
    assert settings.stripe_api_key is None
    assert settings.stripe_webhook_secret is None
    assert settings.stripe_api_base is None
    assert settings.stripe_price_ids == []


def test_empty_telegram_api_base_means_the_default() -> None:
    assert load(BOT_TOKEN=TOKEN, TELEGRAM_API_BASE="").telegram_api_base == (
        "https://api.telegram.org"
    )


def test_env_example_copied_to_dotenv_loads_with_only_the_token_filled_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = (REPO_ROOT / ".env.example").read_text()
    assert "\nBOT_TOKEN=\n" in template
    (tmp_path / ".env").write_text(template.replace("\nBOT_TOKEN=\n", f"\nBOT_TOKEN={TOKEN}\n"))
    monkeypatch.setenv("PORT", "9123")  # the real environment overrides .env

    settings = load_settings()  # default env_file=".env", relative to the cwd (tmp_path)

    assert settings.bot_token.get_secret_value() == TOKEN
    assert settings.port == 9123
    assert settings.public_url is None
    assert settings.telegram_webhook_secret is None
    assert settings.admin_ids == []
    assert settings.stripe_api_base is None
    assert settings.stripe_enabled is False
    assert settings.telegram_api_base == "https://api.telegram.org"
    assert settings.database_url == "sqlite+aiosqlite:///./data/signaldesk.db"


def test_env_example_as_is_reports_the_missing_token(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / ".env.example", tmp_path / ".env")

    with pytest.raises(SettingsError, match=r"^BOT_TOKEN: "):
        load_settings()


@pytest.mark.parametrize(
    ("env", "warned"),
    [
        ({"STRIPE_API_KEY": "sk_test_x", "STRIPE_PRICE_IDS": "price_a"}, True),
        ({"STARS_PRICE": "250"}, True),
        ({"STARS_PRICE": "250", "SUPPORT_CONTACT": "@desk_help"}, False),
        ({}, False),  # no payments: nothing to support (its own warning says so)
    ],
)
def test_payments_without_a_support_contact_are_a_start_up_warning(
    env: dict[str, str], warned: bool
) -> None:
    warnings = config_warnings(load(BOT_TOKEN=TOKEN, **env))
    assert any(w.startswith("SUPPORT_CONTACT is not set") for w in warnings) is warned
    assert all("\n" not in w for w in warnings)


def test_outcomes_from_prices_are_off_until_an_exchange_is_named() -> None:
    settings = load(BOT_TOKEN=TOKEN)
    assert (settings.price_source, settings.outcomes) == (None, "confirm")
    assert not settings.watches_prices
    settings = load(BOT_TOKEN=TOKEN, PRICE_SOURCE=" Binance ", OUTCOMES="AUTO")
    assert (settings.price_source, settings.outcomes) == ("binance", "auto")
    assert settings.watches_prices and settings.price_check_seconds == 10
    assert not load(BOT_TOKEN=TOKEN, PRICE_SOURCE="okx", OUTCOMES="manual").watches_prices


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PRICE_SOURCE": "binance.com"}, "PRICE_SOURCE: must be an exchange's name"),
        ({"OUTCOMES": "sometimes"}, "OUTCOMES: must be auto, confirm or manual"),
        ({"PRICE_CHECK_SECONDS": "1"}, "PRICE_CHECK_SECONDS: input should be greater"),
        ({"PRICE_API_BASE": "http://127.0.0.1:1"}, "PRICE_API_BASE is set but PRICE_SOURCE"),
    ],
)
def test_outcome_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load(BOT_TOKEN=TOKEN, **env)
    assert str(error.value).startswith(message)


def test_outcome_settings_that_would_do_nothing_are_warned_about() -> None:
    manual = config_warnings(load(BOT_TOKEN=TOKEN, PRICE_SOURCE="bybit", OUTCOMES="manual"))
    assert any("PRICE_SOURCE has no effect with OUTCOMES=manual" in w for w in manual)
    nobody = config_warnings(load(BOT_TOKEN=TOKEN, PRICE_SOURCE="bybit"))
    assert any("OUTCOMES=confirm with no ADMIN_IDS" in w for w in nobody)
    asked = config_warnings(load(BOT_TOKEN=TOKEN, PRICE_SOURCE="bybit", ADMIN_IDS="1"))
    assert not any("OUTCOMES" in w for w in asked)
