"""A change of the role lists is an admin action in the audit log, recorded as a process
starts (who: `settings`, the lists before and after), once however many start together,
on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from bot.accounts.role_changes import record_at_start
from bot.core.settings import Settings
from db.models import AuditEntry
from tests.support.harness import ADMIN_ID, Harness, MakeHarness

POSTER = 7_800_001


async def _entries(harness: Harness) -> list[AuditEntry]:
    async with harness.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == "role_change")
        return list(await session.scalars(query.order_by(AuditEntry.id)))


def _with(harness: Harness, **lists: list[int]) -> Settings:
    return harness.settings.model_copy(update=lists)


async def _start(harness: Harness, settings: Settings) -> bool:
    return await record_at_start(harness.parts.engine, settings, datetime.now(UTC))


async def test_nobody_in_any_list_and_nothing_recorded_is_no_change(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(admin_ids=[])
    assert not await _start(harness, harness.settings)
    assert await _entries(harness) == []


async def test_a_change_is_recorded_once_with_before_and_after(harness: Harness) -> None:
    assert await _start(harness, harness.settings)  # the first start with an owner
    assert not await _start(harness, harness.settings)  # a restart with the same lists
    with_poster = _with(harness, poster_ids=[POSTER])
    assert await _start(harness, with_poster)
    assert not await _start(harness, with_poster)
    # The same people in another order is no change.
    assert not await _start(harness, _with(harness, poster_ids=[POSTER, POSTER]))
    first, second = await _entries(harness)
    empty = {"poster": "", "support": "", "analyst": ""}
    assert (first.actor, first.actor_id, first.target) == ("settings", None, "roles")
    assert first.before is None
    assert first.after == {"owner": str(ADMIN_ID), **empty}
    assert second.before == first.after
    assert second.after == {**first.after, "poster": str(POSTER)}
    # Everyone removed is a change too.
    assert await _start(harness, _with(harness, admin_ids=[], poster_ids=[]))
    assert (await _entries(harness))[-1].after == {"owner": "", **empty}


async def test_processes_starting_together_record_it_once(harness: Harness) -> None:
    settings = _with(harness, poster_ids=[POSTER], analyst_ids=[POSTER + 1])
    results = await asyncio.gather(*(_start(harness, settings) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert len(await _entries(harness)) == 1
