# ruff: noqa: F811 - `premium` is a fixture imported from clock_jumps_helpers.py
"""A wall clock moved ahead, and a mass expiry (on the injected clock, SQLite and
PostgreSQL): nobody is told their access ended until an admin confirms it, by the report's
button or `python -m bot audit-chats`, and a held expiry is forgotten when the clock comes
back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.cli.reconcile import run_audit
from bot.texts.keyboards import MassActionButton
from db.models import Entitlement, EntitlementSource, User
from tests.flows.clock_jumps_helpers import (
    DAY,
    _holds,
    _kinds,
    premium,  # noqa: F401 - a fixture
)
from tests.support.harness import ADMIN_ID, Harness, MakeHarness


async def _grants(harness: Harness, user_ids: list[int], ends: datetime) -> None:
    async with harness.session() as session, session.begin():
        for user_id in user_ids:
            session.add(User(id=user_id, first_name=f"U{user_id}"))
            await session.flush()
            session.add(
                Entitlement(
                    user_id=user_id,
                    source=EntitlementSource.GRANT,
                    source_ref="granted by admin",
                    status="active",
                    expires_at=ends,
                )
            )


async def test_a_jump_forward_tells_no_one_their_access_ended_until_an_admin_confirms(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness()
    soon = [6_960_000 + n for n in range(4)]
    later = [6_961_000 + n for n in range(6)]
    await _grants(harness, soon, datetime.now(UTC) + timedelta(days=1))
    await _grants(harness, later, datetime.now(UTC) + timedelta(days=30))
    scheduler = harness.parts.scheduler
    await scheduler.run_due()
    harness.clock.jump(1.5 * DAY)  # 4 of 10 grants look over
    await scheduler.run_due()
    harness.clock.skip(31)
    await scheduler.run_due()
    for user_id in soon:
        assert await _kinds(harness, user_id) == []
    assert await _kinds(harness, ADMIN_ID) == ["mass_held"]
    await harness.deliver()
    assert harness.last_reply(ADMIN_ID).text.startswith(
        "Subscriptions: the server clock jumped 36 hours ahead while the bot was running, "
        "and 4 of 10 subscribers would now be told that their access ended."
    )
    await harness.press(ADMIN_ID, MassActionButton(action="expiry").pack())
    harness.clock.skip(31)
    await scheduler.run_due()
    for user_id in soon:
        assert await _kinds(harness, user_id) == ["access_expired"]
    for user_id in later:
        assert await _kinds(harness, user_id) == []
    assert await _holds(harness) == {}


async def test_a_held_expiry_is_forgotten_when_the_clock_comes_back(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness()
    soon = [6_962_000 + n for n in range(4)]
    await _grants(harness, soon, datetime.now(UTC) + timedelta(days=1))
    await _grants(
        harness, [6_963_000 + n for n in range(6)], datetime.now(UTC) + timedelta(days=30)
    )
    scheduler = harness.parts.scheduler
    await scheduler.run_due()
    harness.clock.jump(1.5 * DAY)
    await scheduler.run_due()
    assert list(await _holds(harness)) == ["expiry"]
    harness.clock.jump(-1.5 * DAY)
    harness.clock.skip(31)
    assert "expiry" in await scheduler.run_due()
    assert await _holds(harness) == {}
    for user_id in soon:
        assert await _kinds(harness, user_id) == []


async def test_audit_chats_confirms_a_held_expiry_for_the_next_run(
    premium: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    soon = [6_964_000 + n for n in range(4)]
    await _grants(premium, soon, datetime.now(UTC) + timedelta(days=1))
    await _grants(
        premium, [6_965_000 + n for n in range(6)], datetime.now(UTC) + timedelta(days=30)
    )
    scheduler = premium.parts.scheduler
    premium.clock.jump(1.5 * DAY)  # the process starts with its clock ahead: the share rule
    await scheduler.run_due()
    assert list(await _holds(premium)) == ["expiry"]
    capsys.readouterr()
    assert await run_audit(premium.settings, dry_run=False) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("expiry, 4 of 10 at once; confirmed")
    premium.clock.skip(31)
    await scheduler.run_due()
    for user_id in soon:
        assert await _kinds(premium, user_id) == ["access_expired"]
    assert await _holds(premium) == {}
