# ruff: noqa: F811 - `premium` is a fixture imported from clock_jumps_helpers.py
"""A wall clock moved ahead, and mass removals from the premium chats (on the injected
clock, SQLite and PostgreSQL): a mass removal is held and reported to the admins once, not
carried out, until an admin's button or `python -m bot audit-chats` confirms it; a process
that saw its clock jump holds even one removal, and a chat_member update or a join request
neither removes nor declines while it knows its clock is ahead; a jump ends no premium
access period; MASS_ACTION_SHARE=1 turns the brake off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.cli.reconcile import run_audit
from bot.lifecycle import brake
from bot.texts.keyboards import MassActionButton
from db.models import Entitlement, HeldAction, OutboxMessage, PremiumMember
from tests.flows.clock_jumps_helpers import (
    CHAT,
    DAY,
    _holds,
    _kinds,
    premium,  # noqa: F401 - a fixture
)
from tests.support.fakes.chats import ADMIN_RIGHTS
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import give_access

MEMBERS = [6_950_001, 6_950_002, 6_950_003, 6_950_004, 6_950_005]


async def _members(harness: Harness, *user_ids: int) -> None:
    for user_id in user_ids:
        await harness.feed(harness.fake_bot.chats.joined(CHAT, user_id))


def _bans(harness: Harness) -> int:
    return len(harness.fake_bot.calls_for("banChatMember"))


async def test_a_jump_forward_removes_no_paying_member_and_tells_the_admins_once(
    premium: Harness,
) -> None:
    await give_access(premium, *MEMBERS, days=30)
    await _members(premium, *MEMBERS)
    scheduler = premium.parts.scheduler
    await scheduler.run_due()
    premium.clock.jump(40 * DAY)
    ran = await scheduler.run_due()
    assert "premium-removals" in ran and _bans(premium) == 0
    premium.clock.skip(61)
    await scheduler.run_due()  # a minute later: still held, and no second report
    assert _bans(premium) == 0
    # One report (the daily audit's own summary ran on the jumped clock too).
    assert (await _kinds(premium, ADMIN_ID)).count("mass_held") == 1
    for user_id in MEMBERS:
        assert await _kinds(premium, user_id) == []
    premium.clock.jump(-40 * DAY)
    premium.clock.skip(61)
    assert "premium-removals" in await scheduler.run_due()  # the clock is back: nothing due
    assert _bans(premium) == 0 and await _holds(premium) == {}
    assert MEMBERS[0] in premium.fake_bot.chats.chats[CHAT].members
    await premium.deliver()
    # The report, whichever order it went in beside the daily audit's summary (the same
    # chat's sends are a second apart, and a busy machine may let both out in one run).
    [report] = [
        message
        for message in premium.replies(ADMIN_ID)
        if message.text.startswith("Premium chats: the server clock jumped")
    ]
    assert report.text.startswith(
        "Premium chats: the server clock jumped 960 hours ahead while the bot was running, "
        "and 5 of 5 members would now be removed. Nobody was removed."
    )
    [[button]] = report.params["reply_markup"]["inline_keyboard"]
    pressed = MassActionButton.unpack(button["callback_data"])
    async with premium.session() as session:
        [row] = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "mass_held")
        )
    assert pressed.action == "premium-removals"
    assert pressed.held == row.params["held_at"] > 0  # this hold, not a later one


async def _held_rows(harness: Harness) -> list[HeldAction]:
    async with harness.session() as session:
        return list(await session.scalars(select(HeldAction)))


async def test_a_reports_button_confirms_its_own_hold_not_a_later_one(harness: Harness) -> None:
    """An old report pressed after its hold was forgotten and another one held (the clock
    went wrong again) must not confirm what the admin has not seen."""
    first = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
    later = first + timedelta(hours=5)
    async with harness.session() as session, session.begin():
        session.add(HeldAction(name="expiry", held_at=later, affected=9, population=10))
    async with harness.session() as session, session.begin():
        now = datetime.now(UTC)
        stale = int(first.timestamp())
        assert not await brake.confirm(session, "expiry", now, held_at=stale)
    assert [row.confirmed_at for row in await _held_rows(harness)] == [None]
    async with harness.session() as session, session.begin():
        own = int(later.timestamp())
        assert await brake.confirm(session, "expiry", datetime.now(UTC), held_at=own)
    assert [row.confirmed_at is not None for row in await _held_rows(harness)] == [True]


async def _lapse(harness: Harness, *user_ids: int) -> None:
    async with harness.session() as session, session.begin():
        await session.execute(
            update(Entitlement)
            .where(Entitlement.user_id.in_(user_ids))
            .values(status="canceled", expires_at=datetime.now(UTC) - timedelta(days=1))
        )


async def test_an_admin_confirms_a_held_removal_and_the_next_run_carries_it_out(
    premium: Harness,
) -> None:
    await give_access(premium, *MEMBERS)
    await _members(premium, *MEMBERS)
    await _lapse(premium, *MEMBERS[:3])  # 3 of 5 at once: more than a fifth
    scheduler = premium.parts.scheduler
    await scheduler.run_due()
    assert _bans(premium) == 0 and list(await _holds(premium)) == ["premium-removals"]
    # Someone who is not an admin presses the button: refused, nothing confirmed.
    data = MassActionButton(action="premium-removals").pack()
    await premium.press(MEMBERS[4], data)
    assert await _holds(premium) == {"premium-removals": None}
    await premium.press(ADMIN_ID, data)
    [answer] = [
        c
        for c in premium.fake_bot.calls_for("answerCallbackQuery")
        if "carried out" in c.get("text", "")
    ]
    assert answer["text"] == "Confirmed: it is carried out within a minute."
    premium.clock.skip(61)
    await scheduler.run_due()
    assert _bans(premium) == 3 and await _holds(premium) == {}
    assert not premium.fake_bot.chats.chats[CHAT].members & set(MEMBERS[:3])
    await premium.press(ADMIN_ID, data)  # pressed again: nothing is held any more
    assert premium.fake_bot.calls_for("answerCallbackQuery")[-1]["text"] == (
        "Nothing is held any more."
    )


async def test_audit_chats_confirms_a_held_removal_by_carrying_it_out(
    premium: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    await give_access(premium, *MEMBERS)
    await _members(premium, *MEMBERS)
    await _lapse(premium, *MEMBERS[:3])
    await premium.parts.scheduler.run_due()
    assert _bans(premium) == 0
    capsys.readouterr()
    assert await run_audit(premium.settings, dry_run=True) == 0
    dry = capsys.readouterr().out.splitlines()
    assert dry[-1].endswith("premium-removals, 3 of 5 at once; would be confirmed")
    assert _bans(premium) == 0 and list(await _holds(premium)) == ["premium-removals"]
    assert await run_audit(premium.settings, dry_run=False) == 0
    real = capsys.readouterr().out.splitlines()
    assert "premium chats: 5 members checked, 3 without access removed, 0 failed" in real
    assert real[-1].endswith("premium-removals, 3 of 5 at once; confirmed")
    assert _bans(premium) == 3 and await _holds(premium) == {}
    premium.clock.skip(61)
    await premium.parts.scheduler.run_due()
    assert _bans(premium) == 3  # nobody twice
    async with premium.session() as session:
        statuses = set(await session.scalars(select(PremiumMember.status)))
    assert statuses == {"member", "removed"}


async def test_a_jump_forward_bans_not_even_a_single_paying_member(premium: Harness) -> None:
    """One person is not a mass, but a process that saw its clock jump holds even one
    removal until the clock is back or an admin confirms (accepting the clock)."""
    await give_access(premium, MEMBERS[0], days=30)
    await _members(premium, MEMBERS[0])
    scheduler = premium.parts.scheduler
    await scheduler.run_due()
    premium.clock.jump(40 * DAY)
    await scheduler.run_due()
    premium.clock.skip(61)
    await scheduler.run_due()
    assert _bans(premium) == 0 and await _kinds(premium, MEMBERS[0]) == []
    assert (await _kinds(premium, ADMIN_ID)).count("mass_held") == 1
    # The admin decides the clock is right after all: the removal goes ahead, and later
    # ordinary ends are not held any more.
    await premium.press(ADMIN_ID, MassActionButton(action="premium-removals").pack())
    premium.clock.skip(61)
    await scheduler.run_due()
    assert _bans(premium) == 1 and await _holds(premium) == {}


async def test_a_chat_member_update_during_a_jump_forward_bans_no_paying_member(
    premium: Harness,
) -> None:
    """The update is handled at once, with the jumped wall clock: the member is recorded,
    not removed; the braked audit decides once the clock is back."""
    await give_access(premium, MEMBERS[0], days=30)
    await _members(premium, MEMBERS[0])
    scheduler = premium.parts.scheduler
    await scheduler.run_due()
    premium.clock.jump(40 * DAY)
    await scheduler.run_due()  # the scheduler sees the jump: the brake knows the clock is ahead
    chats = premium.parts.premium
    assert not await chats.on_member(CHAT, MEMBERS[0], "member", premium.clock.now())
    assert _bans(premium) == 0 and await _kinds(premium, MEMBERS[0]) == []
    assert MEMBERS[0] in premium.fake_bot.chats.chats[CHAT].members


async def test_a_join_request_during_a_jump_forward_is_not_declined(premium: Harness) -> None:
    """Approved and recorded, not declined; once the clock is back the audit removes
    whoever was let in without access, and keeps the subscriber."""
    ann, bob = MEMBERS[0], MEMBERS[1]
    await give_access(premium, ann, days=30)
    [link] = await premium.parts.premium.links(ann, datetime.now(UTC))
    scheduler = premium.parts.scheduler
    await scheduler.run_due()
    premium.clock.jump(40 * DAY)
    await scheduler.run_due()
    fake, chats = premium.fake_bot.chats, premium.parts.premium
    for user_id in (ann, bob):  # Bob has Ann's link, and no access
        fake.join_request(CHAT, user_id, link)
        assert await chats.on_join_request(CHAT, user_id, premium.clock.now())
    assert premium.fake_bot.calls_for("declineChatJoinRequest") == []
    assert {ann, bob} <= fake.chats[CHAT].members
    assert await _kinds(premium, bob) == []
    premium.clock.jump(-40 * DAY)
    premium.clock.skip(61)
    assert "premium-removals" in await scheduler.run_due()
    assert [c["user_id"] for c in premium.fake_bot.calls_for("banChatMember")] == [bob]
    assert ann in fake.chats[CHAT].members


async def test_a_jump_forward_does_not_end_an_access_period_nor_invite_again(
    premium: Harness,
) -> None:
    """One invite per access period: a jump makes access look over, but the period of a
    subscriber who never joined does not end with it, so no second invite afterwards."""
    await give_access(premium, MEMBERS[0], days=30)
    scheduler = premium.parts.scheduler
    assert "premium-invites" in await scheduler.run_due()
    premium.clock.jump(40 * DAY)
    assert "premium-invites" in await scheduler.run_due()
    premium.clock.jump(-40 * DAY)
    premium.clock.skip(31)
    assert "premium-invites" in await scheduler.run_due()
    assert (await _kinds(premium, MEMBERS[0])).count("premium_invite") == 1


async def test_mass_action_share_1_turns_the_brake_off(make_harness: MakeHarness) -> None:
    harness = await make_harness(premium_chat_ids=[CHAT], mass_action_share=1)
    harness.fake_bot.chats.bot_id = harness.settings.bot_id
    harness.fake_bot.chats.add_chat(CHAT, bot_rights=ADMIN_RIGHTS)
    await give_access(harness, *MEMBERS)
    await _members(harness, *MEMBERS)
    await _lapse(harness, *MEMBERS)
    await harness.parts.scheduler.run_due()
    assert _bans(harness) == 5 and await _holds(harness) == {}


async def test_one_members_ordinary_end_is_not_held(premium: Harness) -> None:
    await give_access(premium, *MEMBERS)
    await _members(premium, *MEMBERS)
    await _lapse(premium, MEMBERS[0])
    await premium.parts.scheduler.run_due()
    assert _bans(premium) == 1 and await _holds(premium) == {}
    assert await _kinds(premium, ADMIN_ID) == []
