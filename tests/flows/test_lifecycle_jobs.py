"""The subscription lifecycle on a clock: the scheduler runs each job once across
processes and restarts; expiry and reminders tell each user once, with the right button.

Time is a fixed clock the test moves; nothing waits in real time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.accounts.access import STRIPE_GRACE, has_access
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
from tests.flows.lifecycle_helpers import ANN, BOB, REAL_NOW, FixedClock
from tests.support.harness import Harness


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
