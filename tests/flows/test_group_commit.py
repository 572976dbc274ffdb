"""GroupCommit: units of work sharing a transaction, each acknowledged only once stored."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.transactions import group_commit
from bot.transactions.group_commit import GroupCommit, ShutDownError
from db.models import ProcessedStripeEvent
from tests.support.harness import Harness


def _unit(event_id: str, *, fail: bool = False) -> Callable[[AsyncSession], Awaitable[str]]:
    async def work(session: AsyncSession) -> str:
        await session.execute(
            insert(ProcessedStripeEvent).values(event_id=event_id, type="test", created=1)
        )
        if fail:
            raise RuntimeError(f"{event_id} is broken")
        return event_id

    return work


async def _stored(harness: Harness) -> set[str]:
    async with harness.session() as session:
        return set(await session.scalars(select(ProcessedStripeEvent.event_id)))


def _count_commits(harness: Harness) -> list[int]:
    commits: list[int] = []
    engine = harness.parts.engine.sync_engine

    @event.listens_for(engine, "commit")
    def _on_commit(_conn: object) -> None:
        commits.append(1)

    return commits


def _shut_down(group: GroupCommit) -> None:
    """As the loop's shutdown does: cancel the runners (a private look, for these tests)."""
    runners = list(group._batches)
    assert runners
    for runner in runners:
        runner.cancel()


async def test_units_waiting_together_share_one_commit(harness: Harness) -> None:
    commits = _count_commits(harness)
    group = GroupCommit(harness.parts.session_factory)
    results = await asyncio.gather(*(group.run(_unit(f"evt_{i}")) for i in range(10)))
    assert results == [f"evt_{i}" for i in range(10)]  # each caller gets its own result
    assert await _stored(harness) == {f"evt_{i}" for i in range(10)}
    assert len(commits) == 1


async def test_batches_are_capped(harness: Harness) -> None:
    commits = _count_commits(harness)
    group = GroupCommit(harness.parts.session_factory, max_batch=4)
    await asyncio.gather(*(group.run(_unit(f"evt_{i}")) for i in range(10)))
    assert len(commits) == 3  # 4 + 4 + 2
    assert len(await _stored(harness)) == 10


async def test_a_failing_unit_fails_alone_and_the_others_are_stored(harness: Harness) -> None:
    group = GroupCommit(harness.parts.session_factory)
    results = await asyncio.gather(
        *(group.run(_unit(f"evt_{i}", fail=i == 3)) for i in range(6)), return_exceptions=True
    )
    assert isinstance(results[3], RuntimeError) and "evt_3 is broken" in str(results[3])
    assert [r for i, r in enumerate(results) if i != 3] == ["evt_0", "evt_1", "evt_2"] + [
        "evt_4",
        "evt_5",
    ]
    assert await _stored(harness) == {"evt_0", "evt_1", "evt_2", "evt_4", "evt_5"}


async def test_a_lone_failing_unit_changes_nothing(harness: Harness) -> None:
    group = GroupCommit(harness.parts.session_factory)
    with pytest.raises(RuntimeError):
        await group.run(_unit("evt_bad", fail=True))
    assert await _stored(harness) == set()


async def test_the_result_arrives_only_after_the_commit(harness: Harness) -> None:
    """The order itself, not what another session sees: on SQLite another session waits
    for the one connection until the batch commits, so it would see the row even if the
    result had been handed back before the COMMIT."""
    group = GroupCommit(harness.parts.session_factory)
    order: list[str] = []

    def committed(_session: Session) -> None:
        order.append("commit")

    event.listen(Session, "after_commit", committed)
    try:
        await group.run(_unit("evt_1"))
        order.append("result")
    finally:
        event.remove(Session, "after_commit", committed)
    assert order == ["commit", "result"]
    assert await _stored(harness) == {"evt_1"}


async def test_a_caller_that_goes_away_does_not_stop_the_others(harness: Harness) -> None:
    group = GroupCommit(harness.parts.session_factory)
    gone = asyncio.create_task(group.run(_unit("evt_gone")))
    stays = asyncio.create_task(group.run(_unit("evt_stays")))
    await asyncio.sleep(0)
    gone.cancel()
    assert await stays == "evt_stays"
    # The cancelled caller's unit was already in the batch; it is stored all the same,
    # and Stripe's retry of it would be answered as a duplicate.
    assert "evt_stays" in await _stored(harness)


async def test_shutting_down_fails_the_waiting_callers_instead_of_leaving_them_hanging(
    harness: Harness,
) -> None:
    group = GroupCommit(harness.parts.session_factory)
    waiting = [asyncio.create_task(group.run(_unit(f"evt_{i}"))) for i in range(3)]
    await asyncio.sleep(0)  # queued, and the runner scheduled
    _shut_down(group)
    results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 5)
    assert all(isinstance(r, ShutDownError) for r in results)  # a webhook answers 500
    assert await _stored(harness) == set()


