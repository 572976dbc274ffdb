"""The subscription lifecycle on a clock: the scheduler runs each job once across
processes and restarts; expiry and reminders tell each user once, with the right button.

Time is a fixed clock the test moves; nothing waits in real time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.accounts.access import STRIPE_GRACE, has_access
from bot.core.settings import SettingsError, load_settings
from bot.lifecycle import rules
from bot.lifecycle.rules import Ending
from bot.lifecycle.scheduler import LEASE, Job, Scheduler
from bot.lifecycle.sweeps import LifecycleSweeps
from bot.texts.keyboards import BillingButton
from bot.transactions.unit_of_work import UnitOfWork
from db.models import (
    Entitlement,
    EntitlementSource,
    LifecycleNotice,
    OutboxMessage,
    SchedulerJob,
    User,
)
from tests.support.harness import BOT_TOKEN, Harness

ANN = 6_100_001
BOB = 6_100_002
REAL_NOW = datetime.now(UTC).replace(microsecond=0)


class FixedClock:
    """Stands still until the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()

    async def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def ending(
    source: str = EntitlementSource.GRANT,
    *,
    expires: datetime,
    updated: datetime,
    cancel_at_period_end: bool = False,
) -> Ending:
    return Ending(1, ANN, source, expires, updated, cancel_at_period_end, None)


# --- the pure rules ---------------------------------------------------------------------


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


# --- the jobs against a database -------------------------------------------------------


async def _entitle(
    harness: Harness,
    user_id: int,
    source: str,
    *,
    expires: datetime,
    updated: datetime = REAL_NOW,
    status: str = "active",
    cancel_at_period_end: bool = False,
) -> None:
    async with harness.session() as session, session.begin():
        if await session.get(User, user_id) is None:
            session.add(User(id=user_id, first_name=f"User{user_id}"))
            await session.flush()
        session.add(
            Entitlement(
                user_id=user_id,
                source=source,
                source_ref=f"sub_{user_id}" if source == EntitlementSource.STRIPE else None,
                status=status,
                expires_at=expires,
                cancel_at_period_end=cancel_at_period_end,
                updated_at=updated,
                state_version=1,
            )
        )


def _scheduler(harness: Harness, clock: FixedClock, owner: str = "one") -> Scheduler:
    sweeps = LifecycleSweeps(
        UnitOfWork(harness.parts.session_factory), reminder_days=[3, 1], plan_name=lambda _: None
    )
    jobs = [
        Job("expiry", timedelta(seconds=30), sweeps.expiry),
        Job("reminders", timedelta(minutes=5), sweeps.reminders),
    ]
    return Scheduler(harness.parts.session_factory, jobs, clock=clock, owner=owner)


async def _queued(harness: Harness, kind: str) -> list[OutboxMessage]:
    async with harness.session() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
        return list(rows)


async def _notices(harness: Harness) -> int:
    async with harness.session() as session:
        return int(await session.scalar(select(func.count()).select_from(LifecycleNotice)) or 0)


async def test_a_grant_that_runs_out_is_told_once_with_a_subscribe_button(
    harness: Harness,
) -> None:
    end = REAL_NOW + timedelta(hours=1)
    await _entitle(harness, ANN, EntitlementSource.GRANT, expires=end)
    clock = FixedClock(end - timedelta(seconds=1))
    scheduler = _scheduler(harness, clock)

    assert await scheduler.run_due() == ["expiry", "reminders"]
    assert await _queued(harness, "access_expired") == []

    clock.at = end + timedelta(seconds=29)  # the expiry job is due again 30 s after its run
    assert await scheduler.run_due() == ["expiry"]
    [row] = await _queued(harness, "access_expired")
    assert row.chat_id == ANN
    async with harness.session() as session:
        assert not await has_access(session, ANN, clock.at)

    clock.at += timedelta(minutes=10)  # every job again: nothing more to say
    assert await scheduler.run_due() == ["expiry", "reminders"]
    assert len(await _queued(harness, "access_expired")) == 1

    await harness.deliver()
    [message] = harness.replies(ANN)
    assert "complimentary access to premium signals ended on" in message.text
    button = message.params["reply_markup"]["inline_keyboard"][0][0]
    assert BillingButton.unpack(button["callback_data"]).action == "plans"


