# ruff: noqa: F811 - `premium` is a fixture imported from premium_helpers.py
"""Premium chats: removal when access ends (within a minute), admins and allow-listed users
kept, a bot lacking the right to remove, a fault in the middle of removals, and the audit:
daily, dry and real, and `python -m bot audit-chats`, Telegram unreachable included."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.reconcile import run_audit
from tests.flows.premium_helpers import (
    ANN,
    BOB,
    CAT,
    CHAT,
    _bans,
    _end_access,
    _kinds,
    _members,
    _status,
    premium,  # noqa: F401 - a fixture
)
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.chats import NO_RIGHTS
from tests.support.fakes.stripe_api import FakeStripe
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import give_access
from tests.support.processes import assert_no_token, assert_one_line, free_port, run_cli


async def test_the_audit_removes_those_whose_access_ended_once_and_keeps_the_rest(
    premium: Harness,
) -> None:
    await give_access(premium, ANN, BOB, CAT, ADMIN_ID)
    await _members(premium, ANN, BOB, CAT, ADMIN_ID)
    for user_id in (BOB, CAT, ADMIN_ID):  # all three lose access
        await _end_access(premium, user_id)
    report = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert (report.checked, report.removed, report.failed) == (4, [(CHAT, BOB)], 0)
    members = premium.fake_bot.chats.chats[CHAT].members
    assert {ANN, CAT, ADMIN_ID} <= members and BOB not in members
    again = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert again.removed == [] and _bans(premium, BOB) == 1
    await premium.deliver()
    assert "removed from the premium chats" in premium.last_reply(BOB).text


async def test_chat_administrators_are_never_removed(premium: Harness) -> None:
    fake = premium.fake_bot.chats
    update = fake.joined(CHAT, BOB)
    update["chat_member"]["new_chat_member"] = {
        **NO_RIGHTS,
        "status": "administrator",
        "user": update["chat_member"]["new_chat_member"]["user"],
    }
    await premium.feed(update)
    assert await _status(premium, BOB) == "admin"
    report = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert report.checked == 0 and premium.fake_bot.calls_for("banChatMember") == []


async def test_a_fault_in_the_middle_of_removals_loses_no_one_and_removes_no_one_twice(
    premium: Harness,
) -> None:
    users = [7_100_001, 7_100_002, 7_100_003]
    await give_access(premium, *users)
    await _members(premium, *users)
    for user_id in users:
        await _end_access(premium, user_id)
    premium.fake_bot.fail_next("banChatMember", "500", chat_id=CHAT)  # the first one fails
    report = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert (len(report.removed), report.failed) == (2, 1)
    # The process restarts; the next audit removes the one left, and only that one.
    again = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert again.removed == [(CHAT, users[0])]
    assert [_bans(premium, u) for u in users] == [2, 1, 1]  # the failed try, then once each
    assert not premium.fake_bot.chats.chats[CHAT].members & set(users)
    await premium.deliver()
    for user_id in users:
        assert (await _kinds(premium, user_id)).count("premium_removed") == 1


async def test_a_bot_without_the_right_to_remove_fails_each_removal_and_goes_on(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(premium_chat_ids=[CHAT])
    fake = harness.fake_bot.chats
    fake.bot_id = harness.settings.bot_id
    fake.add_chat(CHAT, bot_rights={"can_invite_users": True})
    await give_access(harness, ANN, BOB)
    await _members(harness, ANN, BOB)
    await _end_access(harness, ANN)
    await _end_access(harness, BOB)
    report = await harness.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert (report.removed, report.failed) == ([], 2)
    assert await _status(harness, ANN) == "member"  # still recorded: tried again next time


async def test_audit_chats_dry_run_only_lists(
    premium: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    await give_access(premium, ANN, BOB)
    await _members(premium, ANN, BOB)
    await _end_access(premium, BOB)
    assert await run_audit(premium.settings, dry_run=True) == 0
    assert premium.fake_bot.calls_for("banChatMember") == []
    assert await run_audit(premium.settings, dry_run=False) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"chat {CHAT}: would remove user {BOB} (no access)",
        "premium chats: 2 members checked, 1 without access would be removed, 0 failed",
        f"chat {CHAT}: removed user {BOB} (no access)",
        "premium chats: 2 members checked, 1 without access removed, 0 failed",
    ]
    assert _bans(premium, BOB) == 1


async def test_the_daily_audit_tells_the_admins(premium: Harness) -> None:
    await give_access(premium, ANN, BOB)
    await _members(premium, ANN, BOB)
    assert "premium-audit" not in await premium.parts.scheduler.run_due()  # an hour later
    await _end_access(premium, BOB)
    premium.clock.skip(3_700)
    ran = await premium.parts.scheduler.run_due()
    # The minute's removals took Bob out first; the audit checks who is left.
    assert ran.index("premium-removals") < ran.index("premium-audit")
    await premium.deliver()
    summary = "Premium chats audit: members checked: 1; without access, removed: 0; failed: 0."
    assert premium.last_reply(ADMIN_ID).text == summary
    assert BOB not in premium.fake_bot.chats.chats[CHAT].members


async def test_access_ending_removes_within_a_minute(premium: Harness) -> None:
    await give_access(premium, BOB)
    await _members(premium, BOB)
    assert "premium-removals" in await premium.parts.scheduler.run_due()
    assert BOB in premium.fake_bot.chats.chats[CHAT].members
    await _end_access(premium, BOB)
    premium.clock.skip(61)
    assert "premium-removals" in await premium.parts.scheduler.run_due()
    assert BOB not in premium.fake_bot.chats.chats[CHAT].members


@pytest.mark.parametrize("dry_run", [["--dry-run"], []], ids=["dry-run", "for-real"])
async def test_the_audit_with_telegram_unreachable_is_one_line_and_exit_3(
    tmp_path: Path,
    migrated_env: dict[str, str],
    fakes: tuple[FakeBotAPI, FakeStripe],
    dry_run: list[str],
) -> None:
    """It said "0 members checked ... 0 failed" and exit 0: all was well, it seemed."""
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {
        **migrated_env,
        "TELEGRAM_API_BASE": nowhere,
        "PREMIUM_CHAT_IDS": str(CHAT),
        "LOG_LEVEL": "ERROR",
    }
    status, stderr = await run_cli(["audit-chats", *dry_run], env, tmp_path)
    assert status == 3
    assert_one_line(
        stderr,
        f"audit-chats: stopped: Telegram cannot be reached at {nowhere} (TelegramNetworkError)",
    )
    assert_no_token(stderr)


async def test_the_audit_command_runs_when_telegram_answers(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    env = {**migrated_env, "PREMIUM_CHAT_IDS": str(CHAT), "LOG_LEVEL": "ERROR"}
    status, stderr = await run_cli(["audit-chats", "--dry-run"], env, tmp_path)
    assert (status, stderr) == (0, "")
