"""A bad consent setting stops `python -m bot` with one line naming it, exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import TOKEN, assert_one_line, base_env, run_cli

pytestmark = pytest.mark.waits


@pytest.mark.parametrize(
    ("name", "value"),
    [("DISCLAIMER_TEXT", "   "), ("TERMS_URL", "http://example.com/terms")],
)
async def test_a_bad_consent_setting_stops_start_up(tmp_path: Path, name: str, value: str) -> None:
    env = base_env(BOT_TOKEN=TOKEN, STRIPE_API_KEY="sk_test_x", **{name: value})
    status, stderr = await run_cli([], env, tmp_path)
    assert status == 2
    assert_one_line(stderr, name)
    assert TOKEN not in stderr