async def test_no_expiry_message_while_another_entitlement_still_gives_access(
    harness: Harness,
) -> None:
    end = REAL_NOW - timedelta(minutes=1)
    await _entitle(harness, ANN, EntitlementSource.GRANT, expires=end)
    await _entitle(harness, ANN, EntitlementSource.STRIPE, expires=REAL_NOW + timedelta(days=20))
    await _entitle(harness, BOB, EntitlementSource.GRANT, expires=end)
    await _scheduler(harness, FixedClock(REAL_NOW)).run_due()
    assert [row.chat_id for row in await _queued(harness, "access_expired")] == [BOB]


async def test_a_stripe_period_end_without_renewal_is_told_after_stripes_grace(
    harness: Harness,
) -> None:
    end = REAL_NOW - timedelta(minutes=5)
    await _entitle(harness, ANN, EntitlementSource.STRIPE, expires=end)
    clock = FixedClock(REAL_NOW)
    scheduler = _scheduler(harness, clock)
    await scheduler.run_due()
    assert await _queued(harness, "access_expired") == []  # a renewal may still be on its way
    clock.at = end + STRIPE_GRACE
    await scheduler.run_due()
    [row] = await _queued(harness, "access_expired")
    assert row.params["source"] == "stripe"


async def test_reminders_three_days_and_one_day_before_each_once(harness: Harness) -> None:
    end = REAL_NOW + timedelta(days=5)
    await _entitle(harness, ANN, EntitlementSource.GRANT, expires=end)
    clock = FixedClock(REAL_NOW)
    scheduler = _scheduler(harness, clock)
    moments = [
        end - timedelta(days=4),
        end - timedelta(days=3),
        end - timedelta(days=2, hours=12),
        end - timedelta(days=1),
        end - timedelta(hours=1),
    ]
    for moment in moments:
        clock.at = moment
        await scheduler.run_due()
    rows = await _queued(harness, "access_ending")
    assert [row.params["days"] for row in rows] == [3, 1]
    await harness.deliver(wait=5)
    texts = [message.text for message in harness.replies(ANN)]
    assert "in 3 days" in texts[0]
    assert "in 1 day." in texts[1]


async def test_a_cancelled_subscription_is_reminded_with_the_portal_a_renewing_one_is_not(
    harness: Harness,
) -> None:
    end = REAL_NOW + timedelta(days=10)
    await _entitle(harness, ANN, EntitlementSource.STRIPE, expires=end, cancel_at_period_end=True)
    await _entitle(harness, BOB, EntitlementSource.STRIPE, expires=end)
    await _scheduler(harness, FixedClock(end - timedelta(days=1))).run_due()
    [row] = await _queued(harness, "access_ending")
    assert row.chat_id == ANN
    await harness.deliver()
    [message] = harness.replies(ANN)
    assert "will not renew" in message.text
    button = message.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "Turn renewal back on"
    assert BillingButton.unpack(button["callback_data"]).action == "portal"
    assert harness.replies(BOB) == []


async def test_a_job_run_again_after_a_crash_before_its_row_was_updated_sends_nothing_twice(
    harness: Harness,
) -> None:
    end = REAL_NOW - timedelta(minutes=1)
    await _entitle(harness, ANN, EntitlementSource.GRANT, expires=end)
    sweeps = LifecycleSweeps(
        UnitOfWork(harness.parts.session_factory), reminder_days=[3, 1], plan_name=lambda _: None
    )
    # The work committed, then the process died: the job row still says due, so the next
    # process runs the same work again.
    assert await sweeps.expiry(REAL_NOW) == "1 told their access ended"
    assert await sweeps.expiry(REAL_NOW) == "0 told their access ended"
    assert len(await _queued(harness, "access_expired")) == 1
    assert await _notices(harness) == 1


async def test_a_job_due_while_the_process_was_down_runs_once_when_it_is_back(
    harness: Harness,
) -> None:
    clock = FixedClock(REAL_NOW)
    first = _scheduler(harness, clock, owner="before")
    assert await first.run_due() == ["expiry", "reminders"]
    clock.at += timedelta(hours=6)  # down for six hours: many intervals missed
    after = _scheduler(harness, clock, owner="after")
    assert await after.run_due() == ["expiry", "reminders"]
    assert await after.run_due() == []
    async with harness.session() as session:
        job = await session.get(SchedulerJob, "expiry")
        assert job is not None
        assert job.runs == 2
        assert job.next_run_at == clock.at + timedelta(seconds=30)
        assert job.last_outcome == "0 told their access ended"
        assert job.lease_owner is None


