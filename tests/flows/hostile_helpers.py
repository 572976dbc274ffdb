"""What the hostile-input tests share: the `hook` fixture (a harness in webhook mode, with
Telegram's secret token), the check that bad input logged no error, and hypothesis's
arbitrary JSON values."""

from __future__ import annotations

import logging

import pytest
from hypothesis import strategies as st

from tests.support.harness import Harness, MakeHarness

TG_SECRET = "tg-secret_for-hostile-tests"
TG_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
async def hook(make_harness: MakeHarness) -> Harness:
    """Webhook mode, so /telegram/webhook exists too."""
    return await make_harness(
        public_url="https://bot.example.test", telegram_webhook_secret=TG_SECRET
    )


def assert_no_error_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Bad input is not an error of ours: nothing at ERROR, no traceback anywhere."""
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_text]
    assert bad == [], [r.getMessage() for r in bad]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
