"""A wall clock moved either way, on the injected clock (tests/support/fake_clock.py), on
SQLite and PostgreSQL: the scheduler's jobs run again as soon as the clock is back,
whatever the jump left in scheduler_jobs; the rule of a mass action, and
MASS_ACTION_SHARE validated; and the system clock counts a suspension."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.core.settings import SettingsError, load_settings
from bot.lifecycle import brake
from db.models import SchedulerJob
from tests.flows.clock_jumps_helpers import DAY
from tests.support.harness import BOT_TOKEN, MakeHarness

# --- the rule and the setting ---------------------------------------------------------------


def test_a_mass_action_is_more_than_the_share_and_more_than_one_person() -> None:
    assert brake.is_mass(3, 10, 0.2)
    assert not brake.is_mass(2, 10, 0.2)  # exactly the share is not more than it
    assert not brake.is_mass(1, 1, 0.2)  # one person is not a mass (a clock jump aside)
    assert brake.is_mass(2, 2, 0.2)
    assert not brake.is_mass(0, 0, 0.2)
    assert not brake.is_mass(10, 10, 1.0)  # 1: never held


def test_mass_action_share_defaults_to_a_fifth_and_bad_values_stop_start_up() -> None:
    assert load_settings(_env_file=None, bot_token=BOT_TOKEN).mass_action_share == 0.2
    assert (
        load_settings(_env_file=None, bot_token=BOT_TOKEN, mass_action_share="1").mass_action_share
        == 1
    )
    for bad in ("0", "-0.1", "1.5", "nan", "inf", "20%", "a fifth"):
        with pytest.raises(SettingsError, match="^MASS_ACTION_SHARE: ") as caught:
            load_settings(_env_file=None, bot_token=BOT_TOKEN, mass_action_share=bad)
        assert "\n" not in str(caught.value)


# --- the scheduler ----------------------------------------------------------------------------


async def test_jobs_run_again_at_once_when_a_clock_jump_forward_is_undone(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await make_harness()
    scheduler = harness.parts.scheduler
    assert "expiry" in await scheduler.run_due()
    harness.clock.jump(40 * DAY)
    ran = await scheduler.run_due()  # every job is due on the jumped clock: each runs once
    assert {"expiry", "reminders", "suspensions"} <= set(ran)
    [moved] = [r.getMessage() for r in caplog.records if "wall clock moved" in r.getMessage()]
    assert moved.startswith("scheduler: the wall clock moved by +3456000 s")
    harness.clock.jump(-40 * DAY)  # NTP puts it back
    harness.clock.skip(1)
    # next_run_at was written from the jumped time, 40 days ahead: due now, not in 40 days.
    assert {"expiry", "reminders", "suspensions"} <= set(await scheduler.run_due())
    harness.clock.skip(31)
    assert "expiry" in await scheduler.run_due()  # and every 30 s again after that
    assert "reminders" not in await scheduler.run_due()  # not before its own 5 minutes


async def test_a_lease_written_by_a_jumped_clock_does_not_hold_a_job_for_the_jump(
    make_harness: MakeHarness,
) -> None:
    """A process that claimed a job 40 days ahead and died left a lease 40 days long."""
    harness = await make_harness()
    scheduler = harness.parts.scheduler
    await scheduler.run_due()
    far = harness.clock.now() + timedelta(days=40)
    async with harness.session() as session, session.begin():
        await session.execute(
            update(SchedulerJob)
            .where(SchedulerJob.name == "expiry")
            .values(lease_owner="gone:1", lease_until=far, next_run_at=far)
        )
    harness.clock.skip(31)
    assert "expiry" in await scheduler.run_due()


async def test_a_clock_moved_back_runs_long_jobs_at_once_and_a_small_step_changes_nothing(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness()
    scheduler = harness.parts.scheduler
    await scheduler.run_due()
    harness.clock.jump(-10)  # an NTP step: each job keeps its interval
    assert await scheduler.run_due() == []
    harness.clock.jump(-3600)  # an hour back: reminders (5 min) run now, not in an hour
    assert {"expiry", "reminders", "suspensions"} <= set(await scheduler.run_due())
    assert await scheduler.run_due() == []  # once


def test_the_system_clock_counts_a_suspension(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resumed VM must not look like a wall clock jumped ahead of time itself: the system
    clock's intervals count a suspension (CLOCK_BOOTTIME on Linux), where CLOCK_MONOTONIC
    stops. Simulated: an hour asleep shows on CLOCK_BOOTTIME only."""
    import time as _time

    from bot.core.clock import SystemClock

    boottime = getattr(_time, "CLOCK_BOOTTIME", None)
    if boottime is None:
        pytest.skip("no CLOCK_BOOTTIME on this system")
    real = _time.clock_gettime

    def asleep_for_an_hour(clock: int) -> float:
        return real(clock) + (3600.0 if clock == boottime else 0.0)

    monkeypatch.setattr(_time, "clock_gettime", asleep_for_an_hour)
    assert SystemClock().monotonic() - _time.monotonic() == pytest.approx(3600.0, abs=1.0)
