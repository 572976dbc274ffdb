# ruff: noqa: F811 - `make_outage` is a fixture imported from faults_helpers.py
"""The fault suite, delivery: the database cut mid-broadcast (and a graceful stop during the
outage), a 429 that outlasts the lease with a second worker, and every answer of the Bot
API classified (an error page, a rejected token, a conflict, too large). Each checks that
nothing was lost, nothing sent twice (the fake's own count), no traceback was logged for a
fault we expect, and it recovered without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.delivery.config import CONCURRENCY
from bot.delivery.worker import DeliveryWorker
from db.faults import DATABASE_FAULTS
from db.models import OutboxMessage
from tests.processes.faults_helpers import (
    MakeOutage,
    expected_faults_only,
    make_outage,  # noqa: F401 - a fixture
)
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import give_access, outbox

# Long tests that mostly wait (processes, hand-overs, outages): started first
# (tests/support/harness.py).
pytestmark = pytest.mark.waits


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    """Poll `condition` (which may read the database while it is cut: not yet, then)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if await condition():
                return
        except DATABASE_FAULTS:
            pass
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.05)


async def _all_sent(harness: Harness) -> bool:
    async with harness.session() as session:
        pending = await session.scalar(select(func.count()).where(OutboxMessage.status != "sent"))
        return pending == 0


def _sent_once_each(harness: Harness, chats: list[int]) -> None:
    counts = Counter(m.chat_id for m in harness.fake_bot.sent_messages() if m.chat_id in chats)
    assert {chat: counts[chat] for chat in chats} == dict.fromkeys(chats, 1)


async def _queue_broadcast(harness: Harness, chats: range) -> list[int]:
    """Subscribers `chats` and an announcement queued for them; the fake's record cleared."""
    await give_access(harness, *chats)
    await harness.send_text(ADMIN_ID, "/broadcast Markets open")
    harness.fake_bot.clear()
    return list(chats)


@contextlib.asynccontextmanager
async def running(worker: DeliveryWorker) -> AsyncIterator[None]:
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)


# --- delivery: the database cut mid-broadcast -------------------------------------------------


async def test_database_cut_mid_broadcast_sends_nothing_twice_and_loses_nothing(
    make_outage: MakeOutage, caplog: pytest.LogCaptureFixture
) -> None:
    outage = await make_outage()
    harness = outage.harness
    chats = await _queue_broadcast(harness, range(9100, 9160))
    # Cut right after the 10th message went out, while others are in flight; back in 1 s.
    harness.fake_bot.after_sends(10, outage.begin_now)
    harness.fake_bot.after_sends(10, lambda: outage.end_after(1.0))
    worker = harness.worker(rate=200)
    async with running(worker):
        await _until(lambda: _owes(worker))
        await asyncio.sleep(0.5)  # the outage goes on: the worker must have stopped sending
        during_outage = len(harness.fake_bot.sent_messages())
        await _until(lambda: _all_sent(harness))
    await outage.wait()
    # At 200/s all 60 would have gone out in 0.3 s; it stopped with the sends in flight.
    assert during_outage <= 10 + CONCURRENCY + 1
    _sent_once_each(harness, chats)
    rows = await outbox(harness)
    ids = [(r.chat_id, r.telegram_message_id) for r in rows if r.kind == "broadcast"]
    assert len(ids) == len(set(ids)) == len(chats)
    assert worker.owed == 0
    expected_faults_only(caplog)
    assert any("the database failed" in r.getMessage() for r in caplog.records)


async def test_graceful_stop_during_an_outage_saves_what_it_owes_when_it_can(
    make_outage: MakeOutage,
) -> None:
    outage = await make_outage()
    harness = outage.harness
    await _queue_broadcast(harness, range(9170, 9180))
    harness.fake_bot.after_sends(3, outage.begin_now)
    worker = harness.worker(rate=200)
    task = asyncio.create_task(worker.run())
    await _until(lambda: _owes(worker))
    worker.stop()  # SIGTERM while the database is down...
    outage.end_after(0.5)  # ...and it comes back before the stop gives up
    await asyncio.wait_for(task, 30)
    assert worker.owed == 0
    rows = {r.chat_id: r for r in await outbox(harness) if r.kind == "broadcast"}
    sent_chats = {m.chat_id for m in harness.fake_bot.sent_messages()}
    # Every message that went out is recorded as sent; nothing else is.
    assert {c for c, r in rows.items() if r.status == "sent"} == sent_chats