async def test_shutting_down_mid_batch_fails_it_and_stores_none_of_it(harness: Harness) -> None:
    group = GroupCommit(harness.parts.session_factory)
    started = asyncio.Event()

    async def slow(session: AsyncSession) -> str:
        await session.execute(
            insert(ProcessedStripeEvent).values(event_id="evt_slow", type="test", created=1)
        )
        started.set()
        await asyncio.sleep(30)
        return "never"

    caller = asyncio.create_task(group.run(slow))
    await asyncio.wait_for(started.wait(), 5)
    later = asyncio.create_task(group.run(_unit("evt_later")))  # queued behind the batch
    await asyncio.sleep(0)
    _shut_down(group)
    results = await asyncio.wait_for(asyncio.gather(caller, later, return_exceptions=True), 5)
    assert all(isinstance(r, ShutDownError) for r in results)
    assert await _stored(harness) == set()


async def _batch_failing_before_a_slow_unit(group: GroupCommit) -> list[asyncio.Task[str]]:
    """Queue evt_a, a failing unit, a slow one and evt_b as one batch; return once the
    slow one runs, which it does only alone: the batch failed at evt_bad before it."""
    rerun = asyncio.Event()

    async def slow(session: AsyncSession) -> str:
        rerun.set()
        await asyncio.sleep(30)
        return "slow"

    callers = [
        asyncio.create_task(group.run(work))
        for work in (_unit("evt_a"), _unit("evt_bad", fail=True), slow, _unit("evt_b"))
    ]
    await asyncio.wait_for(rerun.wait(), 5)
    return callers


async def test_shutting_down_while_rerunning_a_failed_batch_answers_everyone(
    harness: Harness,
) -> None:
    group = GroupCommit(harness.parts.session_factory)
    callers = await _batch_failing_before_a_slow_unit(group)
    _shut_down(group)
    results = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), 5)
    assert results[0] == "evt_a"  # re-run alone and stored before the shutdown
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], ShutDownError) and isinstance(results[3], ShutDownError)
    assert await _stored(harness) == {"evt_a"}


async def test_a_batch_that_meets_a_held_lock_gives_up_and_runs_unit_by_unit(
    harness: Harness,
) -> None:
    """PostgreSQL, another instance's transaction holding a row the batch needs: the batch
    waits only lock_timeout_ms, then each unit runs alone and at once, so the units that
    do not need that row, before and after it, are stored while the one that does waits
    (without the timeout the whole batch would wait, and with another instance waiting on
    the batch, for deadlock_timeout)."""
    if harness.parts.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: no other transaction can hold a row")
    async with harness.session() as session, session.begin():
        session.add(ProcessedStripeEvent(event_id="evt_held", type="test", created=1))

    async def touch_held(session: AsyncSession) -> str:
        await session.execute(
            update(ProcessedStripeEvent)
            .where(ProcessedStripeEvent.event_id == "evt_held")
            .values(created=2)
        )
        return "evt_held"

    group = GroupCommit(harness.parts.session_factory, lock_timeout_ms=20)
    async with harness.parts.engine.connect() as other:
        await other.execute(
            select(ProcessedStripeEvent)
            .where(ProcessedStripeEvent.event_id == "evt_held")
            .with_for_update()
        )  # held until `other` ends its transaction
        results = asyncio.gather(
            group.run(_unit("evt_before")), group.run(touch_held), group.run(_unit("evt_after"))
        )
        for _ in range(500):  # stored on their own, the lock still held
            if {"evt_before", "evt_after"} <= await _stored(harness):
                break
            await asyncio.sleep(0.02)
        assert {"evt_before", "evt_after"} <= await _stored(harness)
        assert not results.done()
        await other.rollback()
    assert list(await results) == ["evt_before", "evt_held", "evt_after"]
    assert await _stored(harness) == {"evt_held", "evt_before", "evt_after"}


async def test_with_two_lanes_a_batch_commits_while_another_is_still_running(
    harness: Harness,
) -> None:
    """PostgreSQL: one batch runs its statements while another waits on its own work (or
    its COMMIT), each in its own transaction."""
    if harness.parts.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one connection: one transaction at a time")
    release = asyncio.Event()

    async def slow(session: AsyncSession) -> str:
        await _unit("evt_slow")(session)
        await release.wait()
        return "evt_slow"

    group = GroupCommit(harness.parts.session_factory, max_batch=1, lanes=2)
    first = asyncio.create_task(group.run(slow))
    await asyncio.sleep(0)
    assert await asyncio.wait_for(group.run(_unit("evt_quick")), 10) == "evt_quick"
    assert await _stored(harness) == {"evt_quick"}  # the slow batch has not committed
    release.set()
    assert await first == "evt_slow"
    assert await _stored(harness) == {"evt_quick", "evt_slow"}


