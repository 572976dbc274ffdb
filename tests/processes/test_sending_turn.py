"""One process at a time sends for the bot (bot.delivery.turn): on PostgreSQL the turn is
an advisory lock; whoever holds it has the whole rate budget and every chat's spacing, the
others stand by and take over when it stops, or when its session ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import func, select, text

from bot.delivery.turn import HANDOVER_WAIT, LOCK_KEY, AdvisoryTurn, OnlySender, sending_turn
from bot.delivery.worker import DeliveryWorker
from db.models import OutboxMessage
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import give_access

# Long tests that mostly wait (processes, hand-overs, outages): started first
# (tests/support/harness.py).
pytestmark = pytest.mark.waits


@pytest.fixture
def postgres(harness: Harness) -> Harness:
    if harness.parts.engine.dialect.name != "postgresql":
        pytest.skip("the sending turn is shared on PostgreSQL; SQLite has one process")
    return harness


class CountingTurn(AdvisoryTurn):
    """The real turn, counting how often it was asked and how often it was this worker's."""

    held = 0
    asked = 0

    async def ours(self) -> bool:
        mine = await super().ours()
        self.asked += 1
        self.held += mine
        return mine


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(worker: DeliveryWorker) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(worker.run())
    try:
        yield task
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)


async def _all_sent(harness: Harness) -> bool:
    async with harness.session() as session:
        left = await session.scalar(select(func.count()).where(OutboxMessage.status != "sent"))
        return left == 0


async def _holder_pid(harness: Harness) -> int | None:
    async with harness.session() as session:
        pid: int | None = await session.scalar(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objid = :low AND classid = :high AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"low": LOCK_KEY & 0xFFFFFFFF, "high": LOCK_KEY >> 32},
        )
        return pid


def _received(harness: Harness, chats: list[int]) -> dict[int, int]:
    counts = Counter(m.chat_id for m in harness.fake_bot.sent_messages())
    return {chat: counts[chat] for chat in chats}


def test_sqlite_has_one_sender_and_postgresql_shares_the_turn(harness: Harness) -> None:
    turn = sending_turn(harness.parts.engine)
    expected = OnlySender if harness.parts.engine.dialect.name == "sqlite" else AdvisoryTurn
    assert type(turn) is expected


async def test_one_process_at_a_time_has_the_turn(postgres: Harness) -> None:
    first, second = AdvisoryTurn(postgres.parts.engine), AdvisoryTurn(postgres.parts.engine)
    try:
        assert not await first.ours()  # taken, but the last holder's second is waited out
        assert not await second.ours()
        await _until(first.ours)
        await asyncio.sleep(HANDOVER_WAIT)  # past the wait, a refusal means another has it
        assert not await second.ours()
        assert await first.ours()  # still its own
        await first.give_up()
        await _until(second.ours)
        assert not await first.ours()
    finally:
        await first.give_up()
        await second.give_up()


