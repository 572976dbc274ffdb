"""The subscription lifecycle's rules, pure functions of the clock: when a reminder is due and
which wins, when access ends and is announced, each message's own key; and REMINDER_DAYS,
read and checked."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.accounts.access import STRIPE_GRACE
from bot.core.settings import SettingsError, load_settings
from bot.lifecycle import rules
from bot.lifecycle.rules import Ending
from db.models import EntitlementSource
from tests.flows.lifecycle_helpers import ANN, REAL_NOW
from tests.support.harness import BOT_TOKEN


def ending(
    source: str = EntitlementSource.GRANT,
    *,
    expires: datetime,
    updated: datetime,
    cancel_at_period_end: bool = False,
) -> Ending:
    return Ending(1, ANN, source, expires, updated, cancel_at_period_end, None)


def test_a_reminder_is_due_from_its_moment_to_the_end_and_the_most_urgent_wins() -> None:
    end = REAL_NOW + timedelta(days=10)
    grant = ending(expires=end, updated=REAL_NOW)
    days = [3, 1]
    before = end - timedelta(days=3, seconds=1)
    assert rules.due_reminder(grant, before, days) is None
    assert rules.due_reminder(grant, end - timedelta(days=3), days) == 3
    assert rules.due_reminder(grant, end - timedelta(days=1, seconds=1), days) == 3
    assert rules.due_reminder(grant, end - timedelta(days=1), days) == 1
    assert rules.due_reminder(grant, end - timedelta(seconds=1), days) == 1
    assert rules.due_reminder(grant, end, days) is None


def test_a_reminder_whose_moment_passed_before_the_last_change_is_not_due() -> None:
    end = REAL_NOW + timedelta(days=2)  # granted two days before its end
    grant = ending(expires=end, updated=REAL_NOW)
    assert rules.due_reminder(grant, REAL_NOW, [3, 1]) is None
    assert rules.due_reminder(grant, end - timedelta(days=1), [3, 1]) == 1


def test_only_a_subscription_that_will_not_renew_is_reminded() -> None:
    end = REAL_NOW + timedelta(days=10)
    now = end - timedelta(days=1)
    renewing = ending(EntitlementSource.STRIPE, expires=end, updated=REAL_NOW)
    cancelled = ending(
        EntitlementSource.STRIPE, expires=end, updated=REAL_NOW, cancel_at_period_end=True
    )
    assert rules.due_reminder(renewing, now, [3, 1]) is None
    assert rules.due_reminder(cancelled, now, [3, 1]) == 1


def test_access_ends_at_the_end_plus_stripes_grace_and_is_announced_within_the_lookback() -> None:
    end = REAL_NOW
    stripe = ending(EntitlementSource.STRIPE, expires=end, updated=REAL_NOW)
    grant = ending(expires=end, updated=REAL_NOW)
    assert rules.access_ends_at(stripe) == end + STRIPE_GRACE
    assert not rules.expired_between(stripe, end + STRIPE_GRACE - timedelta(seconds=1))
    assert rules.expired_between(stripe, end + STRIPE_GRACE)
    assert not rules.expired_between(grant, end - timedelta(seconds=1))
    assert rules.expired_between(grant, end)
    assert rules.expired_between(grant, end + rules.EXPIRY_LOOKBACK - timedelta(seconds=1))
    assert not rules.expired_between(grant, end + rules.EXPIRY_LOOKBACK)


def test_each_message_has_its_own_key() -> None:
    grant = ending(expires=REAL_NOW, updated=REAL_NOW)
    later = ending(expires=REAL_NOW + timedelta(days=30), updated=REAL_NOW)
    keys = {
        rules.expiry_key(grant),
        rules.expiry_key(later),
        rules.reminder_key(grant, 3),
        rules.reminder_key(grant, 1),
        rules.reminder_key(later, 1),
    }
    assert len(keys) == 5


@pytest.mark.parametrize("value", ["0", "366", "x", "3,²", "-1", "1.5"])
def test_bad_reminder_days_stop_start_up_naming_the_setting(value: str) -> None:
    with pytest.raises(SettingsError, match="^REMINDER_DAYS: "):
        load_settings(_env_file=None, bot_token=BOT_TOKEN, reminder_days=value)


def test_reminder_days_are_read_as_a_list_most_distant_first() -> None:
    settings = load_settings(_env_file=None, bot_token=BOT_TOKEN, reminder_days="1, 7,3,1")
    assert settings.reminder_days == [7, 3, 1]
    default = load_settings(_env_file=None, bot_token=BOT_TOKEN)
    assert default.reminder_days == [3, 1]
    off = load_settings(_env_file=None, bot_token=BOT_TOKEN, reminder_days="off")
    assert off.reminder_days == []