async def test_a_unit_queued_right_after_the_last_batch_ended_is_run(harness: Harness) -> None:
    """The caller of the last batch resumes before that lane's done callback has run: a
    unit it queues then must start a lane of its own, not wait for one that has ended."""
    group = GroupCommit(harness.parts.session_factory)
    assert await group.run(_unit("evt_first")) == "evt_first"
    async with asyncio.timeout(5):  # run() called in this task at once (wait_for would not)
        assert await group.run(_unit("evt_next")) == "evt_next"
    assert await _stored(harness) == {"evt_first", "evt_next"}


async def test_shutting_down_while_rerunning_at_once_answers_everyone(harness: Harness) -> None:
    """PostgreSQL (a lock timeout set): a failed batch's units re-run at once; a shutdown
    then fails the one still running and leaves the others as they were answered."""
    if harness.parts.engine.dialect.name != "postgresql":
        pytest.skip("SQLite re-runs one by one (one connection)")
    group = GroupCommit(harness.parts.session_factory, lock_timeout_ms=20)
    callers = await _batch_failing_before_a_slow_unit(group)
    # The others, re-run beside the slow one, are answered meanwhile (the failing one too:
    # waiting only for the two stored let a loaded machine shut down before its re-run).
    others = [callers[0], callers[1], callers[3]]
    await asyncio.wait_for(asyncio.wait(others), 5)
    _shut_down(group)
    results = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), 5)
    assert results[0] == "evt_a" and results[3] == "evt_b"
    assert isinstance(results[1], RuntimeError) and isinstance(results[2], ShutDownError)
    assert await _stored(harness) == {"evt_a", "evt_b"}


# --- PostgreSQL: a lane keeps its connection while it has work -----------------------------


async def _backend(session: AsyncSession) -> int:
    pid = await session.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


def _postgres_only(harness: Harness) -> None:
    if harness.parts.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's lanes keep a connection; SQLite's pool has one anyway")


async def test_a_lane_keeps_its_connection_between_batches(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No checkout (and its liveness ping) for each batch: batch after batch on one
    connection, given back to the pool when the group closes."""
    _postgres_only(harness)
    monkeypatch.setattr(group_commit, "KEEP_CONNECTION_IDLE", 60.0)  # close() must not wait
    pool = harness.parts.engine.sync_engine.pool
    idle_before = pool.checkedout()  # type: ignore[attr-defined]
    group = GroupCommit(harness.parts.session_factory, lock_timeout_ms=20)
    first = await group.run(_backend)
    assert await group.run(_backend) == first
    assert pool.checkedout() == idle_before + 1  # type: ignore[attr-defined]
    async with asyncio.timeout(10):
        await group.close()
    assert pool.checkedout() == idle_before  # type: ignore[attr-defined]


async def test_a_lane_drops_its_connection_after_a_failure(harness: Harness) -> None:
    _postgres_only(harness)
    group = GroupCommit(harness.parts.session_factory, lock_timeout_ms=20)
    first = await group.run(_backend)
    with pytest.raises(RuntimeError):
        await group.run(_unit("evt_broken", fail=True))
    assert await group.run(_backend) != first  # the failure may have been the connection's
    await group.close()


async def test_a_unit_queued_while_a_lane_gives_its_connection_back_is_run(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane has ended its batches and is giving its connection back: a unit queued
    then sees it running and starts no lane of its own, so that lane must take it."""
    _postgres_only(harness)
    monkeypatch.setattr(group_commit, "KEEP_CONNECTION_IDLE", 0.0)
    give_back = group_commit._HeldConnection.release
    releasing, proceed = asyncio.Event(), asyncio.Event()

    async def slowly(held: group_commit._HeldConnection) -> None:
        releasing.set()
        await proceed.wait()
        await give_back(held)

    monkeypatch.setattr(group_commit._HeldConnection, "release", slowly)
    group = GroupCommit(harness.parts.session_factory, lock_timeout_ms=20)
    assert await group.run(_unit("evt_first")) == "evt_first"
    await releasing.wait()
    second = asyncio.create_task(group.run(_unit("evt_second")))
    await asyncio.sleep(0)  # queued while the lane gives its connection back
    proceed.set()
    async with asyncio.timeout(5):
        assert await second == "evt_second"
    await group.close()
    assert await _stored(harness) == {"evt_first", "evt_second"}
