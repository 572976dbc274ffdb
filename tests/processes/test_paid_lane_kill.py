"""`python -m bot` killed (SIGKILL) as the paid lane closes mid-broadcast, and started
again: nothing is lost, the only messages sent twice are those in flight at the kill (16
free, 64 paid at most), the day's budget holds (a paid send in flight at the kill may go
again, paid: the documented at-least-once), and the admins are told once.

300 subscribers, PAID_BROADCAST_DAILY_STARS=10: the first 100 go paid, the rest free. The
process is killed as the fake Bot API takes a chosen message: the 60th (the paid lane at
full speed) or the 101st (the first free one: the lane has just closed)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.delivery.config import CONCURRENCY, PAID_CONCURRENCY
from bot.notices.paid import sends_on as paid_sends_on
from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from db.models import OutboxMessage, PaidDay
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.harness import ADMIN_ID, BOT_TOKEN, Harness, MakeHarness
from tests.support.helpers import give_access
from tests.support.processes import base_env, running_bot

# Long tests that mostly wait (processes, a lease running out): started first.
pytestmark = pytest.mark.waits

SUBSCRIBERS = list(range(7_400_001, 7_400_301))
BUDGET_STARS = 10  # 100 paid sends
CLOSED_WORDS = "fast lane is closed for today"


async def _all_sent(harness: Harness) -> bool:
    async with harness.session() as session:
        left = await session.scalar(select(func.count()).where(OutboxMessage.status != "sent"))
    return left == 0


async def _until(harness: Harness, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not await _all_sent(harness):
        assert time.monotonic() < deadline, "the broadcast did not finish"
        await asyncio.sleep(0.2)


def _lanes(fake: FakeBotAPI) -> tuple[Counter[int], int]:
    """Messages each subscriber got, and how many went paid in all."""
    got: Counter[int] = Counter()
    paid = 0
    for message in fake.sent_messages():
        if message.chat_id in SUBSCRIBERS:
            got[message.chat_id] += 1
            paid += message.params.get("allow_paid_broadcast") is True
    return got, paid


@pytest.mark.parametrize("kill_at", [60, 101])
async def test_a_kill_as_the_lane_changes_loses_nothing(
    make_harness: MakeHarness, database_url: str, tmp_path: Path, kill_at: int
) -> None:
    harness = await make_harness()  # the database and the fake; its own worker never runs
    fake = harness.fake_bot
    await give_access(harness, *SUBSCRIBERS)
    async with harness.session() as session, session.begin():
        spec = parse_signal("BTCUSDT long entry 65000 sl 63500 tp 67000")
        draft = await signals.create_draft(session, spec, ADMIN_ID)
        await signals.publish(session, draft.id, datetime.now(UTC), paid=True)
    env = base_env(
        BOT_TOKEN=BOT_TOKEN,
        DATABASE_URL=database_url,
        TELEGRAM_API_BASE=fake.base_url,
        ADMIN_IDS=str(ADMIN_ID),
        PAID_BROADCAST="signals",
        PAID_BROADCAST_DAILY_STARS=str(BUDGET_STARS),
        DELIVERY_LEASE_SECONDS="10",
    )
    async with running_bot(env, tmp_path) as first:
        fake.after_sends(kill_at, first.proc.kill)  # SIGKILL, as the fake takes that one
        await asyncio.wait_for(first.proc.wait(), 60)
    killed_with = len(fake.sent_messages())
    assert killed_with >= kill_at

    async with running_bot(env, tmp_path) as second:
        await _until(harness)
        deadline = time.monotonic() + 30
        while not any(CLOSED_WORDS in m.text for m in fake.sent_messages(ADMIN_ID)):
            assert time.monotonic() < deadline, "the admins were not told"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a second notice would have been queued with the first
        assert second.proc.returncode is None
        assert "Traceback" not in first.output() + second.output()

    got, paid = _lanes(fake)
    assert set(got) == set(SUBSCRIBERS)  # nothing lost
    twice = sum(n - 1 for n in got.values())
    in_flight = CONCURRENCY + PAID_CONCURRENCY  # at most, free and paid
    assert twice <= in_flight, f"{twice} sent twice; at most the sends in flight"
    async with harness.session() as session:
        day = await session.get(PaidDay, datetime.now(UTC).date())
        booked = await paid_sends_on(session, datetime.now(UTC).date())
    assert day is not None and (booked, day.closed) == (100, "budget")
    assert 100 <= paid <= 100 + PAID_CONCURRENCY  # beyond the book: paid sends in flight
    if kill_at > 100:
        assert paid == 100  # the kill came after every paid send was recorded
    told = [m for m in fake.sent_messages(ADMIN_ID) if CLOSED_WORDS in m.text]
    assert len(told) == 1
