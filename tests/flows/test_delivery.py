"""The delivery worker against the fake Bot API's faults: 429, 403, 400, 5xx, timeout,
migration, and a crash between claiming and sending."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.delivery import outcomes as outbox_writes
from bot.delivery.config import BATCH, LEASE
from bot.delivery.outcomes import MAX_ATTEMPTS
from bot.delivery.pacing import SendPacer
from bot.notices.kinds import NoticeKind
from bot.notices.outbox import enqueue
from db.models import OutboxMessage, User
from tests.support.fake_clock import SkippingClock
from tests.support.harness import Harness
from tests.support.helpers import outbox

CHAT = 3003


async def _queue(harness: Harness, text: str = "hello", chat_id: int = CHAT) -> None:
    async with harness.session() as session, session.begin():
        if await session.get(User, chat_id) is None:
            session.add(User(id=chat_id, first_name="Bo"))
        await enqueue(session, chat_id=chat_id, kind=NoticeKind.REPLY, params={"html": text})


async def _make_due(harness: Harness) -> None:
    """Skip the back-off wait instead of sleeping through it."""
    async with harness.session() as session, session.begin():
        await session.execute(
            update(OutboxMessage).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def test_sends_and_records_message_id(harness: Harness) -> None:
    await _queue(harness, "one")
    await _queue(harness, "two")
    assert await harness.deliver(wait=3) >= 2  # the second waits out the per-chat second
    sent = harness.replies(CHAT)
    assert [m.text for m in sent] == ["one", "two"]
    rows = await outbox(harness, CHAT)
    assert [(r.status, r.telegram_message_id) for r in rows] == [
        ("sent", sent[0].message_id),
        ("sent", sent[1].message_id),
    ]


async def test_server_error_is_retried_with_backoff(harness: Harness) -> None:
    await _queue(harness)
    harness.fake_bot.fail_next("sendMessage", "500")
    await harness.deliver()
    (row,) = await outbox(harness, CHAT)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at > datetime.now(UTC)  # not due again straight away
    assert await harness.deliver() == 0
    await _make_due(harness)
    await harness.deliver(wait=2)
    (row,) = await outbox(harness, CHAT)
    assert row.status == "sent" and len(harness.replies(CHAT)) == 1


async def test_gives_up_after_bounded_attempts(harness: Harness) -> None:
    await _queue(harness)
    harness.fake_bot.fail_next("sendMessage", "500", times=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS):
        await _make_due(harness)
        await harness.deliver(wait=2)
    (row,) = await outbox(harness, CHAT)
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
    assert row.last_error is not None and "gave up" in row.last_error


async def test_retry_after_pauses_without_spending_an_attempt(harness: Harness) -> None:
    await _queue(harness)
    harness.fake_bot.fail_next("sendMessage", "429", retry_after=3)
    await harness.deliver()
    (row,) = await outbox(harness, CHAT)
    assert row.status == "pending" and row.attempts == 0
    assert row.next_attempt_at >= datetime.now(UTC) + timedelta(seconds=2)


async def test_blocked_user_is_marked_and_start_clears_it(harness: Harness) -> None:
    await _queue(harness)
    harness.fake_bot.fail_next("sendMessage", "403")
    await harness.deliver()
    (row,) = await outbox(harness, CHAT)
    assert row.status == "blocked" and row.last_error is not None and "403" in row.last_error
    async with harness.session() as session:
        user = await session.get(User, CHAT)
        assert user is not None and user.blocked_at is not None
    await harness.send_text(CHAT, "/start")
    async with harness.session() as session:
        user = await session.get(User, CHAT)
        assert user is not None and user.blocked_at is None


async def test_chat_not_found_fails_the_row(harness: Harness) -> None:
    await _queue(harness)
    harness.fake_bot.fail_next("sendMessage", "400")
    await harness.deliver()
    (row,) = await outbox(harness, CHAT)
    assert row.status == "failed" and "chat not found" in (row.last_error or "")


async def test_migrated_chat_is_followed(harness: Harness) -> None:
    await _queue(harness, chat_id=-100)
    harness.fake_bot.fail_next("sendMessage", "migrate", migrate_to_chat_id=-100123)
    await harness.deliver(wait=2)
    (row,) = await outbox(harness, -100123)
    assert row.status == "sent"
    assert [m.text for m in harness.replies(-100123)] == ["hello"]


async def test_timeout_is_retried(harness: Harness) -> None:
    await _queue(harness)
    worker = harness.worker(rate=100, send_timeout=1)
    harness.fake_bot.fail_next("sendMessage", "timeout")
    await worker.drain_once()
    (row,) = await outbox(harness, CHAT)
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == "network: Request timeout error"


async def test_crash_after_claim_is_recovered_after_the_lease(harness: Harness) -> None:
    await _queue(harness, "one", chat_id=CHAT)
    await _queue(harness, "two", chat_id=CHAT + 1)
    clock = SkippingClock()
    crashed = harness.worker(rate=100, clock=clock)
    claimed = await crashed._claim()  # claimed and committed, then the process "dies"
    assert claimed is not None and len(claimed.rows) == 2
    restarted = harness.worker(rate=100, clock=clock)
    assert await restarted.drain_once() == 0  # still leased to the dead worker
    clock.skip((LEASE + timedelta(seconds=1)).total_seconds())
    assert await restarted.drain_once() == 2
    assert await restarted.drain_once() == 0
    sent = [(m.chat_id, m.text) for m in harness.fake_bot.sent_messages()]
    assert sorted(sent) == [(CHAT, "one"), (CHAT + 1, "two")]  # each once, nothing twice


async def test_run_loop_delivers_when_woken_and_stops(harness: Harness) -> None:
    worker = harness.parts.worker
    sent = asyncio.Event()
    harness.fake_bot.after_sends(1, sent.set)
    task = asyncio.create_task(worker.run())
    await _queue(harness, "wake")  # its commit wakes the worker: no explicit notify
    # A generous bound: on PostgreSQL the worker first takes the sending turn, on a CI
    # machine busy with two other test processes (two seconds were once not enough).
    await asyncio.wait_for(sent.wait(), 30)
    worker.stop()
    await asyncio.wait_for(task, 5)
    assert [m.text for m in harness.replies(CHAT)] == ["wake"]


async def test_rate_limiter_spaces_sends_and_honours_pause() -> None:
    clock = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock[0] += seconds

    limiter = SendPacer(rate=10, clock=lambda: clock[0], sleep=sleep)
    for _ in range(3):
        await limiter.acquire()
    limiter.pause(5)
    await limiter.acquire()
    assert slept == [0.1, 0.1, 5.0]


async def test_two_workers_share_the_outbox_without_sending_twice(harness: Harness) -> None:
    chats = list(range(9000, 9060))
    for chat in chats:
        await _queue(harness, f"to {chat}", chat_id=chat)
    # Small claims so the two workers interleave (SKIP LOCKED on PostgreSQL, the single
    # writer on SQLite): each row must still go out exactly once.
    workers = [harness.worker(rate=10_000, batch=7) for _ in range(2)]
    claims: list[int] = []
    while True:
        claimed = await asyncio.gather(*(w.drain_once() for w in workers))
        if not sum(claimed):
            break
        claims.extend(claimed)
    assert max(claims) == 7
    sent = sorted(m.chat_id for m in harness.fake_bot.sent_messages())
    assert sent == chats


def test_a_claim_holds_about_two_seconds_of_sends(harness: Harness) -> None:
    """Small claims at Telegram's rates: each is a transaction the webhooks wait behind,
    and each must be sent well within its lease."""

    def batch(rate: float) -> int:
        return harness.worker(rate=rate)._batch

    assert batch(0.2) == 1
    assert batch(25) == 50
    assert batch(1000) == BATCH
    assert batch(25) * (1 / 25) < LEASE.total_seconds() / 10


async def test_only_a_committed_outbox_write_wakes_the_worker(harness: Harness) -> None:
    wakeup = harness.parts.wakeup
    await wakeup.wait(0)  # forget earlier wake-ups
    async with harness.session() as session:
        await session.begin()
        session.add(User(id=CHAT, first_name="Bo"))
        await enqueue(session, chat_id=CHAT, kind=NoticeKind.REPLY, params={"html": "never"})
        await session.rollback()
    started = asyncio.get_running_loop().time()
    await wakeup.wait(0.3)
    assert asyncio.get_running_loop().time() - started >= 0.25  # nothing woke it
    await _queue(harness, "yes")
    started = asyncio.get_running_loop().time()
    await wakeup.wait(5)
    assert asyncio.get_running_loop().time() - started < 1  # woken at once by the commit


async def test_a_lone_send_is_recorded_at_once_not_after_the_linger(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no other request out, nothing can join the group commit: waiting for company
    would only widen the window in which a crash leaves a send unrecorded."""
    monkeypatch.setattr(outbox_writes, "ACK_LINGER", 30.0)
    await _queue(harness, "alone")
    worker = harness.worker(rate=25)
    assert await asyncio.wait_for(worker.drain_once(), 10) == 1  # not 30 s
    [row] = await outbox(harness, CHAT)
    assert row.status == "sent" and row.telegram_message_id is not None
