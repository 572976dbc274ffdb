"""The verifiable record (issue 28) in the running application, on both databases: a
published signal is committed at once (number, time, commitment on the page and in
/track-record.json, no level), its close reveals it and its updates (each commitment
recomputes), `python -m bot verify-record` holds the served record valid over real HTTP,
two instances publishing at once append without a fork, and the head goes to a chat once
a day."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.cli import verify_record
from bot.lifecycle.scheduler import Job, Scheduler
from bot.signals import record_head, service
from bot.signals.posting_limit import PostingLimitError
from bot.signals.record_chain import GENESIS, commitment, plain_decimal, time_text
from bot.signals.syntax import parse_signal
from bot.transactions.unit_of_work import UnitOfWork
from db.models import OutboxMessage, RecordEntry, Signal
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import post_signal_update, publish_signal

# Levels with a point in them: a 64-digit hash cannot hold one, so a leak is a leak.
LINE = "BTCUSDT long entry 65000.5 sl 63500.25 tp 67000.75 69000.5 lev 5 note sealed until then"
LEVELS = ("65000.5", "63500.25", "67000.75", "69000.5", "sealed until then")
CHANNEL = -1001234567890


async def record(harness: Harness) -> tuple[dict[str, Any], str, dict[str, str]]:
    async with harness.http.get(harness.base_url + "/track-record.json") as response:
        assert response.status == 200
        text = await response.text()
        return json.loads(text), text, dict(response.headers)


async def page(harness: Harness) -> str:
    async with harness.http.get(harness.base_url + "/track-record") as response:
        assert response.status == 200
        return await response.text()


async def verify(harness: Harness, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """`python -m bot verify-record URL` on the harness's record, over real HTTP (in a
    thread: the command runs its own event loop)."""
    url = harness.base_url + "/track-record.json"
    status = await asyncio.to_thread(verify_record.run, url)
    return status, capsys.readouterr().out.splitlines()


async def test_a_published_signal_is_committed_at_once_without_its_levels(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    signal_id = await publish_signal(harness, LINE)
    document, text, headers = await record(harness)
    assert headers["Cache-Control"] == "public, max-age=60"
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert document["format"] == "signaldesk-record/1" and document["brand"] == "SignalDesk"
    [entry] = document["entries"]
    async with harness.session() as session:
        published = await session.scalar(select(Signal.published_at))
    assert published is not None
    assert entry["seq"] == 1 and entry["type"] == "signal" and entry["signal"] == signal_id
    assert entry["at"] == time_text(published) and entry["prev"] == GENESIS
    assert len(entry["commitment"]) == 64 and entry["reveal"] is None
    assert entry["outcome"] is None
    assert document["head"] == {"seq": 1, "hash": entry["hash"]}
    body = await page(harness)
    assert entry["commitment"] in body and entry["hash"] in body
    assert f"signal #{signal_id}" in body and 'href="/track-record.json"' in body
    assert "· sealed</li>" in body
    for level in LEVELS:
        assert level not in text and level not in body
    status, lines = await verify(harness, capsys)
    assert status == 0 and lines == [f"valid: 1 entries (0 revealed), head 1 {entry['hash']}"]


async def test_closing_reveals_the_signal_and_its_updates(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = await publish_signal(harness, LINE)
    still_open = await publish_signal(
        harness, "ETHUSDT short entry 3400.5 sl 3520.5 tp 3300.5 3200.5"
    )
    await post_signal_update(harness, closed, "tp1")
    await post_signal_update(harness, still_open, "tp1")  # "tp1 hit at 3300.5": sealed too
    await post_signal_update(harness, closed, "sl")
    document, text, _ = await record(harness)
    entries = document["entries"]
    assert [(e["type"], e["signal"]) for e in entries] == [
        ("signal", closed),
        ("signal", still_open),
        ("update", closed),
        ("update", still_open),
        ("update", closed),
    ]
    assert [e["reveal"] is not None for e in entries] == [True, False, True, False, True]
    for entry in entries:
        if entry["reveal"]:
            content, salt = entry["reveal"]["content"], entry["reveal"]["salt"]
            assert commitment(content, salt) == entry["commitment"]
            assert (content["signal"], content["at"]) == (closed, entry["at"])
    levels = entries[0]["reveal"]["content"]
    assert (levels["stop_loss"], levels["take_profits"]) == ("63500.25", ["67000.75", "69000.5"])
    assert (levels["note"], levels["leverage"], levels["side"]) == (
        "sealed until then",
        "5",
        "long",
    )
    tp1 = entries[2]["reveal"]["content"]
    assert (tp1["kind"], tp1["price"], tp1["status"]) == ("tp1", "67000.75", "tp1")
    async with harness.session() as session:
        result_pct = await session.scalar(select(Signal.result_pct).where(Signal.id == closed))
    assert entries[0]["outcome"] == {
        "status": "stopped",
        "closed_at": entries[4]["at"],
        "exit_price": "63500.25",
        "result_pct": plain_decimal(result_pct),
        "result_r": "-1",
    }
    for leak in ("3520.5", "3300.5", "3200.5"):
        assert leak not in text  # the open signal and its update stay sealed
    status, lines = await verify(harness, capsys)
    assert status == 0 and lines[-1].startswith("valid: 5 entries (3 revealed), head 5 ")


async def test_cancelling_reveals_too(harness: Harness) -> None:
    signal_id = await publish_signal(harness, LINE)
    await post_signal_update(harness, signal_id, "cancel")
    document, _, _ = await record(harness)
    assert all(entry["reveal"] for entry in document["entries"])
    assert document["entries"][0]["outcome"]["status"] == "cancelled"


async def test_a_refused_publish_leaves_no_entry(harness: Harness) -> None:
    """The entry commits with the signal or not at all: a seventh-a-minute refusal rolls
    both back."""
    now = datetime.now(UTC)
    async with harness.session() as session, session.begin():
        drafts = [
            await service.create_draft(session, parse_signal(LINE), ADMIN_ID) for _ in range(2)
        ]
    async with harness.session() as session, session.begin():
        await service.publish(session, drafts[0].id, now, per_minute=1)
    with pytest.raises(PostingLimitError):
        async with harness.session() as session, session.begin():
            await service.publish(session, drafts[1].id, now, per_minute=1)
    document, _, _ = await record(harness)
    assert [entry["signal"] for entry in document["entries"]] == [drafts[0].id]


async def _drafts(harness: Harness, count: int) -> list[int]:
    async with harness.session() as session, session.begin():
        return [
            (await service.create_draft(session, parse_signal(LINE), ADMIN_ID)).id
            for _ in range(count)
        ]


async def _publish(harness: Harness, signal_id: int) -> None:
    async with harness.session() as session, session.begin():
        await service.publish(session, signal_id, datetime.now(UTC))


async def _someone_waits_for_a_lock(harness: Harness) -> None:
    """Until another connection waits for a lock (an advisory lock, or a row's)."""
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    for _ in range(1000):
        async with harness.session() as session:
            if await session.scalar(waiting):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("nobody waited for a lock")


async def test_two_instances_publishing_at_once_append_one_chain(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second publish while the first is still open waits for it, then appends after
    it: never a second entry 1 (a fork, or a unique-key failure)."""
    if harness.parts.engine.dialect.name != "postgresql":
        pytest.skip("one process, one writer on SQLite")
    first, second, *more = await _drafts(harness, 8)
    async with harness.session() as session, session.begin():
        await service.publish(session, first, datetime.now(UTC))
        other = asyncio.create_task(_publish(harness, second))
        await _someone_waits_for_a_lock(harness)
        assert not other.done()
    await other
    await asyncio.gather(*(_publish(harness, signal_id) for signal_id in more))
    async with harness.session() as session:
        rows = (await session.execute(select(RecordEntry.seq, RecordEntry.signal_id))).all()
    assert sorted(seq for seq, _ in rows) == list(range(1, 9))
    assert dict(rows)[1] == first and dict(rows)[2] == second
    status, lines = await verify(harness, capsys)
    assert status == 0, lines


class _Clock:
    """A wall clock the test sets; the monotonic one follows it (no jump to report)."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()


async def test_the_head_goes_to_the_chat_once_a_day(harness: Harness) -> None:
    clock = _Clock(datetime(2026, 12, 6, 23, 10, tzinfo=UTC))
    url = "https://signals.example/track-record"
    job = record_head.daily(UnitOfWork(harness.parts.session_factory), CHANNEL, url=url)
    scheduler = Scheduler(
        harness.parts.session_factory,
        [Job(record_head.JOB, record_head.EVERY, job)],
        clock=clock,  # type: ignore[arg-type]
    )

    async def heads() -> list[dict[str, Any]]:
        async with harness.session() as session:
            rows = await session.scalars(
                select(OutboxMessage.params).where(OutboxMessage.chat_id == CHANNEL)
            )
            return list(rows)

    assert await scheduler.run_due() == [record_head.JOB]
    assert await heads() == []  # nothing to post before the first signal
    first = await publish_signal(harness, LINE)
    await publish_signal(harness, LINE)
    clock.at += record_head.EVERY  # 00:10, a new day
    assert await scheduler.run_due() == [record_head.JOB]
    [posted] = await heads()
    document, _, _ = await record(harness)
    head = document["head"]
    assert posted == {"seq": 2, "hash": head["hash"], "count": 2, "day": "2026-12-07", "url": url}
    await post_signal_update(harness, first, "tp1")
    for _ in range(23):  # the rest of the day: looked at hourly, not posted again
        clock.at += record_head.EVERY
        await scheduler.run_due()
        async with harness.session() as session, session.begin():  # a second process
            assert await record_head.post_head(session, CHANNEL, clock.at) is None
    assert len(await heads()) == 1
    clock.at += record_head.EVERY  # 00:10 the next day: posted, even unchanged
    await scheduler.run_due()
    assert [row["seq"] for row in await heads()] == [2, 3]
    await harness.deliver(wait=10)
    [first_post, second_post] = harness.replies(CHANNEL)
    assert "the track record's chain, 07 Dec 2026" in first_post.text
    assert "Entries: 2. The newest, number 2, has the hash" in first_post.text
    assert f"<code>{head['hash']}</code>" in first_post.params["text"]
    assert f"Check it: {url}" in first_post.text and "Entries: 3." in second_post.text
    for level in LEVELS:
        assert level not in first_post.text


async def test_published_times_never_go_back(harness: Harness) -> None:
    """A second instance whose clock is behind appends at the last entry's time."""
    later = datetime.now(UTC) + timedelta(minutes=5)
    async with harness.session() as session, session.begin():
        drafts = [
            (await service.create_draft(session, parse_signal(LINE), ADMIN_ID)).id
            for _ in range(2)
        ]
    for signal_id, when in ((drafts[0], later), (drafts[1], later - timedelta(minutes=1))):
        async with harness.session() as session, session.begin():
            await service.publish(session, signal_id, when)
    document, _, _ = await record(harness)
    assert [entry["at"] for entry in document["entries"]] == [time_text(later)] * 2


async def test_the_composition_root_schedules_the_head_when_there_is_a_channel(
    make_harness: MakeHarness,
) -> None:
    """SIGNAL_CHAT_ID set: the scheduler bot/app/jobs.py builds runs the daily head; unset:
    there is nowhere to post it."""
    with_channel = await make_harness(signal_chat_id=CHANNEL)
    assert record_head.JOB in [job.name for job in with_channel.parts.scheduler._jobs]
    without = await make_harness()
    assert record_head.JOB not in [job.name for job in without.parts.scheduler._jobs]
