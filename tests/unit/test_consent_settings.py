"""The consents' settings (DISCLAIMER_TEXT, TERMS_URL, STRIPE_AUTOMATIC_TAX), the
disclaimer's version, Checkout's options and the export's bounds: pure, no database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.admin import data_export
from bot.billing.checkout_options import CheckoutOptions
from bot.core.settings import Settings, SettingsError, load_settings
from bot.texts import CATALOGUE, disclaimer

TOKEN = "123456:AAH-settings-test-token-0123456789abcdef"
STRIPE = {"STRIPE_API_KEY": "sk_test_x", "STRIPE_PRICE_IDS": "price_1"}
SETTING_NAMES = [name.upper() for name in Settings.model_fields]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    disclaimer.use_text(None)


def load(**env: str) -> Settings:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"BOT_TOKEN": TOKEN, **env}.items():
            mp.setenv(name, value)
        return load_settings(_env_file=None)


def test_defaults() -> None:
    settings = load()
    assert settings.disclaimer_text is None and settings.terms_url is None
    assert settings.stripe_automatic_tax is False


def test_good_values() -> None:
    settings = load(
        DISCLAIMER_TEXT="  Risky.\r\nVery risky.  ",
        TERMS_URL="https://example.com/terms",
        STRIPE_AUTOMATIC_TAX="true",
        **STRIPE,
    )
    assert settings.disclaimer_text == "Risky.\nVery risky."
    assert settings.terms_url == "https://example.com/terms"
    assert settings.stripe_automatic_tax is True


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DISCLAIMER_TEXT": "   "}, "DISCLAIMER_TEXT: must not be empty"),
        ({"DISCLAIMER_TEXT": "x" * 2001}, "DISCLAIMER_TEXT: must be at most 2000 characters"),
        ({"DISCLAIMER_TEXT": "safe\u202eefas"}, "DISCLAIMER_TEXT: must not contain control"),
        ({"DISCLAIMER_TEXT": "bell\x07"}, "DISCLAIMER_TEXT: must not contain control"),
        (
            {"TERMS_URL": "http://example.com/terms", **STRIPE},
            "TERMS_URL: must be an https:// URL",
        ),
        ({"TERMS_URL": "example.com/terms", **STRIPE}, "TERMS_URL: must be an https:// URL"),
        ({"TERMS_URL": "https:///terms", **STRIPE}, "TERMS_URL: must be an https:// URL"),
        ({"TERMS_URL": "https://x.com/a b", **STRIPE}, "TERMS_URL: must be an https:// URL"),
        ({"TERMS_URL": "https://x.com/(a)", **STRIPE}, "TERMS_URL: must be an https:// URL"),
        ({"TERMS_URL": "https://x.com/" + "a" * 500, **STRIPE}, "TERMS_URL: must be an https://"),
        ({"TERMS_URL": "https://[::1/terms", **STRIPE}, "TERMS_URL: must be an https:// URL"),
        ({"TERMS_URL": "https://exämple.com/t", **STRIPE}, "TERMS_URL: must be an https:// URL"),
        ({"TERMS_URL": "https://x.com/t\u00a0x", **STRIPE}, "TERMS_URL: must be an https://"),
        ({"TERMS_URL": "https://me:pw@x.com/t", **STRIPE}, "TERMS_URL: must be an https:// URL"),
        ({"STRIPE_AUTOMATIC_TAX": "maybe", **STRIPE}, "STRIPE_AUTOMATIC_TAX: input should be"),
        ({"TERMS_URL": "https://x.com/terms"}, "TERMS_URL is set but STRIPE_API_KEY is not"),
        ({"STRIPE_AUTOMATIC_TAX": "true"}, "STRIPE_AUTOMATIC_TAX is set but STRIPE_API_KEY"),
    ],
)
def test_bad_values_are_one_clear_line(env: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load(**env)
    message = str(raised.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_the_version_names_the_canonical_text() -> None:
    default = disclaimer.version()
    assert len(default) == 12 and int(default, 16) >= 0
    for language in ("ru", "es", "pt_BR"):  # one version whatever the reader's language
        with CATALOGUE.use_locale(language):
            assert disclaimer.version() == default
            assert disclaimer.text() != disclaimer.canonical()
    disclaimer.use_text("Trade  at your\nown risk.")
    custom = disclaimer.version()
    assert custom != default
    disclaimer.use_text("Trade at your own risk.")  # white space alone: the same text
    assert disclaimer.version() == custom
    disclaimer.use_text("Trade at your own risk!")
    assert disclaimer.version() != custom


def _message(url: str, language: str) -> str:
    return f"[{language}]({url})"


def test_checkout_options() -> None:
    assert CheckoutOptions().params(customer="cus_1", language="en") == {}
    tax = CheckoutOptions(automatic_tax=True)
    assert tax.params(customer=None, language="en") == {
        "automatic_tax": {"enabled": True},
        "billing_address_collection": "required",
        "tax_id_collection": {"enabled": True},
    }
    assert tax.params(customer="cus_1", language="en")["customer_update"] == {
        "address": "auto",
        "name": "auto",
    }
    terms = CheckoutOptions(terms_url="https://x.com/t", terms_message=_message)
    assert terms.params(customer=None, language="ru") == {
        "consent_collection": {"terms_of_service": "required"},
        "custom_text": {"terms_of_service_acceptance": {"message": "[ru](https://x.com/t)"}},
    }


def test_terms_message_in_each_language_links_the_url() -> None:
    url = "https://x.com/t?a=1&b=2"
    for language in ("en", "ru", "es", "pt_BR", "xx"):
        message = disclaimer.terms_message(url, language)
        assert f"]({url})" in message and len(message) <= 1200


def test_the_export_is_bounded() -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    many = [{"charge_id": f"c{i}", "note": "x" * 200} for i in range(600)]
    loaded = data_export.Loaded(user_id=1, profile={"first_name": "Ann"}, star_payments=many)
    document = data_export.document(loaded, now)
    assert len(document["payments"]["telegram_stars"]) == data_export.MAX_ITEMS
    assert document["payments"]["telegram_stars"][-1]["charge_id"] == "c599"  # newest kept
    assert document["truncated"] == ["star_payments"]
    small = data_export.encode(loaded, now, max_bytes=20_000)
    assert len(small) <= 20_000
    assert b'"truncated": [\n  "star_payments"' in small
