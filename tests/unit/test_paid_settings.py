"""PAID_BROADCAST (off, signals, all; true and false as before) and its daily budget,
PAID_BROADCAST_DAILY_STARS: what each value means, and one line naming what is wrong."""

from __future__ import annotations

import pytest

from bot.core.settings import SettingsError, load_settings
from bot.notices import paid
from bot.notices.kinds import NoticeKind

TOKEN = "123456:AAH-settings-test-token-0123456789abcdef"


def load(**env: str) -> object:
    return load_settings(_env_file=None, bot_token=TOKEN, **{k.lower(): v for k, v in env.items()})


@pytest.mark.parametrize(
    ("given", "mode"),
    [
        ("off", "off"),
        ("signals", "signals"),
        (" Signals ", "signals"),
        ("all", "all"),
        ("ALL", "all"),
        # The true/false it was: true paid for every broadcast, false for none.
        ("true", "all"),
        ("True", "all"),
        ("1", "all"),
        ("false", "off"),
        ("0", "off"),
    ],
)
def test_paid_broadcast_modes_and_the_old_true_false(given: str, mode: str) -> None:
    settings = load_settings(_env_file=None, bot_token=TOKEN, paid_broadcast=given)
    assert settings.paid_broadcast == mode


def test_each_mode_covers_its_kinds_and_never_a_notice() -> None:
    assert not any(paid.covers("off", kind) for kind in NoticeKind)
    assert {k for k in NoticeKind if paid.covers("signals", k)} == {
        NoticeKind.SIGNAL,
        NoticeKind.SIGNAL_UPDATE,
    }
    assert {k for k in NoticeKind if paid.covers("all", k)} == {
        NoticeKind.SIGNAL,
        NoticeKind.SIGNAL_UPDATE,
        NoticeKind.BROADCAST,
    }


def test_a_daily_budget_in_stars() -> None:
    settings = load_settings(
        _env_file=None, bot_token=TOKEN, paid_broadcast="signals", paid_broadcast_daily_stars="250"
    )
    assert settings.paid_broadcast_daily_stars == 250


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"PAID_BROADCAST": "sometimes"}, "PAID_BROADCAST: must be off, signals or all"),
        ({"PAID_BROADCAST": "yes please"}, "PAID_BROADCAST: must be off, signals or all"),
        (
            {"PAID_BROADCAST": "signals", "PAID_BROADCAST_DAILY_STARS": "0"},
            "PAID_BROADCAST_DAILY_STARS: ",
        ),
        (
            {"PAID_BROADCAST": "signals", "PAID_BROADCAST_DAILY_STARS": "a lot"},
            "PAID_BROADCAST_DAILY_STARS: ",
        ),
        (
            {"PAID_BROADCAST": "signals", "PAID_BROADCAST_DAILY_STARS": "1.5"},
            "PAID_BROADCAST_DAILY_STARS: ",
        ),
        (
            {"PAID_BROADCAST_DAILY_STARS": "100"},
            "PAID_BROADCAST_DAILY_STARS is set but PAID_BROADCAST is off",
        ),
    ],
)
def test_a_bad_paid_setting_is_one_line_naming_it(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load(**env)
    message = str(caught.value)
    assert message.startswith(needle), message
    assert "\n" not in message


def test_the_estimate_is_a_tenth_of_a_star_a_message_and_both_lanes_times() -> None:
    cost = paid.estimate(10_000)
    assert (cost.messages, cost.tenths, str(cost.stars)) == (10_000, 10_000, "1000")
    assert (cost.paid_seconds, cost.free_seconds) == (10, 334)
    assert str(paid.estimate(7).stars) == "0.7"