async def test_a_holder_whose_session_ends_loses_the_turn_to_another(
    postgres: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = AdvisoryTurn(postgres.parts.engine), AdvisoryTurn(postgres.parts.engine)
    try:
        await _until(first.ours)
        await asyncio.sleep(HANDOVER_WAIT)
        assert not await second.ours()  # refused while the holder's session lives
        pid = await _holder_pid(postgres)
        assert pid is not None
        async with postgres.session() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await _until(second.ours)  # freed as soon as PostgreSQL has ended that session
        with caplog.at_level(logging.WARNING):
            assert not await first.ours()
        assert "the sending turn is lost" in caplog.text
        assert "Traceback" not in caplog.text
    finally:
        await first.give_up()
        await second.give_up()


async def test_two_running_workers_send_from_one_and_hand_over_on_stop(
    postgres: Harness,
) -> None:
    chats = list(range(9400, 9420))
    await give_access(postgres, *chats)
    for number in range(3):
        await postgres.send_text(ADMIN_ID, f"/broadcast Update {number}")
    postgres.fake_bot.clear()
    # Telegram's one message a second per chat, as Telegram enforces it.
    postgres.fake_bot.per_chat_rate = 1
    turns = [CountingTurn(postgres.parts.engine) for _ in range(2)]
    workers = [postgres.worker(rate=200, batch=7, turn=turn) for turn in turns]
    async with running(workers[0]) as first, running(workers[1]):
        await _until(lambda: _all_sent(postgres))
        # One process sent all of it: the other never had the turn. (Not "no 429": Telegram
        # counts a chat's second at arrival, and on a loaded machine two sends a second
        # apart can arrive closer; a 429 is retried, and each message still goes once.)
        assert sorted(turn.held > 0 for turn in turns) == [False, True]
        assert _received(postgres, chats) == dict.fromkeys(chats, 3)

        holder = 0 if turns[0].held else 1
        workers[holder].stop()
        if holder == 0:
            await asyncio.wait_for(first, 30)
        await postgres.send_text(ADMIN_ID, "/broadcast After the hand-over")
        await _until(lambda: _all_sent(postgres))
        assert turns[1 - holder].held > 0
    assert _received(postgres, chats) == dict.fromkeys(chats, 4)


async def test_a_new_holder_starts_from_the_rate_the_last_one_learnt(postgres: Harness) -> None:
    """DELIVERY_RATE=auto learns once for every process: the holder's lesson (a 429) is
    where the process that takes the turn from it starts."""
    chats = list(range(9600, 9606))
    await give_access(postgres, *chats)
    await postgres.send_text(ADMIN_ID, "/broadcast Before the hand-over")
    postgres.fake_bot.fail_next("sendMessage", "429")
    first = postgres.worker(rate="auto", turn=CountingTurn(postgres.parts.engine))
    second = postgres.worker(rate="auto", turn=CountingTurn(postgres.parts.engine))
    async with running(first) as first_task:
        await _until(lambda: _all_sent(postgres))
        learnt = first.pacer.learnt
        assert learnt is not None
        async with running(second):  # stands by while the first holds the turn
            first.stop()
            await asyncio.wait_for(first_task, 30)
            await postgres.send_text(ADMIN_ID, "/broadcast After the hand-over")
            await _until(lambda: _all_sent(postgres))
            assert second.pacer.learnt == learnt
    assert _received(postgres, chats) == dict.fromkeys(chats, 2)


async def _leased(harness: Harness) -> int:
    async with harness.session() as session:
        leased = await session.scalar(
            select(func.count()).where(
                OutboxMessage.status == "pending", OutboxMessage.lease_until.is_not(None)
            )
        )
        return int(leased or 0)


async def test_a_holder_that_loses_its_session_mid_batch_stops_and_gives_the_rest_back(
    postgres: Harness,
) -> None:
    chats = list(range(9500, 9590))
    await give_access(postgres, *chats)
    await postgres.send_text(ADMIN_ID, "/broadcast Markets open")
    postgres.fake_bot.clear()
    turn = CountingTurn(postgres.parts.engine)
    # One claim of all 90 (two seconds at 45/s): without asking again mid-batch, the old
    # holder would send every one of them after losing the turn.
    worker = postgres.worker(rate=45, turn=turn)
    other = AdvisoryTurn(postgres.parts.engine)  # another process, standing by
    try:
        async with running(worker):
            await _until(lambda: _received_at_least(postgres, 5))
            pid = await _holder_pid(postgres)
            assert pid is not None
            async with postgres.session() as session:
                await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await _until(other.ours)  # the other process has the turn now
            # The old holder notices within CHECK_EVERY, stops, and gives back the rest.
            await _until(lambda: _no_leases(postgres))
            sent = len(postgres.fake_bot.sent_messages())
            asked = turn.asked
            await _until(lambda: _asked_since(turn, asked, 2))  # it stood by, twice
            assert len(postgres.fake_bot.sent_messages()) == sent < len(chats)
        await other.give_up()
        async with running(postgres.worker(rate=200, turn=AdvisoryTurn(postgres.parts.engine))):
            await _until(lambda: _all_sent(postgres))
    finally:
        await other.give_up()
    assert _received(postgres, chats) == dict.fromkeys(chats, 1)


async def _received_at_least(harness: Harness, count: int) -> bool:
    return len(harness.fake_bot.sent_messages()) >= count


async def _no_leases(harness: Harness) -> bool:
    return await _leased(harness) == 0


async def _asked_since(turn: CountingTurn, before: int, times: int) -> bool:
    return turn.asked >= before + times
