"""Tampering with the stored record (issue 28), on both databases: one row of
record_entries changed by hand in each way (its content edited, its time edited, the row
deleted, two rows' seq swapped, its time back-dated), and `python -m bot verify-record`
run on the record the application then serves, over real HTTP: each is named, exit 1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import verify_record
from db.models import RecordEntry
from tests.support.harness import Harness
from tests.support.helpers import post_signal_update, publish_signal

Tamper = Callable[[AsyncSession], Awaitable[None]]


async def _entry(session: AsyncSession, seq: int) -> RecordEntry:
    row = await session.get(RecordEntry, seq)
    assert row is not None
    return row


async def edit_content(session: AsyncSession) -> None:
    """A revealed signal's stop moved: the levels the record shows are not those sealed."""
    row = await _entry(session, 1)
    assert '"stop_loss":"63500.25"' in row.content
    changed = row.content.replace('"stop_loss":"63500.25"', '"stop_loss":"64000"')
    await session.execute(update(RecordEntry).where(RecordEntry.seq == 1).values(content=changed))


async def edit_commitment(session: AsyncSession) -> None:
    """A sealed signal's commitment replaced (to reveal other levels later)."""
    await session.execute(
        update(RecordEntry).where(RecordEntry.seq == 2).values(commitment="0" * 64)
    )


async def edit_time(session: AsyncSession) -> None:
    """A sealed entry's time moved a little later."""
    row = await _entry(session, 2)
    later = row.at + timedelta(milliseconds=1)
    await session.execute(update(RecordEntry).where(RecordEntry.seq == 2).values(at=later))


async def delete_row(session: AsyncSession) -> None:
    """The losing signal's stop-out removed."""
    await session.execute(delete(RecordEntry).where(RecordEntry.seq == 4))


async def swap_seq(session: AsyncSession) -> None:
    """Two entries' order exchanged (through a free number: seq is unique)."""
    for old, new in ((2, 100), (3, 2), (100, 3)):
        await session.execute(update(RecordEntry).where(RecordEntry.seq == old).values(seq=new))


async def back_date(session: AsyncSession) -> None:
    """The stop-out dated before the signal it closes."""
    first = await _entry(session, 1)
    earlier = first.at - timedelta(hours=1)
    await session.execute(update(RecordEntry).where(RecordEntry.seq == 4).values(at=earlier))


# Each way, and lines verify-record must print for it (each line holds all its words).
CASES: dict[str, tuple[Tamper, list[str]]] = {
    "edit content": (
        edit_content,
        ["entry 1 (seq 1): its revealed content and salt do not hash to its commitment"],
    ),
    "edit commitment": (
        edit_commitment,
        ["entry 2 (seq 2): its hash does not match its fields: the entry was changed"],
    ),
    "edit time": (
        edit_time,
        ["entry 2 (seq 2): its hash does not match its fields: the entry was changed"],
    ),
    "delete": (
        delete_row,
        [
            "entry 4 (seq 5): seq 5 follows seq 3: an entry is missing",
            "entry 4 (seq 5): prev is not the hash of the entry before it",
        ],
    ),
    "reorder": (
        swap_seq,
        [
            "entry 2 (seq 2): prev is not the hash of the entry before it",
            "entry 2 (seq 2): its hash does not match its fields",
            "entry 3 (seq 3): its hash does not match its fields",
            "entry 4 (seq 4): prev is not the hash of the entry before it",
        ],
    ),
    "back-date": (
        back_date,
        [
            "entry 4 (seq 4): its hash does not match its fields",
            "entry 4 (seq 4): its time",
            "is before the entry before it",
            "entry 4 (seq 4): its revealed content says at",
        ],
    ),
}


async def _the_record(harness: Harness) -> None:
    """Five entries: 1 signal A, 2 signal B (open, sealed), 3 A's tp1, 4 A stopped out
    (A revealed), 5 signal C (open)."""
    a = await publish_signal(harness, "BTCUSDT long entry 65000.5 sl 63500.25 tp 67000 69000")
    await publish_signal(harness, "ETHUSDT short entry 3400.5 sl 3520.5 tp 3300 3200")
    await post_signal_update(harness, a, "tp1")
    await post_signal_update(harness, a, "sl")
    await publish_signal(harness, "SOLUSDT long entry 150.5 sl 140.5 tp 170 180")


async def _verify(harness: Harness, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = await asyncio.to_thread(verify_record.run, harness.base_url + "/track-record.json")
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out


@pytest.mark.parametrize("way", list(CASES))
async def test_each_way_of_tampering_is_caught(
    harness: Harness, capsys: pytest.CaptureFixture[str], way: str
) -> None:
    await _the_record(harness)
    status, out = await _verify(harness, capsys)
    assert status == 0 and out.startswith("valid: 5 entries (3 revealed), head 5 "), out
    tamper, expected = CASES[way]
    async with harness.session() as session, session.begin():
        await tamper(session)
    status, out = await _verify(harness, capsys)
    assert status == 1, out
    lines = out.splitlines()
    counted = "4 entries (2 revealed)" if way == "delete" else "5 entries (3 revealed)"
    assert lines[-1].startswith("INVALID: ") and lines[-1].endswith(f" in {counted}")
    for needle in expected:
        assert any(needle in line for line in lines[:-1]), (needle, lines)


async def test_an_untouched_record_holds_a_head_published_earlier(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """--head: the daily post's entry and hash, held against the record served later.
    Rewriting the chain from an entry on (every hash recomputed) passes every other check,
    not this one."""
    await _the_record(harness)
    async with harness.session() as session:
        head = await session.scalar(select(RecordEntry.hash).where(RecordEntry.seq == 3))
    url = harness.base_url + "/track-record.json"
    status = await asyncio.to_thread(verify_record.run, url, head=f"3:{head}")
    assert status == 0, capsys.readouterr()
    capsys.readouterr()
    status = await asyncio.to_thread(verify_record.run, url, head=f"3:{'ab' * 32}")
    out = capsys.readouterr().out
    assert status == 1 and "the chain does not hold entry 3 with hash abab" in out
