"""Secrets never reach a log line: messages, arguments, exception text, tracebacks, chained
causes and stack info; the configured values and secret-shaped text alike."""

from __future__ import annotations

import logging

import pytest
from aiogram.exceptions import ClientDecodeError

from bot.core.logs import REDACTED, REDACTOR, Redactor
from tests.support.harness import BOT_TOKEN, STRIPE_KEY, WEBHOOK_SECRET, leaked_secrets

log = logging.getLogger("tests.redaction")

CASES = [
    ("bot token in a Bot API path", f"POST /bot{BOT_TOKEN}/sendMessage", BOT_TOKEN),
    (
        "someone else's bot token",
        "GET /bot987654321:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0/getMe",
        "AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0",
    ),
    ("Stripe key", f"api_key={STRIPE_KEY}", STRIPE_KEY),
    ("a live Stripe key", "key sk_live_51Habcdefghijklmnop", "sk_live_51Habcdefghijklmnop"),
    ("webhook signing secret", f"secret {WEBHOOK_SECRET}", WEBHOOK_SECRET),
    ("bearer token", "Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
    (
        "Mini App token",
        "token eyJ1IjoxLCJlIjoxfQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
        "c2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
    ),
    (
        "initData",
        "init_data=query_id=AAE&user=%7B%22id%22%3A1%7D&auth_date=1&hash=" + "ab" * 32,
        "ab" * 32,
    ),
    ("initData user", "user=%7B%22id%22%3A1%2C%22first_name%22%3A%22Ann%22%7D&x=1", "Ann"),
]


@pytest.mark.parametrize(("what", "text", "secret"), CASES, ids=[c[0] for c in CASES])
def test_redactor_scrubs_each_kind_of_secret(what: str, text: str, secret: str) -> None:
    scrubbed = REDACTOR.redact(text)
    assert secret not in scrubbed, what
    assert REDACTED in scrubbed


def test_registered_values_are_scrubbed_however_they_look() -> None:
    redactor = Redactor()
    redactor.add("plain-looking-secret-value", "short", None)
    assert redactor.redact("x plain-looking-secret-value y") == f"x {REDACTED} y"
    assert redactor.redact("short stays") == "short stays"  # too short to scrub safely


def test_message_arguments_exception_text_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tests.redaction")
    log.info("calling %s with %r", f"/bot{BOT_TOKEN}/getMe", {"key": STRIPE_KEY})
    try:
        try:
            raise ValueError(f"cause mentions {WEBHOOK_SECRET}")
        except ValueError as cause:
            page = f"<html>502 /bot{BOT_TOKEN}/sendMessage</html>"
            raise ClientDecodeError("Failed to decode object", cause, page) from cause
    except ClientDecodeError:
        log.exception("send failed")
    log.warning("where am I", stack_info=True)
    lines = [caplog.handler.format(record) for record in caplog.records]
    assert len(lines) == 3
    assert "Traceback" in lines[1] and "ClientDecodeError" in lines[1]
    assert "The above exception was the direct cause" in lines[1]  # the chain is kept
    assert leaked_secrets(lines) == []
    for secret in (BOT_TOKEN, STRIPE_KEY, WEBHOOK_SECRET):
        assert all(secret not in line for line in lines)


def test_a_broken_format_string_still_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tests.redaction")
    log.info("two %s %s", "args?")  # noqa: PLE1206 - the point of the test
    assert "two %s %s" in caplog.text


def test_json_lines_carry_the_scrubbed_message_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """LOG_FORMAT=json: one object a line, each parseable, none with a secret in it."""
    import json

    from bot.core.logs import JsonFormatter

    caplog.set_level(logging.INFO, logger="tests.redaction")
    log.info("Привет, calling %s", f"/bot{BOT_TOKEN}/getMe")
    try:
        raise ValueError(f"page says {STRIPE_KEY}\nand more")
    except ValueError:
        log.exception("send failed")
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert all("\n" not in line for line in lines)  # one line each, a traceback included
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "tests.redaction"
    assert first["message"].startswith("Привет, calling /bot")
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and "Traceback" in second["exception"]
    assert "ValueError" in second["exception"]
    assert leaked_secrets(lines) == [] and all(STRIPE_KEY not in line for line in lines)


def test_log_format_takes_text_or_json_only() -> None:
    from bot.core.settings import SettingsError, load_settings

    settings = load_settings(_env_file=None, bot_token=BOT_TOKEN, log_format="json")
    assert settings.log_format == "json"
    assert load_settings(_env_file=None, bot_token=BOT_TOKEN).log_format == "text"
    with pytest.raises(SettingsError, match="^LOG_FORMAT: "):
        load_settings(_env_file=None, bot_token=BOT_TOKEN, log_format="xml")
