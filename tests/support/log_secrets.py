"""No secret in any log line: the secrets the tests hold and the shapes of those they make,
redacted from the application's logs, and the `no_secret_in_logs` fixture that fails every
test that logged one anyway."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from bot.core.logs import REDACTOR, install_redaction
from bot.core.settings import load_settings
from tests.support.constants import BOT_TOKEN, STRIPE_KEY, WEBHOOK_SECRET

# Secrets the tests hold, and shapes of the ones they make (bearer tokens, initData): none
# may appear in any log line of any test (the `no_secret_in_logs` fixture below).
TEST_SECRETS = [
    BOT_TOKEN,
    BOT_TOKEN.partition(":")[2],
    WEBHOOK_SECRET,
    STRIPE_KEY,
    load_settings(_env_file=None, bot_token=BOT_TOKEN).webhook_secret_token,
]
SECRET_SHAPES = [
    re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{20,}"),  # Mini App bearer tokens
    re.compile(r"hash=[0-9a-f]{64}"),  # initData
    re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}"),  # any bot token
]
install_redaction(TEST_SECRETS)


class _LogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def leaked_secrets(lines: list[str]) -> list[str]:
    """The lines that carry a secret (all of them, for the assertion message)."""
    return [
        line
        for line in lines
        if any(secret in line for secret in [*TEST_SECRETS, *REDACTOR.known()])
        or any(shape.search(line) for shape in SECRET_SHAPES)
    ]


@pytest.fixture(autouse=True)
def no_secret_in_logs() -> Iterator[_LogLines]:
    """Every test: whatever was logged at INFO or above, secrets included nowhere."""
    handler = _LogLines()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(min(previous, logging.INFO) if previous else logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    assert leaked_secrets(handler.lines) == []