async def test_a_job_with_a_first_delay_waits_that_long_after_it_is_first_registered(
    harness: Harness,
) -> None:
    ran: list[datetime] = []

    async def heavy(now: datetime) -> str:
        ran.append(now)
        return "done"

    clock = FixedClock(REAL_NOW)
    job = Job("heavy", timedelta(days=1), heavy, first_after=timedelta(hours=1))
    scheduler = Scheduler(harness.parts.session_factory, [job], clock=clock, owner="one")
    assert await scheduler.run_due() == []
    clock.at += timedelta(minutes=59)
    assert await scheduler.run_due() == []
    clock.at += timedelta(minutes=1)
    assert await scheduler.run_due() == ["heavy"]
    assert ran == [REAL_NOW + timedelta(hours=1)]


async def test_a_dead_holders_lease_is_taken_over_after_it_runs_out(harness: Harness) -> None:
    clock = FixedClock(REAL_NOW)
    dead = _scheduler(harness, clock, owner="dead")
    await dead.run_due()
    clock.at += timedelta(minutes=10)
    # It claimed both jobs and died before finishing them.
    assert await dead._claim(dead._jobs[0], clock.at)
    other = _scheduler(harness, clock, owner="other")
    assert await other.run_due() == ["reminders"]
    clock.at += LEASE - timedelta(seconds=1)
    assert await other.run_due() == []
    clock.at += timedelta(seconds=1)
    assert await other.run_due() == ["expiry"]


async def test_two_processes_at_once_run_each_job_once(harness: Harness) -> None:
    end = REAL_NOW - timedelta(minutes=1)
    for user_id in range(ANN, ANN + 20):
        await _entitle(harness, user_id, EntitlementSource.GRANT, expires=end)
    clock = FixedClock(REAL_NOW)
    one, two = _scheduler(harness, clock, "one"), _scheduler(harness, clock, "two")
    ran = await asyncio.gather(one.run_due(), two.run_due())
    assert sorted(ran[0] + ran[1]) == ["expiry", "reminders"]
    assert len(await _queued(harness, "access_expired")) == 20


async def test_a_database_fault_in_a_job_is_one_line_and_the_loop_goes_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[datetime] = []

    async def failing(now: datetime) -> str:
        calls.append(now)
        raise ConnectionResetError("database went away")

    clock = FixedClock(REAL_NOW)
    scheduler = Scheduler(
        harness.parts.session_factory,
        [Job("flaky", timedelta(seconds=30), failing)],
        clock=clock,
        owner="one",
    )
    assert await scheduler.run_due() == ["flaky"]
    clock.at += timedelta(seconds=30)
    assert await scheduler.run_due() == ["flaky"]
    assert len(calls) == 2
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.lifecycle.scheduler"]
    assert lines == ["job flaky failed: ConnectionResetError"] * 2
    assert not any(r.exc_info for r in caplog.records)
    async with harness.session() as session:
        job = await session.get(SchedulerJob, "flaky")
        assert job is not None and job.last_outcome == "failed: ConnectionResetError"


# --- /support and /paysupport ----------------------------------------------------------


@pytest.mark.parametrize("command", ["/support", "/paysupport"])
async def test_support_names_the_contact_and_how_to_cancel_or_get_a_refund(
    make_harness: object, command: str
) -> None:
    harness = await make_harness(support_contact="@signaldesk_help")  # type: ignore[operator]
    await harness.send_text(ANN, command)
    text = harness.last_reply(ANN).text
    assert "@signaldesk_help" in text
    assert str(ANN) in text
    assert "/manage" in text and "Refund" in text


async def test_support_without_a_contact_still_says_how_to_cancel(harness: Harness) -> None:
    await harness.send_text(ANN, "/paysupport")
    text = harness.last_reply(ANN).text
    assert "has not set a support contact" in text
    assert "/manage" in text