async def _owes(worker: DeliveryWorker) -> bool:
    return worker.owed > 0


# --- delivery: a 429 that outlasts the lease, with a second worker ---------------------------


async def test_a_429_longer_than_the_lease_with_two_workers_sends_nothing_twice(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    chats = await _queue_broadcast(harness, range(9200, 9230))
    # The pause outlasts the lease. The lease is long enough that a send and its record fit
    # in it with 2.4 s to spare (a send starts only while timeout 2 s + margin 0.4 s remain):
    # a loaded CI machine once stalled this process longer than a 2 s lease's 1.2 s spare.
    harness.fake_bot.fail_next("sendMessage", "429", retry_after=5)
    workers = [harness.worker(rate=50, lease=timedelta(seconds=4)) for _ in range(2)]
    async with running(workers[0]):
        await _until(lambda: _claimed(harness))
        async with running(workers[1]):
            await _until(lambda: _all_sent(harness))
    _sent_once_each(harness, chats)
    expected_faults_only(caplog)


async def _claimed(harness: Harness) -> bool:
    async with harness.session() as session:
        return bool(
            await session.scalar(
                select(func.count()).where(OutboxMessage.last_error == "429 retry_after")
            )
        )


# --- delivery: every answer of the Bot API is classified ----------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("html", "not JSON"),
        ("401", "401: Telegram rejected BOT_TOKEN"),
        ("404", "404 from the Bot API"),
    ],
)
async def test_answers_that_say_telegram_is_unusable_hold_the_message_without_using_it_up(
    harness: Harness, caplog: pytest.LogCaptureFixture, kind: str, reason: str
) -> None:
    await harness.send_text(ADMIN_ID, "/grant 9301 7")  # queues a notice to 9301
    harness.fake_bot.fail_next("sendMessage", kind, times=2)
    await harness.parts.worker.drain_once()
    (row,) = await outbox(harness, 9301)
    assert (row.status, row.attempts) == ("pending", 0)
    assert reason in (row.last_error or "")
    await harness.deliver(wait=10)  # paused 1 s, then 2 s; then Telegram is back
    (row,) = await outbox(harness, 9301)
    assert row.status == "sent"
    assert len(harness.replies(9301)) == 1
    expected_faults_only(caplog)


async def test_a_rejected_token_is_an_error_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.send_text(ADMIN_ID, "/grant 9302 7")
    harness.fake_bot.fail_next("sendMessage", "401")
    await harness.parts.worker.drain_once()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "Telegram rejected BOT_TOKEN" in errors[0]


async def test_a_conflict_is_retried_with_back_off_and_counted(harness: Harness) -> None:
    await harness.send_text(ADMIN_ID, "/grant 9303 7")
    harness.fake_bot.fail_next("sendMessage", "409")
    await harness.parts.worker.drain_once()
    (row,) = await outbox(harness, 9303)
    assert (row.status, row.attempts) == ("pending", 1)
    assert (row.last_error or "").startswith("409")
    await harness.deliver(wait=5)
    (row,) = await outbox(harness, 9303)
    assert row.status == "sent" and len(harness.replies(9303)) == 1


async def test_too_large_fails_with_its_reason(harness: Harness) -> None:
    await harness.send_text(ADMIN_ID, "/grant 9304 7")
    harness.fake_bot.fail_next("sendMessage", "413")
    await harness.deliver()
    (row,) = await outbox(harness, 9304)
    assert row.status == "failed" and (row.last_error or "").startswith("413")
    assert harness.replies(9304) == []


async def test_an_error_page_for_a_progress_edit_does_not_stop_delivery(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await give_access(harness, 9311, 9312)
    await harness.send_text(ADMIN_ID, "/broadcast hello")
    await harness.parts.progress.report()  # the admin's progress message: pending 2
    harness.fake_bot.fail_next("editMessageText", "html", times=5)
    await harness.deliver()
    await harness.parts.progress.report()  # the edit meets an error page: no raise
    assert harness.fake_bot.calls_for("editMessageText")  # it was tried
    assert await _all_sent(harness)
    expected_faults_only(caplog)
