"""The verifiable record's reveal after a delay (RECORD_REVEAL_HOURS, issue 28), on both
databases: a signal published longer ago than the delay is revealed by the job (its entry
and its updates'), one published since stays sealed, an update to a revealed signal is
revealed at once, the job run again changes nothing, two runs at once on PostgreSQL
reveal each entry once, and the served record stays valid for `verify-record`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.signals import record_reveal, service
from bot.signals.record_chain import commitment
from bot.signals.syntax import parse_signal
from bot.transactions.unit_of_work import UnitOfWork
from db.models import RecordEntry
from tests.flows.test_record_chain import _someone_waits_for_a_lock, page, record, verify
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import post_signal_update

HOURS = 24
# Three targets each: a second take-profit does not close either signal.
DUE = "BTCUSDT long entry 65000.5 sl 63500.25 tp 67000.75 69000.5 71000.5 lev 5 note due by now"
NOT_DUE = "ETHUSDT short entry 3400.5 sl 3520.5 tp 3300.5 3200.5 3100.5 note not yet"
NOT_DUE_LEVELS = ("3400.5", "3520.5", "3300.5", "3200.5", "3100.5", "not yet")


async def _publish(harness: Harness, line: str, at: datetime) -> int:
    async with harness.session() as session, session.begin():
        draft = await service.create_draft(session, parse_signal(line), ADMIN_ID)
        await service.publish(session, draft.id, at)
        return draft.id


async def _revealed(harness: Harness) -> dict[int, datetime | None]:
    async with harness.session() as session:
        rows = await session.execute(select(RecordEntry.seq, RecordEntry.revealed_at))
        return {seq: at for seq, at in rows.all()}


async def _two_signals(harness: Harness, now: datetime) -> tuple[int, int]:
    """One published a minute past the delay, one an hour before it ends, each with a
    take-profit hit (an update to reveal with it, or to keep sealed)."""
    due = await _publish(harness, DUE, now - timedelta(hours=HOURS, minutes=1))
    not_due = await _publish(harness, NOT_DUE, now - timedelta(hours=HOURS - 1))
    await post_signal_update(harness, due, "tp1")
    await post_signal_update(harness, not_due, "tp1")
    return due, not_due


async def test_the_job_reveals_the_due_signal_and_its_updates_only(
    make_harness: MakeHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = await make_harness(record_reveal_hours=HOURS)
    now = datetime.now(UTC)
    due, not_due = await _two_signals(harness, now)
    job = record_reveal.due(UnitOfWork(harness.parts.session_factory), HOURS)
    before, _, _ = await record(harness)
    assert all(entry["reveal"] is None for entry in before["entries"])

    assert await job(now) == f"2 entries revealed after {HOURS} h"
    document, text, _ = await record(harness)
    entries = document["entries"]
    assert [(e["signal"], e["reveal"] is not None) for e in entries] == [
        (due, True),
        (not_due, False),
        (due, True),
        (not_due, False),
    ]
    for entry in entries:
        if entry["reveal"]:
            content, salt = entry["reveal"]["content"], entry["reveal"]["salt"]
            assert commitment(content, salt) == entry["commitment"]
    assert entries[0]["reveal"]["content"]["stop_loss"] == "63500.25"
    # Revealed while open: the outcome is its status and latest result, not a close.
    outcome = entries[0]["outcome"]
    assert (outcome["status"], outcome["closed_at"], outcome["exit_price"]) == (
        "tp1",
        None,
        "67000.75",
    )
    body = await page(harness)
    assert "A signal still open 24 hours after it was posted is revealed then." in body
    assert body.count("· revealed</li>") == 2 and body.count("· sealed</li>") == 2
    for level in NOT_DUE_LEVELS:
        assert level not in text and level not in body
    status, lines = await verify(harness, capsys)
    assert status == 0 and lines[-1].startswith("valid: 4 entries (2 revealed), head 4 "), lines

    # Run again (a second pass, or a restart): nothing more, nothing changed.
    revealed = await _revealed(harness)
    assert await job(now + timedelta(minutes=1)) == "none due"
    assert await _revealed(harness) == revealed

    # An update to the revealed signal is revealed with it (a take-profit that does not
    # close it); the other's stays sealed.
    await post_signal_update(harness, due, "tp2")
    await post_signal_update(harness, not_due, "tp2")
    document, text, _ = await record(harness)
    assert [e["reveal"] is not None for e in document["entries"][4:]] == [True, False]
    for level in NOT_DUE_LEVELS:
        assert level not in text

    # An hour later the other one comes due too.
    assert await job(now + timedelta(hours=1)) == f"3 entries revealed after {HOURS} h"
    document, _, _ = await record(harness)
    assert all(entry["reveal"] is not None for entry in document["entries"])
    status, lines = await verify(harness, capsys)
    assert status == 0 and lines[-1].startswith("valid: 6 entries (6 revealed)"), lines


async def test_without_the_setting_open_signals_stay_sealed(make_harness: MakeHarness) -> None:
    """Unset: no job, and a year-old open signal is as sealed as a new one."""
    harness = await make_harness()
    assert record_reveal.JOB not in [job.name for job in harness.parts.scheduler._jobs]
    await _publish(harness, DUE, datetime.now(UTC) - timedelta(days=365))
    body = await page(harness)
    assert "· sealed</li>" in body and "is revealed then" not in body
    await harness.parts.scheduler.run_due()
    document, _, _ = await record(harness)
    assert [entry["reveal"] for entry in document["entries"]] == [None]


async def test_the_scheduler_runs_the_job_when_the_setting_is_set(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(record_reveal_hours=1)
    assert record_reveal.JOB in [job.name for job in harness.parts.scheduler._jobs]
    await _publish(harness, DUE, datetime.now(UTC) - timedelta(hours=2))
    assert record_reveal.JOB in await harness.parts.scheduler.run_due()
    document, _, _ = await record(harness)
    assert document["entries"][0]["reveal"]["content"]["note"] == "due by now"


async def test_two_runs_at_once_reveal_each_entry_once(harness: Harness) -> None:
    """PostgreSQL, two processes: the second run waits for the first's row locks, then
    finds those entries revealed (it neither counts them nor moves their time)."""
    if harness.parts.engine.dialect.name != "postgresql":
        pytest.skip("one process, one writer on SQLite")
    now = datetime.now(UTC)
    await _two_signals(harness, now)
    later = now + timedelta(seconds=30)
    async with harness.session() as first, first.begin():
        assert await record_reveal.reveal_due(first, hours=HOURS, now=now) == 2

        async def second() -> int:
            async with harness.session() as session, session.begin():
                return await record_reveal.reveal_due(session, hours=HOURS, now=later)

        other = asyncio.create_task(second())
        await _someone_waits_for_a_lock(harness)
        assert not other.done()
    assert await other == 0
    assert sorted(at for at in (await _revealed(harness)).values() if at) == [now, now]
